import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { endpoints } from '@charter/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../', import.meta.url));
const README_ORIGIN = 'http://127.0.0.1:3000';

let server: TestServer;
let readme: string;
beforeAll(async () => {
  server = await startTestServer({ mcp: true });
  readme = await readFile(join(root, 'README.md'), 'utf8');
});
afterAll(() => server.close());

/** The `index`th fenced TypeScript block after `heading` in the README. */
function block(heading: string, index: number): string {
  const section = readme.slice(readme.indexOf(heading));
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
  const found = blocks[index];
  if (found === undefined) throw new Error(`no TypeScript block ${index} after ${heading}`);
  return found;
}

/** Runs a README example as written, pointed at this test's server, from test/ (gitignored .tmp) so its imports resolve. */
async function runExample(example: string, name: string): Promise<string> {
  const file = join(root, 'test', '.tmp', `readme-${name}-${process.pid}.mts`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, example.replaceAll(README_ORIGIN, server.url));
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
      cwd: join(root, 'apps', 'api'),
      env: { ...process.env, CHARTER_API_KEY: server.key },
    });
    return stdout;
  } finally {
    await rm(file, { force: true });
  }
}

describe("the README's tRPC and MCP examples, run as written", () => {
  it('the tRPC client batches two calls and prints what they returned', async () => {
    expect(await runExample(block('## tRPC and MCP', 0), 'trpc')).toMatch(/^modules: 0, keys: 1$/m);
  });

  it('the MCP client lists the tools and calls one', async () => {
    expect(await runExample(block('## tRPC and MCP', 1), 'mcp')).toMatch(new RegExp(`^tools: ${Object.keys(endpoints).length}, error: false$`, 'm'));
  });
});
