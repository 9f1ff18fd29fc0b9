import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../', import.meta.url));
const README_ORIGIN = 'http://127.0.0.1:3000';

/** The first fenced block of `language` after `heading` in the README. */
function block(readme: string, heading: string, language: string): string {
  const section = readme.slice(readme.indexOf(heading));
  const match = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(section);
  if (!match) throw new Error(`no ${language} block after ${heading}`);
  return match[1] as string;
}

let server: TestServer;
let folder: string;
let readme: string;

beforeAll(async () => {
  server = await startTestServer();
  folder = await mkdtemp(join(tmpdir(), 'charter-readme-'));
  readme = await readFile(join(root, 'README.md'), 'utf8');
});
afterAll(async () => {
  await server.close();
  await rm(folder, { recursive: true, force: true });
});

describe("the README's examples, run as written, one after the other in one workspace", () => {
  it('the client example, then the curl example, both succeed', async () => {
    // The client example, pointed at this test's server: it resolves @charter/client from the workspace.
    const example = block(readme, '## The client', 'ts').replaceAll(README_ORIGIN, server.url);
    // Inside test/ (gitignored .tmp), so that @charter/client resolves from the workspace.
    const file = join(root, 'test', '.tmp', `readme-example-${process.pid}.mts`);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, example);
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
        // `--import tsx` resolves from the working directory: the API's, which has tsx.
        cwd: join(root, 'apps', 'api'),
        env: { ...process.env, CHARTER_API_KEY: server.key },
      });
      expect(stdout).toMatch(/^rec_\S+ \{ email: 'ada@example\.com' \}$/m);
    } finally {
      await rm(file, { force: true });
    }

    // The curl example: uuidgen where the machine has it, else the README's own alternative.
    const curl = block(readme, '## Calling the API over HTTP', 'sh').replaceAll(README_ORIGIN, server.url);
    const bodyFile = join(folder, 'curl-body.json');
    const script = `command -v uuidgen >/dev/null || uuidgen() { node -p 'crypto.randomUUID()'; }\n${curl.replace(/\\\n\s*/g, ' ').trim()} -sS -o "$BODY" -w '%{http_code}'`;
    const { stdout: status } = await run('bash', ['-c', script], { env: { ...process.env, KEY: server.key, BODY: bodyFile } });
    const body = await readFile(bodyFile, 'utf8');
    expect(status, body).toBe('201');
    expect(JSON.parse(body).name).toBe('Leads');
  });
});
