// Leader takeover: three controllers (`phoenix run`, the built product) share one store;
// the leader is SIGKILLed mid-runbook again and again, and a standby takes over and resumes.
// Usage: npm run bench:ha [-- --kills N --ttl S --store sqlite|postgres --keep --json]   (needs `npm run build` first)
// --store postgres uses a scratch schema of $PHOENIX_BENCH_PG_URL (default the local server), dropped after.
// The kill lands inside a step the bench holds open, after its start was journaled: takeover_* stops
// when the lease token moves. `--kill-anywhere` (bench/ha-kill-anywhere.ts) kills at any instant.
import { ControllerCluster, p50max, until } from './ha-cluster.js';
import { BenchCleanup } from './cleanup.js';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
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

const dir = mkdtempSync(join(tmpdir(), 'phoenix-bench-ha-'));
const cleanup = BenchCleanup.install('bench:ha', { dir, keep: args.includes('--keep') });

// Every probe fails, so the first leader decides dr_failover at once.
const down = createServer((_req, res) => res.writeHead(503).end('down'));
await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
cleanup.addServer('the probe target', down);
const url = `http://127.0.0.1:${(down.address() as { port: number }).port}`;

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

const cluster = new ControllerCluster(
  config,
  storeKind === 'sqlite' ? { kind: 'sqlite', path: db } : { kind: 'postgres', url: PG_URL, schema },
);
cleanup.add('the controllers', () => cluster.stop());
const env = { ...process.env, PHX_PG_URL: PG_URL };
const startController = (standby: boolean) => cluster.start(standby, env);
const lease = () => cluster.lease();
const run = async () => (await cluster.rows<{ status: string }>('SELECT status FROM runbook_runs'))[0];
const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
const standbyReady = (pid: number) => cluster.standbyReady(pid);

const takeovers: number[] = [];
// Until the killed step starts again under the new leader: what an operator waits for.
const resumes: number[] = [];
const startedSteps = () => lines().filter((l) => l.startsWith('start ')).length;
try {
  startController(false);
  await until('the first leader', async () => (await lease()) !== undefined);
  let followers = [startController(true), startController(true)];
  for (let k = 0; k < kills; k++) {
    await until('the standbys', () => followers.every(standbyReady));
    // Let the held step finish, then kill the leader inside the next one.
    const started = startedSteps();
    writeFileSync(allow, String(k + 1));
    await until('the next step to start', () => startedSteps() > started);
    const before = (await lease())!;
    cluster.kill(before.pid);
    const killedAt = performance.now();
    await until('a takeover', async () => Number((await lease())?.token ?? 0) > Number(before.token));
    takeovers.push((performance.now() - killedAt) / 1000);
    await until('the step to start again', () => startedSteps() > started + 1);
    resumes.push((performance.now() - killedAt) / 1000);
    process.stderr.write(
      `kill ${k + 1}: takeover in ${takeovers[k].toFixed(2)} s, step restarted in ${resumes[k].toFixed(2)} s\n`,
    );
    const leader = (await lease())!.pid;
    followers = [...followers.filter((p) => p !== leader), startController(true)];
  }
  writeFileSync(allow, String(steps.length));
  await until('the run to finish', async () => (await run())?.status === 'succeeded', 300_000);
} catch (error) {
  cluster.dumpOutput();
  throw error;
} finally {
  // Stopped before the log is read: a controller still running could write to it.
  await cluster.stop();
}

const done = lines().filter((l) => l.startsWith('done '));
const counts = new Map<string, number>();
for (const l of done) counts.set(l.slice(5), (counts.get(l.slice(5)) ?? 0) + 1);
const takeover = p50max(takeovers);
const resume = p50max(resumes);
const result = {
  controllers: 3,
  store: storeKind,
  ttl_s,
  interval_s,
  kills: takeovers.length,
  takeover_p50_s: takeover.p50,
  takeover_max_s: takeover.max,
  resume_p50_s: resume.p50,
  resume_max_s: resume.max,
  duplicate_steps: [...counts.values()].filter((n) => n > 1).length,
  lost_steps: steps.filter((s) => !counts.has(s.name)).length,
};
if (json) console.log(JSON.stringify(result));
else
  console.log(
    `${result.kills} leader kills, 3 controllers on ${storeKind}, TTL ${ttl_s}s: takeover p50 ${result.takeover_p50_s}s, max ${result.takeover_max_s}s; step restarted p50 ${result.resume_p50_s}s, max ${result.resume_max_s}s; ${result.duplicate_steps} duplicate and ${result.lost_steps} lost steps`,
  );
await cleanup.close();
