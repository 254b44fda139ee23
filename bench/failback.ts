// npm run bench:failback -- --runs 5 [--write-rate 10 --interval 3 --json]
// Runs the built product's failback drill (`node dist/cli/main.js drill --lab --scenario failback`) `runs`
// times under the lab's writer, and reports each run's write unavailability during the failback as the
// lab's clients see it (`failback_rto_s`: the longest time no write was acknowledged, resolving through
// the caching resolver) beside the authoritative figure (`failback_rto_authoritative_s`), and what DR
// acknowledged that the primary lacks. Build first: npm run build. --keep keeps the drills' directories.
import { BUILT_CLI } from './paths.js';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
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
    json: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
if (!(runs >= 1) || (values['write-rate'] !== undefined && !(Number(values['write-rate']) > 0))) {
  process.stderr.write('bench:failback: --runs ≥ 1, --write-rate > 0 (rows/s)\n');
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
}

function drill(dir: string): Promise<FailbackJson & { wall_s: number }> {
  const args = [BUILT_CLI, 'drill', '--lab', '--scenario', 'failback', '--interval', values.interval];
  if (values['write-rate']) args.push('--write-rate', values['write-rate']);
  args.push('--dir', dir, '--json');
  const started = performance.now();
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { maxBuffer: 64 << 20, timeout: 900_000 }, (error, stdout, stderr) => {
      if (error)
        return reject(new Error(`failback drill failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      const report = JSON.parse(stdout.trim().split('\n').pop()!) as FailbackJson;
      resolve({ ...report, wall_s: Math.round((performance.now() - started) / 100) / 10 });
    }),
  );
}

const root = mkdtempSync(join(tmpdir(), 'phoenix-bench-failback-'));
const cleanup = BenchCleanup.install('bench:failback', { dir: root, keep: values.keep });
// On a signal the running drill gets SIGTERM and tears its lab down, given a minute to.
cleanup.add('the running drill', () => cleanup.stopChildren(60_000));
const reports: Array<FailbackJson & { wall_s: number }> = [];
const failed: string[] = [];
try {
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`bench:failback: run ${i + 1}/${runs}\n`);
    // A drill that failed is reported, not hidden by aborting the others.
    await drill(join(root, `run-${i}`)).then(
      (r) => reports.push(r),
      (e: Error) => failed.push(e.message.slice(0, 300)),
    );
  }
} finally {
  await cleanup.close();
}
const pick = (k: keyof FailbackJson) => reports.map((r) => r[k] ?? null);
const result = {
  runs,
  write_unavailability_s: pick('failback_rto_s'),
  write_unavailability_authoritative_s: pick('failback_rto_authoritative_s'),
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
