#!/usr/bin/env node
// The failback drill (probe, cut-over, fence, reprotect, failback) on every pair of PostgreSQL majors RDS
// and Azure offer: the primary on one, the DR database on another. One drill at a time (each builds its
// own lab); a table of what each ended with, and a non-zero exit when any lost data or failed.
//
//   node scripts/postgres-matrix.mjs                    every ordered pair of 13, 14, 15, 16, 17 (20 drills)
//   node scripts/postgres-matrix.mjs 13:17 17:16        only these pairs (primary:dr)
//   node scripts/postgres-matrix.mjs --same             also the pairs of one major with itself
//
// Needs the build (npm run build) and the majors (node scripts/install-postgres.mjs).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MAJORS = [13, 14, 15, 16, 17];
const args = process.argv.slice(2);
const same = args.includes('--same');
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
  let report;
  try {
    report = JSON.parse(run.stdout.trim().split('\n').pop());
  } catch {
    report = undefined;
  }
  const lost = report
    ? [report.rpo_rows_lost, report.failback_rows_lost, report.failback_objects_lost]
    : [null, null, null];
  rows.push({
    primary,
    dr,
    versions: report ? `${report.postgres_versions.primary} → ${report.postgres_versions.dr}` : '—',
    ok: run.status === 0 && report?.failback_rows_lost === 0 && report?.failback_objects_lost === 0,
    failback_rows_lost: lost[1],
    failback_objects_lost: lost[2],
    reprotect_s: report?.reprotect_s ?? null,
    failback_rto_s: report?.failback_rto_s ?? null,
    seconds: Math.round((Date.now() - started) / 1000),
    error: run.status === 0 ? '' : run.stderr.trim().split('\n').slice(-2).join(' | '),
  });
}
console.table(rows);
process.stdout.write(JSON.stringify(rows) + '\n');
process.exit(rows.every((r) => r.ok) ? 0 : 1);
