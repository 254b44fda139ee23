#!/usr/bin/env node
// The failback drill (probe, cut-over, fence, reprotect, failback) on every pair of PostgreSQL majors RDS
// and Azure offer: the primary on one, the DR database on another. One drill at a time (each builds its
// own lab); a table of what each ended with, and a non-zero exit when any lost data or failed.
//
//   node scripts/postgres-matrix.mjs                    every ordered pair of 13, 14, 15, 16, 17 (20 drills)
//   node scripts/postgres-matrix.mjs 13:17 17:16        only these pairs (primary:dr)
//   node scripts/postgres-matrix.mjs --same             also the pairs of one major with itself
//   node scripts/postgres-matrix.mjs --logs DIR         keep each drill's progress (stderr) in DIR/<primary>-<dr>.log
//
// Needs the build (npm run build) and the majors (node scripts/install-postgres.mjs).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MAJORS = [13, 14, 15, 16, 17];
const args = process.argv.slice(2);
const same = args.includes('--same');
const logs = args.includes('--logs') ? resolve(args[args.indexOf('--logs') + 1] ?? '.') : undefined;
if (logs) mkdirSync(logs, { recursive: true });
const given = args.filter((a) => /^\d+:\d+$/.test(a)).map((a) => a.split(':').map(Number));
const pairs = given.length
  ? given
  : MAJORS.flatMap((p) => MAJORS.filter((d) => same || d !== p).map((d) => [p, d]));

const rows = [];
for (const [primary, dr] of pairs) {
  const dir = mkdtempSync(join(tmpdir(), `phoenix-matrix-${primary}-${dr}-`));
  const started = Date.now();
  process.stderr.write(`matrix: failback drill, PostgreSQL ${primary} → ${dr}\n`);
  const run = spawnSync(
    process.execPath,
    [
      join(root, 'dist/cli/main.js'),
      'drill',
      '--lab',
      '--scenario',
      'failback',
      '--postgres',
      String(primary),
      '--dr-postgres',
      String(dr),
      '--interval',
      '3',
      '--dir',
      join(dir, 'lab'),
      '--json',
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  rmSync(dir, { recursive: true, force: true });
  if (logs) writeFileSync(join(logs, `${primary}-${dr}.log`), `${run.stderr}\n${run.stdout}`);
  let report;
  try {
    report = JSON.parse(run.stdout.trim().split('\n').pop());
  } catch {
    report = undefined;
  }
  // The failover leg (what the primary acknowledged and DR lacks) and the way back (what DR acknowledged
  // and the primary lacks after the failback).
  const lost = report
    ? [report.rpo_rows_lost, report.rpo_objects_lost, report.failback_rows_lost, report.failback_objects_lost]
    : [null, null, null, null];
  rows.push({
    primary,
    dr,
    versions: report ? `${report.postgres_versions.primary} → ${report.postgres_versions.dr}` : '—',
    ok: run.status === 0 && report?.failback_rows_lost === 0 && report?.failback_objects_lost === 0,
    failover_rows_lost: lost[0],
    failover_objects_lost: lost[1],
    // How long before the fault each object lost at the failover was acknowledged, beside the slowest
    // event-driven copy S3 → Blob the drill saw (a copy still queued when S3 died is not in that figure).
    lost_object_age_ms: report?.rpo_objects_lost_age_ms?.join(' ') ?? '',
    copy_lag_max_ms: report?.object_replication?.lag_ms_max ?? null,
    failback_rows_lost: lost[2],
    failback_objects_lost: lost[3],
    reprotect_s: report?.reprotect_s ?? null,
    failback_rto_s: report?.failback_rto_s ?? null,
    seconds: Math.round((Date.now() - started) / 1000),
    error: run.status === 0 ? '' : run.stderr.trim().split('\n').slice(-2).join(' | '),
  });
}
console.table(rows);
process.stdout.write(JSON.stringify(rows) + '\n');
process.exit(rows.every((r) => r.ok) ? 0 : 1);
