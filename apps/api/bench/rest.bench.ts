/**
 * Requests per second for one authenticated list route of the API through the REST path, beside
 * raw node:http and Fastify serving the very bytes the API answered, and Charter beside a
 * hand-written Fastify + postgres.js peer on the list and on an idempotent create, each with one
 * hot key and with 50 keys, measured side by side in one run. What it measures and why it is built
 * this way: README.md next to this file.
 *
 * Settings (environment): BENCH_DURATION (s per measurement, default 10), BENCH_CONNECTIONS (50), BENCH_TARGETS (all),
 * BENCH_WARMUP (s per target, 2), BENCH_ROUNDS (3), DATABASE_URL (unset: embedded PGlite).
 */
import { readFileSync } from 'node:fs';
import { cpus, type as osType, release } from 'node:os';
import { type RunningChild, startChild, stopAllChildren } from './lib/child.ts';
import { pinLoadGenerator } from './lib/cpu.ts';
import { stopLoad } from './lib/load.ts';
import type { Fixture } from './lib/protocol.ts';
import { loadChild, type Round, runRounds, startWatchdog } from './lib/rounds.ts';
import { setting } from './lib/settings.ts';
import { median, sum } from './lib/stats.ts';
import { formatCount, formatRatio, formatTable, LATENCY_COLUMNS, latencyCells, RATE_COLUMNS, rateCells } from './lib/table.ts';

interface TargetSpec {
  /** Short id for progress lines; `raw` and `fastify` are the ratios' denominators. */
  name: string;
  label: string;
  script: URL;
  /**
   * `app`: a Charter server that makes its own data and names the request to measure; the first
   * one is the source of the fixture and of the workload. `reference`: serves the fixture it is
   * sent, byte for byte. `peer`: the hand-written server, serving the first app's data (it needs
   * a PostgreSQL server, and is left out without one).
   */
  kind: 'app' | 'reference' | 'peer';
  env?: Record<string, string | undefined>;
  /** For app and peer targets: measured on every route and key mix, not only on the list with one key. */
  workloads?: boolean;
}

