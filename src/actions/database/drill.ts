import { statSync } from 'node:fs';
import { join } from 'node:path';
import { drillTag } from '../shared/drill.js';
import { runProcess } from '../shared/process.js';
import { redact, withClient } from '../../pg/index.js';
import type { CleanupResult, StepContext, StepDrill } from '../types.js';
import type { DatabaseDrillParams, DatabaseParams } from './config.js';
import { advanceSequences } from './cutover.js';

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Where the rehearsal copies from (the DR database) and the server the scratch copy goes on. */
function endpoints(p: DatabaseParams): { source: string; server?: string; drill: DatabaseDrillParams } {
  const drill = ('drill' in p ? p.drill : undefined) ?? { pg_dump: 'pg_dump', pg_restore: 'pg_restore' };
  switch (p.action) {
    case 'cutover':
      return { source: p.subscriber, server: drill.scratch_server ?? p.subscriber, drill };
    case 'promote':
      // A streaming standby is read-only: the copy must go elsewhere.
      return { source: p.standby, server: drill.scratch_server, drill };
    case 'dump_restore':
      return { source: p.source, server: drill.scratch_server ?? p.target, drill };
    case 'azure_promote':
      return { source: '', drill };
    case 'reprotect':
      // The way back's rehearsal: the serving database copied onto the server that will subscribe.
      return { source: p.publisher, server: drill.scratch_server ?? p.subscriber, drill };
  }
}

/** The scratch database of a run: named from the run id, so a resumed drill and its cleanup find it. */
export function scratchDatabase(runId: string): string {
  return `phoenix_${drillTag(runId)}`;
}

function onDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function createScratch(server: string, name: string, ctx: StepContext): Promise<void> {
  await withClient(
    server,
    'scratch server',
    async (c) => {
      // The DR database may default to read-only (the lab's, before cut-over): this session only writes.
      await c.query('SET default_transaction_read_only = off');
      // Left by an attempt cut short: start again from an empty copy.
      await c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${ident(name)}`);
    },
    { signal: ctx.signal },
  );
}

/** The copy is open for writes as the real step leaves the DR database: not in recovery, not read-only. */
async function openCopy(
  url: string,
  gap: number,
  ctx: StepContext,
): Promise<{ sequences: number; tables: number }> {
  return withClient(
    url,
    'scratch copy',
    async (c) => {
      const sequences = await advanceSequences(c, gap);
      const { rows } = await c.query(
        `SELECT pg_is_in_recovery() AS recovery, current_setting('transaction_read_only') AS ro,
                (SELECT count(*)::int FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) AS tables`,
      );
      const r = rows[0] as { recovery: boolean; ro: string; tables: number };
      if (r.recovery || r.ro === 'on') throw new Error('the scratch copy is not writable');
      return { sequences: sequences.length, tables: r.tables };
    },
    { signal: ctx.signal },
  );
}

async function dropScratch(server: string, name: string, ctx: StepContext): Promise<CleanupResult> {
  return withClient(
    server,
    'scratch server',
    async (c) => {
      await c.query('SET default_transaction_read_only = off');
      await c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
      const { rows } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      return {
        summary: `dropped the scratch database ${name} on ${redact(server)}`,
        left: rows.length ? [`database ${name} on ${redact(server)}`] : [],
      };
    },
    { signal: ctx.signal },
  );
}

/**
 * Rehearses on a copy of the DR database (pg_dump of the DR database, without its subscription, restored
 * into a scratch database) and opens the copy as the real step would open the DR database. The replica
 * and its subscription are only read.
 */
export const databaseDrill: StepDrill<DatabaseParams> = {
  missing(p) {
    if (p.action === 'azure_promote')
      return 'azure_promote has no drill yet (a point-in-time restore into a scratch server is planned): a drill skips this step';
    if (!endpoints(p).server)
      return 'a streaming standby is read-only: give drill: { scratch_server: <postgresql:// URL> } for the scratch copy';
    return undefined;
  },
  describe: () => `copy the DR database into a scratch database and open it there; the replica is only read`,
  async rehearse(p, ctx) {
    const { source, server, drill } = endpoints(p);
    const name = scratchDatabase(ctx.runId);
    const url = onDatabase(server!, name);
    const dumpFile = join(ctx.workDir, 'drill.pgc');
    const started = performance.now();
    ctx.progress(`pg_dump ${redact(source)} (no subscriptions)`);
    await runProcess(
      drill.pg_dump,
      [
        '--format=custom',
        '--no-owner',
        '--no-privileges',
        '--no-subscriptions',
        '--no-publications',
        `--file=${dumpFile}`,
        `--dbname=${source}`,
      ],
      { signal: ctx.signal },
    );
    await createScratch(server!, name, ctx);
    ctx.progress(`pg_restore into ${name}`);
    await runProcess(drill.pg_restore, ['--no-owner', '--no-privileges', `--dbname=${url}`, dumpFile], {
      signal: ctx.signal,
    });
    // As the cut-over does: sequences past anything the publisher may have handed out.
    const opened = await openCopy(url, p.action === 'cutover' ? p.sequence_gap : 1, ctx);
    const seconds = Math.round((performance.now() - started) / 10) / 100;
    return {
      summary: `drill: copied ${redact(source)} into ${name} on ${redact(server!)} (${statSync(dumpFile).size} bytes, ${opened.tables} tables, ${seconds} s) and opened it for writes`,
      output: {
        scratch_database: name,
        scratch_server: redact(server!),
        bytes: statSync(dumpFile).size,
        seconds,
        ...opened,
      },
    };
  },
  async cleanup(p, ctx) {
    const { server } = endpoints(p);
    if (!server) return { summary: 'nothing made', left: [] };
    return dropScratch(server, scratchDatabase(ctx.runId), ctx);
  },
};
