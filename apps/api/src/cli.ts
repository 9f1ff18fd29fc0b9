import { parseArgs } from 'node:util';
import { TIER_NAMES, type Tier } from '@charter/contracts';
import { createWorkspace } from '@charter/server';
import { loadSettings } from './config.ts';
import { openDatabase } from './database.ts';

const USAGE = `Usage: pnpm cli create-workspace --name <name> [--test]

Commands:
  create-workspace   Creates a workspace and its first API key (scope "*"), and prints the key once.

Options:
  --name <name>      The workspace's name (required).
  --test             Issue an sk_test_ key instead of an sk_live_ key.
  --tier <tier>      The key's rate-limit tier (${TIER_NAMES.join(', ')}); default enterprise.
                     Keys it issues can never exceed its limits.
  --json             Print the result as JSON.

The database is the one the API uses: DATABASE_URL, or the embedded one in CHARTER_DATA_DIR.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, tier: { type: 'string', default: 'enterprise' }, test: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals.length === 0) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  if (positionals[0] !== 'create-workspace') {
    console.error(`Unknown command "${positionals[0]}".\n\n${USAGE}`);
    return 2;
  }
  const name = values.name?.trim();
  if (!name) {
    console.error(`--name is required.\n\n${USAGE}`);
    return 2;
  }
  if (!TIER_NAMES.includes(values.tier as Tier)) {
    console.error(`--tier must be one of ${TIER_NAMES.join(', ')}.\n\n${USAGE}`);
    return 2;
  }
  const database = await openDatabase(loadSettings());
  try {
    const created = await createWorkspace(database.sql, { name, mode: values.test ? 'test' : 'live', tier: values.tier as Tier });
    if (values.json) {
      console.log(JSON.stringify({ workspace_id: created.workspaceId, key_id: created.keyId, key: created.key }));
    } else {
      console.log(`Workspace: ${created.workspaceId}`);
      console.log(`Key ID:    ${created.keyId}`);
      console.log(`API key:   ${created.key}`);
      console.log('\nThis key is shown once and stored only as a digest. Keep it somewhere safe.');
    }
    return 0;
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