/** The processes measured, in the order each round visits them. Variants of the Charter server go after it. */
function targets(): TargetSpec[] {
  const script = (file: string) => new URL(`./targets/${file}`, import.meta.url);
  // BENCH_TARGETS narrows a run to some targets (Charter, whose data the others serve, always runs).
  const only = (process.env.BENCH_TARGETS ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  const all: TargetSpec[] = [
    { name: 'raw', label: 'raw node:http', script: script('raw.ts'), kind: 'reference' },
    { name: 'fastify', label: 'Fastify 5', script: script('fastify.ts'), kind: 'reference' },
    { name: 'charter', label: 'Charter REST, full stack', script: script('charter.ts'), kind: 'app', workloads: true },
    { name: 'peer', label: 'hand-written peer', script: script('peer.ts'), kind: 'peer', workloads: true },
    {
      name: 'charter-rules-off',
      label: 'Charter REST, rules off',
      script: script('charter.ts'),
      kind: 'app',
      env: { BENCH_RULES: 'off' },
    },
  ];
  return only.length === 0 ? all : all.filter((spec) => spec.name === 'charter' || only.includes(spec.name));
}

/** A route and a key mix, as measured on Charter and on the peer side by side. */
interface Workload {
  id: 'list-hot' | 'list-50' | 'create-hot' | 'create-50';
  label: string;
  route: 'list' | 'create';
  spread: boolean;
}

const WORKLOADS: Workload[] = [
  { id: 'list-hot', label: 'list, 1 hot key', route: 'list', spread: false },
  { id: 'list-50', label: 'list, 50 keys', route: 'list', spread: true },
  { id: 'create-hot', label: 'idempotent create, 1 hot key', route: 'create', spread: false },
  { id: 'create-50', label: 'idempotent create, 50 keys', route: 'create', spread: true },
];

interface Settings {
  durationSeconds: number;
  connections: number;
  warmupSeconds: number;
  rounds: number;
}

interface Request {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Spread over these keys; absent, the headers' one key. */
  keys?: readonly string[];
  freshIdempotencyKey?: boolean;
  /** The status every answer must have. */
  expect: number;
}

interface Measured {
  spec: TargetSpec;
  /** The workload, for app and peer measurements; the references serve the list with one key. */
  workload?: Workload;
  label: string;
  child: RunningChild;
  request: Request;
  warmup?: Round;
  rounds: Round[];
  /** Length of the body it answered the check with (create routes). */
  checkedLength?: number;
}

// PGlite alone takes 5–7 s to start; a slow machine gets ample room before a target counts as dead.
const READY_TIMEOUT_MS = 60_000;

let interrupted = false;

function progress(message: string): void {
  // Progress goes to stderr, so that stdout carries only the report.
  process.stderr.write(`[bench] ${message}\n`);
}

function checkpoint(): void {
  if (interrupted) throw new Error('interrupted');
}

async function fetchBytes(url: string, request: Request): Promise<{ status: number; contentType: string; body: Buffer }> {
  const response = await fetch(new URL(request.path, url), {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: Buffer.from(await response.arrayBuffer()) };
}

/** One load run against one target; a target that dies during it aborts the bench. */
async function measure(target: Measured, settings: Settings, durationSeconds: number): Promise<Round> {
  const sample = await loadChild(target.child, {
    url: new URL(target.request.path, target.child.ready.url).href,
    method: target.request.method,
    headers: target.request.headers,
    ...(target.request.body === undefined ? {} : { body: target.request.body }),
    ...(target.request.keys ? { keys: target.request.keys } : {}),
    freshIdempotencyKey: target.request.freshIdempotencyKey === true,
    connections: settings.connections,
    durationSeconds,
  });
  checkpoint();
  return sample;
}

async function run(settings: Settings): Promise<number> {
  const pinning = pinLoadGenerator();
  const withServer = Boolean(process.env.DATABASE_URL);
  // The embedded database lives inside the Charter process: no other process can share its data.
  const specs = targets().filter((spec) => spec.kind !== 'peer' || withServer);
  if (!withServer) progress('no DATABASE_URL: the hand-written peer needs a PostgreSQL server, and is left out');
  const apps = specs.filter((spec) => spec.kind === 'app');
  const source = apps[0];
  if (!source) throw new Error('no app target to measure');
  const start = (spec: TargetSpec, input?: string) =>
    startChild({ name: spec.name, script: spec.script, env: spec.env, pin: pinning.serverPrefix, readyTimeoutMs: READY_TIMEOUT_MS, input });

  // The app targets first: their data decides the bytes the references serve and what the peer serves.
  progress(`starting ${apps.map((spec) => spec.name).join(', ')}${withServer ? '' : ' (the embedded database takes a few seconds)'}`);
  const appChildren = await Promise.all(apps.map((spec) => start(spec)));
  checkpoint();
  const sourceChild = appChildren[0]!;
  const sourceRequest = sourceChild.ready.request;
  const workload = sourceChild.ready.workload;
  if (!sourceRequest || !workload) throw new Error(`${source.name} did not name a request to measure`);
  const listRequest: Request = { method: 'GET', path: sourceRequest.path, headers: sourceRequest.headers, expect: 200 };
  const captured = await fetchBytes(sourceChild.ready.url, listRequest);
  if (captured.status !== 200) throw new Error(`${source.name} answered ${captured.status} to GET ${sourceRequest.path}: ${captured.body.toString('utf8')}`);
  const fixture: Fixture = { bodyBase64: captured.body.toString('base64'), contentType: captured.contentType, path: sourceRequest.path };

  const others = specs.filter((spec) => spec.kind !== 'app');
  progress(`starting ${others.map((spec) => spec.name).join(', ')} with the captured ${captured.body.length}-byte body`);
  const otherChildren = await Promise.all(others.map((spec) => start(spec, spec.kind === 'reference' ? JSON.stringify(fixture) : undefined)));
  checkpoint();

  const childOf = new Map<TargetSpec, RunningChild>([...apps.map((spec, index) => [spec, appChildren[index]!] as const), ...others.map((spec, index) => [spec, otherChildren[index]!] as const)]);
  const requestFor = (load: Workload, hotKey: string): Request => {
    const authorization = `Bearer ${hotKey}`;
    const keys = load.spread ? { keys: workload.keys } : {};
    return load.route === 'list'
      ? { method: 'GET', path: workload.listPath, headers: { authorization }, expect: 200, ...keys }
      : {
          method: 'POST',
          path: workload.createPath,
          headers: { authorization, 'content-type': 'application/json' },
          body: workload.createBody,
          freshIdempotencyKey: true,
          expect: 201,
          ...keys,
        };
  };
  const single = (spec: TargetSpec): Measured => {
    const child = childOf.get(spec)!;
    // References get the source's exact request, headers included, so the same bytes cross the wire.
    const request = spec.kind === 'app' && child.ready.request ? { ...listRequest, ...child.ready.request } : listRequest;
    return { spec, label: spec.label, child, request, rounds: [] };
  };
  // The ceiling first, then Charter and the peer taking turns on each workload (so that each pair is
  // measured close together), then the Charter variants.
  const measured: Measured[] = specs.filter((spec) => spec.kind === 'reference').map(single);
  for (const load of WORKLOADS) {
    for (const spec of specs.filter((candidate) => candidate.workloads)) {
      measured.push({ spec, workload: load, label: `${spec.label}: ${load.label}`, child: childOf.get(spec)!, request: requestFor(load, workload.keys[0]!), rounds: [] });
    }
  }
  measured.push(...specs.filter((spec) => spec.kind === 'app' && !spec.workloads).map(single));

  progress('checking that every target answers as Charter does');
  for (const target of measured) {
    const probe = target.request.freshIdempotencyKey
      ? { ...target.request, headers: { ...target.request.headers, 'idempotency-key': `bench-check-${target.spec.name}-${target.workload?.id}` } }
      : target.request;
    const answer = await fetchBytes(target.child.ready.url, probe);
    if (answer.status !== target.request.expect) throw new Error(`${target.label} answered ${answer.status}: ${answer.body.toString('utf8')}`);
    if (target.request.method === 'POST') {
      const replay = await fetchBytes(target.child.ready.url, probe);
      if (replay.status !== answer.status || !replay.body.equals(answer.body)) throw new Error(`${target.label} did not replay its answer to a repeated Idempotency-Key`);
      const charterCreate = measured.find((other) => other.spec === source && other.workload?.id === target.workload?.id);
      // Ids and instants are fixed-width: the same record has the same length from either server.
      if (charterCreate?.checkedLength !== undefined && charterCreate.checkedLength !== answer.body.length) {
        throw new Error(`${target.label} answered ${answer.body.length} bytes, Charter ${charterCreate.checkedLength}`);
      }
      target.checkedLength = answer.body.length;
    } else if (target.spec.kind === 'app' && target.child !== sourceChild) {
      // Another Charter variant made its own data: its ids and instants differ but are fixed-width;
      // its cursor is not (it holds created_at as PostgreSQL writes it, trailing zeros dropped).
      const mine = withoutCursor(answer.body);
      const theirs = withoutCursor(captured.body);
      if (mine.length !== theirs.length) throw new Error(`${target.spec.name} answered ${mine.length} bytes without its cursor, ${source.name} ${theirs.length}`);
    } else if (!answer.body.equals(captured.body)) {
      throw new Error(`${target.label} answered different bytes from ${source.name}'s captured body:\n  ${answer.body.toString('utf8').slice(0, 400)}\n  ${captured.body.toString('utf8').slice(0, 400)}`);
    }
  }

  await runRounds(measured, {
    ...settings,
    // Once per process and route: the key mix does not change what needs warming.
    warms: (target) => !target.workload?.spread,
    progress,
    measure: (target, seconds) => measure(target, settings, seconds),
  });

  const databaseFacts = measured.flatMap((target) => (target.child.ready.facts?.database ? [target.child.ready.facts.database] : []));
  printReport(settings, pinning.description, measured, captured.body.length, databaseFacts, withServer);
  return verdict(measured);
}

function versionOf(name: string): string {
  try {
    // Read from disk: not every package lists package.json among its exports.
    return (JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

function printReport(settings: Settings, pinning: string, measured: Measured[], bodyBytes: number, databases: string[], withServer: boolean): void {
  const figure = (target: Measured) => median(target.rounds.map((sample) => sample.requestsPerSecond));
  const byName = (name: string) => measured.find((target) => target.spec.name === name && !target.workload?.spread && target.workload?.route !== 'create');
  const raw = byName('raw');
  const fastify = byName('fastify');
  // Against the static references only where they serve the same answer: the list with one key.
  const ratio = (target: Measured, base: Measured | undefined) =>
    base && target.request.method === 'GET' && !target.request.keys ? figure(target) / figure(base) : Number.NaN;
  const processors = cpus();
  const order = [...new Set(measured.map((target) => target.spec.name))].join(' → ');

  const lines = [
    '',
    `REST list route: GET /api/v1/modules/{module_id}/records?limit=10 with Authorization: Bearer <key> (200, ${bodyBytes}-byte JSON body)`,
    'Create route:    POST /api/v1/modules/{module_id}/records with a new Idempotency-Key per request (201), into a module of its own',
    `Keys:            one hot key, or ${measured.find((target) => target.request.keys)?.request.keys?.length ?? 50} keys of the same workspace in turn (one per connection)`,
    `Machine:   ${processors.length} cores (${processors[0]?.model.trim() ?? 'unknown CPU'}), ${osType()} ${release()}, Node ${process.version}`,
    `Database:  ${[...new Set(databases)].join('; ') || 'none'}`,
    `Pinning:   ${pinning}`,
    `Load:      autocannon ${versionOf('autocannon')}, ${settings.connections} connections, ${settings.durationSeconds} s per measurement, ` +
      `${settings.rounds} interleaved round(s) of ${measured.length} measurements (${order}) after a ${settings.warmupSeconds} s warm-up per process and route; req/s is the median of the rounds`,
    '',
    formatTable(
      [
        { title: 'target' },
        ...RATE_COLUMNS,
        { title: '× raw node:http', align: 'right' },
        { title: '× Fastify', align: 'right' },
        { title: 'server CPU µs/req', align: 'right' },
        { title: 'server busy', align: 'right' },
        ...LATENCY_COLUMNS,
        { title: 'non-2xx', align: 'right' },
        { title: 'errors', align: 'right' },
      ],
      measured.map((target) => [
        target.label,
        ...rateCells(target.rounds),
        formatRatio(ratio(target, raw)),
        formatRatio(ratio(target, fastify)),
        formatOptional(target.rounds.map((sample) => sample.serverCpuMicros), formatCount),
        formatOptional(target.rounds.map((sample) => sample.serverBusy), (busy) => `${Math.round(busy * 100)} %`),
        ...latencyCells(target.rounds),
        formatCount(sum(target.rounds.map((sample) => sample.non2xx))),
        formatCount(sum(target.rounds.map((sample) => sample.errors))),
      ]),
    ),
    ...rulesCost(byName('charter'), byName('charter-rules-off'), figure),
    ...peerComparison(measured, figure, withServer),
    '',
    `Fastify ${versionOf('fastify')}. Server CPU and busy: the server's processes only, medians of the rounds; a server well short of`,
    `100 % busy was held back by the load generator or the database, not by its own cost. non-2xx and errors (timeouts included):`,
    'totals over the measured rounds.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The line the README quotes: what authentication, rate limiting and the access log cost together. */
function rulesCost(full: Measured | undefined, off: Measured | undefined, figure: (target: Measured) => number): string[] {
  if (!full || !off) return [];
  const cpu = (target: Measured) => median(target.rounds.map((sample) => sample.serverCpuMicros ?? Number.NaN));
  return [
    '',
    `Rules (key lookup + rate-limit counter + access log): full stack runs at ${formatRatio(figure(full) / figure(off))} × the req/s of the same route with them off` +
      ` (${formatCount(figure(full))} vs ${formatCount(figure(off))}); server CPU per request ${formatCount(cpu(full))} vs ${formatCount(cpu(off))} µs.`,
  ];
}

/**
 * Charter beside the hand-written peer, per route and key mix: the figures the performance goal is
 * judged by. Both ratios read "≥ 1.00: Charter is at least as good": req/s Charter ÷ peer, CPU peer ÷ Charter.
 */
function peerComparison(measured: Measured[], figure: (target: Measured) => number, withServer: boolean): string[] {
  if (!withServer) return ['', 'Charter vs the hand-written peer: not measured (the peer needs a PostgreSQL server: set DATABASE_URL).'];
  const cpuOf = (sample: Round) => sample.serverCpuMicros ?? Number.NaN;
  const cpu = (target: Measured) => median(target.rounds.map(cpuOf));
  // The ratio of each round's pair, measured one right after the other, then their median: the
  // machine's speed drifts between rounds far more than within a pair.
  const pairRatio = (charter: Measured, peer: Measured, ratio: (charter: Round, peer: Round) => number) =>
    median(charter.rounds.map((sample, round) => (peer.rounds[round] ? ratio(sample, peer.rounds[round]) : Number.NaN)));
  const rows = WORKLOADS.flatMap((load) => {
    const charter = measured.find((target) => target.spec.name === 'charter' && target.workload === load);
    const peer = measured.find((target) => target.spec.kind === 'peer' && target.workload === load);
    if (!charter || !peer) return [];
    return [
      [
        load.label,
        formatCount(figure(charter)),
        formatCount(figure(peer)),
        formatRatio(pairRatio(charter, peer, (mine, theirs) => mine.requestsPerSecond / theirs.requestsPerSecond)),
        formatCount(cpu(charter)),
        formatCount(cpu(peer)),
        formatRatio(pairRatio(charter, peer, (mine, theirs) => cpuOf(theirs) / cpuOf(mine))),
      ],
    ];
  });
  return [
    '',
    'Charter (full stack) vs the hand-written peer (Fastify + postgres.js, same database work), in the same interleaved rounds:',
    '',
    formatTable(
      [
        { title: 'route, keys' },
        { title: 'Charter req/s', align: 'right' },
        { title: 'peer req/s', align: 'right' },
        { title: 'req/s ratio', align: 'right' },
        { title: 'Charter CPU µs/req', align: 'right' },
        { title: 'peer CPU µs/req', align: 'right' },
        { title: 'CPU ratio', align: 'right' },
      ],
      rows,
    ),
    'req/s ratio = Charter ÷ peer; CPU ratio = peer µs ÷ Charter µs; each the median of the rounds\' ratios (Charter and the peer are',
    'measured one right after the other in each round). Both at least 1.00 means Charter is at least as fast and as cheap.',
  ];
}

function formatOptional(values: (number | undefined)[], format: (value: number) => string): string {
  const known = values.filter((value): value is number => value !== undefined);
  return known.length === values.length && known.length > 0 ? format(median(known)) : '-';
}

/** 0 when the figures can be trusted; otherwise says why not and returns 1. */
function verdict(measured: Measured[]): number {
  const problems: string[] = [];
  for (const target of measured) {
    const samples = [...(target.warmup ? [target.warmup] : []), ...target.rounds];
    if (target.spec.kind !== 'reference') {
      const expected = String(target.request.expect);
      const other = new Map<string, number>();
      for (const sample of samples) {
        for (const [status, count] of Object.entries(sample.statuses)) if (status !== expected) other.set(status, (other.get(status) ?? 0) + count);
      }
      if (other.size > 0) problems.push(`${target.label} answered statuses other than ${expected}: ${[...other].map(([status, count]) => `${count} × ${status}`).join(', ')}`);
    }
    const errors = sum(samples.map((sample) => sample.errors));
    if (errors > 0) problems.push(`${target.label} had ${errors} connection errors or timeouts`);
  }
  for (const problem of problems) process.stdout.write(`FAILED: ${problem}\n`);
  return problems.length > 0 ? 1 : 0;
}

async function main(): Promise<void> {
  const settings: Settings = {
    durationSeconds: setting('BENCH_DURATION', 10, 1),
    connections: setting('BENCH_CONNECTIONS', 50, 1),
    warmupSeconds: setting('BENCH_WARMUP', 2, 0),
    rounds: setting('BENCH_ROUNDS', 3, 1),
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    progress(`${signal}: stopping`);
    stopLoad();
    void stopAllChildren();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Whatever hangs (a target that stops answering, a stuck shutdown), the bench ends by itself.
  const processes = targets();
  const measurements = processes.filter((spec) => !spec.workloads).length + WORKLOADS.length * processes.filter((spec) => spec.workloads).length;
  const budgetMs = READY_TIMEOUT_MS + 30_000 + measurements * (settings.warmupSeconds + settings.rounds * (settings.durationSeconds + 2)) * 1_000;
  startWatchdog(budgetMs, progress);

  let code: number;
  try {
    code = await run(settings);
  } catch (error) {
    // After an interrupt the error is only the echo of stopping the targets.
    progress(interrupted ? 'interrupted' : `failed: ${error instanceof Error ? error.message : String(error)}`);
    code = interrupted ? 130 : 1;
  }
  await stopAllChildren();
  // autocannon can leave a timer or socket behind; nothing is left to wait for.
  process.exit(code);
}

await main();

/** A list body with its `next_cursor` blanked (present or not), for comparing two lists of different data. */
function withoutCursor(body: Buffer): string {
  const list = JSON.parse(body.toString('utf8')) as { next_cursor?: string | null };
  return JSON.stringify({ ...list, next_cursor: list.next_cursor ? 'cursor' : null });
}
