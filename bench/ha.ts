// Leader takeover: three controllers (`phoenix run`, the built product) share one store;
// the leader is SIGKILLed mid-runbook again and again, and a standby takes over and resumes.
// Usage: npm run bench:ha [-- --kills N --ttl S --store sqlite|postgres --json]   (needs `npm run build` first)
// --store postgres uses a scratch schema of $PHOENIX_BENCH_PG_URL (default the local server), dropped after.
import { BUILT_CLI } from './paths.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { stringify } from 'yaml';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) =>
  args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback;
const kills = option('--kills', 10);
const ttl_s = option('--ttl', 3);
const interval_s = 1;
const json = args.includes('--json');
const storeKind = args.includes('--store') ? args[args.indexOf('--store') + 1] : 'sqlite';
if (storeKind !== 'sqlite' && storeKind !== 'postgres') {
  console.error(`--store ${storeKind} is not known; use sqlite or postgres`);
  process.exit(2);
}
const PG_URL = process.env.PHOENIX_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const schema = `phoenix_bench_${randomBytes(5).toString('hex')}`;
const CLI = BUILT_CLI;
if (!existsSync(CLI)) {
  console.error(
    `${CLI} is missing; build first: npx tsc -p tsconfig.build.json && cp -r src/server/public dist/server/`,
  );
  process.exit(2);
}

// Every probe fails, so the first leader decides dr_failover at once.
const down = createServer((_req, res) => res.writeHead(503).end('down'));
await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(down.address() as { port: number }).port}`;

const dir = mkdtempSync(join(tmpdir(), 'phoenix-bench-ha-'));
const db = join(dir, 'phoenix.db');
const log = join(dir, 'steps.log');
const allow = join(dir, 'allow');
writeFileSync(allow, '0');
// Step i holds until the bench allows i steps, so there is always a step to be killed in,
// however long a standby takes to start on a loaded machine.
const steps = Array.from({ length: kills + 3 }, (_, i) => ({
  name: `step-${String(i).padStart(2, '0')}`,
  type: 'command',
  params: {
    command: 'sh',
    args: [
      '-c',
      [
        `echo "start $PHOENIX_STEP" >> "${log}"`,
        `until [ "$(cat "${allow}")" -gt ${i} ]; do sleep 0.05; done`,
        `echo "done $PHOENIX_STEP" >> "${log}"`,
      ].join('\n'),
    ],
  },
}));
const config = join(dir, 'phoenix.yaml');
writeFileSync(
  config,
  stringify({
    interval: interval_s,
    decision: { analyzer: 'threshold' },
    store:
      storeKind === 'sqlite'
        ? { path: db, lease_ttl: `${ttl_s}s` }
        : { driver: 'postgres', url: '${PHX_PG_URL}', schema, lease_ttl: `${ttl_s}s`, path: db },
    server: { enabled: false },
    probes: {
      timeout: '1s',
      signals: {
        internal_services: { type: 'http_checks', targets: [{ name: 'api', url }] },
        eks_nodes: { type: 'http', url },
        cross_cloud: { type: 'http', url },
      },
    },
    runbooks: { dr_failover: { stages: [{ name: 'all', steps }] } },
  }),
);

const children = new Map<number, { child: ChildProcess; output: string }>();
function startController(standby: boolean): number {
  const child = spawn(
    process.execPath,
    [CLI, 'run', '--config', config, '--log-format', 'json', ...(standby ? ['--standby'] : [])],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PHX_PG_URL: PG_URL },
    },
  );
  const entry = { child, output: '' };
  child.stdout!.on('data', (d) => (entry.output += d));
  child.stderr!.on('data', (d) => (entry.output += d));
  children.set(child.pid!, entry);
  return child.pid!;
}

const pool =
  storeKind === 'postgres'
    ? new pg.Pool({ connectionString: PG_URL, max: 1, options: `-c search_path="${schema}"` })
    : undefined;
pool?.on('error', () => undefined);

/** One row of the shared store, read as another process would while the controllers write. */
async function read<T>(sql: string): Promise<T | undefined> {
  if (pool) return ((await pool.query(sql).catch(() => undefined))?.rows[0] as T | undefined) ?? undefined;
  if (!existsSync(db)) return undefined;
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare(sql).get() as T | undefined;
  } catch {
    return undefined;
  } finally {
    conn.close();
  }
}
const lease = () => read<{ holder: string; token: number }>('SELECT holder, token FROM controller_leases');
const run = () => read<{ status: string }>('SELECT status FROM runbook_runs');
const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);

async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const standbyReady = (pid: number) => /standby: another controller leads/.test(children.get(pid)!.output);

const takeovers: number[] = [];
try {
  startController(false);
  await until('the first leader', async () => (await lease()) !== undefined);
  let followers = [startController(true), startController(true)];
  for (let k = 0; k < kills; k++) {
    await until('the standbys', () => followers.every(standbyReady));
    // Let the held step finish, then kill the leader inside the next one.
    const started = lines().filter((l) => l.startsWith('start ')).length;
    writeFileSync(allow, String(k + 1));
    await until(
      'the next step to start',
      () => lines().filter((l) => l.startsWith('start ')).length > started,
    );
    const before = (await lease())!;
    const leaderPid = Number(before.holder.split(':')[1]);
    children.get(leaderPid)!.child.kill('SIGKILL');
    const killedAt = performance.now();
    await until('a takeover', async () => Number((await lease())?.token ?? 0) > Number(before.token));
    takeovers.push((performance.now() - killedAt) / 1000);
    process.stderr.write(`kill ${k + 1}: takeover in ${takeovers[k].toFixed(2)} s\n`);
    const leader = Number((await lease())!.holder.split(':')[1]);
    followers = [...followers.filter((p) => p !== leader), startController(true)];
  }
  writeFileSync(allow, String(steps.length));
  await until('the run to finish', async () => (await run())?.status === 'succeeded', 300_000);
} catch (error) {
  // What the controllers said, to tell a slow machine from a controller that failed.
  for (const [pid, { output }] of children)
    process.stderr.write(`--- controller ${pid}:\n${output.slice(-1500)}\n`);
  throw error;
} finally {
  for (const { child } of children.values()) child.kill('SIGKILL');
  down.close();
  await pool?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
  await pool?.end();
}

const done = lines().filter((l) => l.startsWith('done '));
const counts = new Map<string, number>();
for (const l of done) counts.set(l.slice(5), (counts.get(l.slice(5)) ?? 0) + 1);
const sorted = [...takeovers].sort((a, b) => a - b);
const round = (x: number) => Math.round(x * 100) / 100;
const result = {
  controllers: 3,
  store: storeKind,
  ttl_s,
  interval_s,
  kills: takeovers.length,
  takeover_p50_s: round(sorted[Math.floor(sorted.length / 2)] ?? 0),
  takeover_max_s: round(sorted[sorted.length - 1] ?? 0),
  duplicate_steps: [...counts.values()].filter((n) => n > 1).length,
  lost_steps: steps.filter((s) => !counts.has(s.name)).length,
};
if (json) console.log(JSON.stringify(result));
else
  console.log(
    `${result.kills} leader kills, 3 controllers on ${storeKind}, TTL ${ttl_s}s: takeover p50 ${result.takeover_p50_s}s, max ${result.takeover_max_s}s; ${result.duplicate_steps} duplicate and ${result.lost_steps} lost steps`,
  );
