// npm run bench:rpo -- --write-rate 500 --object-rate 20 --runs 3 [--modes logical,physical] [--keep] [--json]
// Runs the built product's regional-outage drill (`node dist/cli/main.js drill --lab`) `runs` times per
// replication mode under a writer of `write-rate` rows/s (`object-rate` of them with an object), and
// reports per mode what the DR site lacked of the acknowledged writes, the RTO and the writes' p99.
// Build first: npx tsc -p tsconfig.build.json && cp -r src/server/public dist/server/
import { BUILT_CLI } from './paths.js';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchCleanup } from './cleanup.js';

const { values } = parseArgs({
  options: {
    'write-rate': { type: 'string', default: '500' },
    'object-rate': { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
    modes: { type: 'string', default: 'logical,physical' },
    interval: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const writeRate = Number(values['write-rate']);
const objectRate = Number(values['object-rate']);
const runs = Number(values.runs);
const modes = values.modes.split(',');
if (
  !(writeRate > 0) ||
  !(objectRate >= 0) ||
  !(runs >= 1) ||
  modes.some((m) => !['logical', 'physical'].includes(m))
) {
  process.stderr.write(
    'bench:rpo: --write-rate > 0, --object-rate >= 0, --runs >= 1, --modes logical,physical\n',
  );
  process.exit(2);
}
const cli = BUILT_CLI;
if (!existsSync(cli)) {
  process.stderr.write(`bench:rpo: ${cli} is missing; build first (npx tsc -p tsconfig.build.json)\n`);
  process.exit(2);
}

interface DrillJson {
  rto_s: number | null;
  rpo_rows_lost: number | null;
  rpo_objects_lost: number | null;
  write_p99_ms: number | null;
  writes: { acknowledged_primary: number; primary_per_s: number | null };
}

function drill(mode: string, dir: string): Promise<DrillJson> {
  const args = [cli, 'drill', '--lab', '--scenario', 'regional-outage', '--replication', mode];
  args.push('--write-rate', String(writeRate), '--object-rate', String(objectRate));
  args.push('--interval', values.interval, '--dir', dir, '--json');
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { maxBuffer: 64 << 20, timeout: 600_000 }, (error, stdout, stderr) => {
      if (error)
        return reject(
          new Error(`drill (${mode}) failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}`),
        );
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as DrillJson);
    }),
  );
}

const root = mkdtempSync(join(tmpdir(), 'phoenix-bench-rpo-'));
const cleanup = BenchCleanup.install('bench:rpo', { dir: root, keep: values.keep });
// On a signal the running drill gets SIGTERM and tears its lab down, given a minute to.
cleanup.add('the running drill', () => cleanup.stopChildren(60_000));
const results = [];
try {
  for (const mode of modes) {
    const reports: DrillJson[] = [];
    const failed: string[] = [];
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`bench:rpo: ${mode} run ${i + 1}/${runs}\n`);
      // A drill that did not fail over (the controller held back) is reported, not hidden by aborting.
      await drill(mode, join(root, `${mode}-${i}`)).then(
        (r) => reports.push(r),
        (e: Error) => failed.push(e.message.slice(0, 300)),
      );
    }
    const p99s = reports.map((r) => r.write_p99_ms).filter((v): v is number => v !== null);
    results.push({
      replication: mode,
      write_rate: writeRate,
      object_rate: objectRate,
      rows_lost: reports.map((r) => r.rpo_rows_lost),
      objects_lost: reports.map((r) => r.rpo_objects_lost),
      rto_s: reports.map((r) => r.rto_s),
      acknowledged: reports.map((r) => r.writes.acknowledged_primary),
      // What the lab sustained before the fault: the writer asks for write_rate, the app may answer fewer.
      achieved_write_rate: reports.map((r) => r.writes.primary_per_s),
      // The worst run's p99: the writer's latency through the app while the data path replicates.
      write_p99_ms: p99s.length ? Math.max(...p99s) : null,
      failed_runs: failed,
    });
  }
} finally {
  await cleanup.close();
}
if (values.json) process.stdout.write(JSON.stringify(results) + '\n');
else
  for (const r of results)
    process.stdout.write(
      `${r.replication.padEnd(9)} rows lost ${r.rows_lost.join('/')}, objects lost ${r.objects_lost.join('/')}, RTO ${r.rto_s.join('/')} s, write p99 ${r.write_p99_ms} ms (${r.write_rate} rows/s, ${r.object_rate} objects/s)\n`,
    );
