// npm run bench:failback -- --runs 5 [--write-rate 10 --interval 3 --cpu-burners N --no-reverse-replicator --log-dir DIR --json]
// Runs the built product's failback drill (`node dist/cli/main.js drill --lab --scenario failback`) `runs`
// times under the lab's writer, and reports each run's write unavailability during the failback as the
// lab's clients see it (`failback_rto_s`: the longest time no write was acknowledged, resolving through
// the caching resolver) beside the authoritative figure (`failback_rto_authoritative_s`), and what DR
// acknowledged that the primary lacks. `--cpu-burners N` spins N busy processes for the whole bench (load
// it makes itself, repeatable); each run records the 1-minute load average before, during (min/max) and after.
// Build first: npm run build. --keep keeps the drills' directories.
import { loadAverage, startCpuBurners } from './cpu-burners.js';
import { BUILT_CLI } from './paths.js';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchCleanup } from './cleanup.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    'write-rate': { type: 'string' },
    interval: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    'cpu-burners': { type: 'string', default: '0' },
    'no-reverse-replicator': { type: 'boolean', default: false },
    // Each drill's progress (stderr) is written here as run-N.log: where a slow or failed run spent its time.
    'log-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const burners = Number(values['cpu-burners']);
if (
  !(runs >= 1) ||
  !(Number.isInteger(burners) && burners >= 0) ||
  (values['write-rate'] !== undefined && !(Number(values['write-rate']) > 0))
) {
  process.stderr.write(
    'bench:failback: --runs ≥ 1, --cpu-burners ≥ 0 (processes), --write-rate > 0 (rows/s)\n',
  );
  process.exit(2);
}
if (!existsSync(BUILT_CLI)) {
  process.stderr.write(`bench:failback: ${BUILT_CLI} is missing; build first: npm run build\n`);
  process.exit(2);
}

interface FailbackJson {
  failback_rto_s?: number | null;
  failback_rto_authoritative_s?: number | null;
  reprotect_s?: number | null;
  failback_rows_lost?: number | null;
  failback_objects_lost?: number | null;
  failback_client_dns_lag_s?: number | null;
  failback_cache_phase_wait_s?: number;
  reprotect_steps?: Record<string, number>;
  failback_steps?: Record<string, number>;
  failback_event_loop_lag_ms?: { p99_ms: number; max_ms: number };
}

/** The 1-minute load average over one run: before it, the lowest and highest seen every 5 s, after it. */
interface RunLoad {
  before: number | null;
  min: number | null;
  max: number | null;
  after: number | null;
}
type RunResult = FailbackJson & { wall_s: number; load_1m: RunLoad };

function drill(dir: string, log?: string): Promise<RunResult> {
  const args = [BUILT_CLI, 'drill', '--lab', '--scenario', 'failback', '--interval', values.interval];
  if (values['write-rate']) args.push('--write-rate', values['write-rate']);
  if (values['no-reverse-replicator']) args.push('--no-reverse-replicator');
  args.push('--dir', dir, '--json');
  const started = performance.now();
  const load: RunLoad = { before: loadAverage()?.[0] ?? null, min: null, max: null, after: null };
  const sample = () => {
    const now = loadAverage()?.[0];
    if (now === undefined) return;
    load.min = Math.min(load.min ?? now, now);
    load.max = Math.max(load.max ?? now, now);
  };
  sample();
  const sampler = setInterval(sample, 5000);
  return new Promise<RunResult>((resolve, reject) =>
    execFile(process.execPath, args, { maxBuffer: 64 << 20, timeout: 900_000 }, (error, stdout, stderr) => {
      sample();
      load.after = loadAverage()?.[0] ?? null;
      if (log) writeFileSync(log, stderr);
      const wall_s = Math.round((performance.now() - started) / 100) / 10;
      if (error)
        return reject(
          new Error(
            `failback drill failed after ${wall_s} s at load ${JSON.stringify(load)}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
      const report = JSON.parse(stdout.trim().split('\n').pop()!) as FailbackJson;
      resolve({ ...report, wall_s, load_1m: load });
    }),
  ).finally(() => clearInterval(sampler));
}

const root = mkdtempSync(join(tmpdir(), 'phoenix-bench-failback-'));
const cleanup = BenchCleanup.install('bench:failback', { dir: root, keep: values.keep });
// On a signal the running drill gets SIGTERM and tears its lab down, given a minute to.
cleanup.add('the running drill', () => cleanup.stopChildren(60_000));
if (values['log-dir']) mkdirSync(values['log-dir'], { recursive: true });
const reports: RunResult[] = [];
const failed: string[] = [];
const cpu = startCpuBurners(burners);
cleanup.add('the cpu burners', () => cpu.stop());
if (burners) process.stderr.write(`bench:failback: ${burners} cpu burners (pids ${cpu.pids.join(' ')})\n`);
try {
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`bench:failback: run ${i + 1}/${runs}\n`);
    // A drill that failed is reported, not hidden by aborting the others.
    const log = values['log-dir'] ? join(values['log-dir'], `run-${i + 1}.log`) : undefined;
    await drill(join(root, `run-${i}`), log).then(
      (r) => reports.push(r),
      (e: Error) => failed.push(e.message.slice(0, 300)),
    );
  }
} finally {
  await cpu.stop();
  await cleanup.close();
}
const pick = (k: keyof FailbackJson) => reports.map((r) => r[k] ?? null);
const result = {
  runs,
  cpu_burners: burners,
  reverse_replicator: !values['no-reverse-replicator'],
  write_unavailability_s: pick('failback_rto_s'),
  write_unavailability_authoritative_s: pick('failback_rto_authoritative_s'),
  client_dns_lag_s: pick('failback_client_dns_lag_s'),
  cache_phase_wait_s: pick('failback_cache_phase_wait_s'),
  failback_steps_s: pick('failback_steps'),
  reprotect_steps_s: pick('reprotect_steps'),
  event_loop_lag_ms: pick('failback_event_loop_lag_ms'),
  load_1m: reports.map((r) => r.load_1m),
  reprotect_s: pick('reprotect_s'),
  rows_lost: pick('failback_rows_lost'),
  objects_lost: pick('failback_objects_lost'),
  drill_wall_s: reports.map((r) => r.wall_s),
  failed_runs: failed,
};
if (values.json) process.stdout.write(JSON.stringify(result) + '\n');
else
  process.stdout.write(
    `failback write unavailability ${result.write_unavailability_s.join('/')} s (authoritative ${result.write_unavailability_authoritative_s.join('/')} s), rows lost ${result.rows_lost.join('/')}, objects lost ${result.objects_lost.join('/')}${failed.length ? `; ${failed.length} runs failed` : ''}\n`,
  );
