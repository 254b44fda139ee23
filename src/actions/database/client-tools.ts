import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { redact, withClient } from '../../pg/index.js';
import { findExecutable } from '../shared/process.js';
import { StepError, type PreflightCheck } from '../types.js';

const execFileAsync = promisify(execFile);

/** The major version a PostgreSQL client program reports (`pg_dump (PostgreSQL) 15.8 …` → 15). */
export async function toolMajor(binary: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const found = findExecutable(binary, env);
  if (!found)
    throw new StepError(
      `${binary} not found; install the PostgreSQL client (apt-get install postgresql-client) or give its path`,
    );
  const { stdout } = await execFileAsync(found, ['--version'], { env, timeout: 10_000 });
  const match = /\(PostgreSQL\)\s+(\d+)/.exec(stdout);
  if (!match) throw new StepError(`${found} --version said "${stdout.trim()}": not a PostgreSQL client`);
  return Number(match[1]);
}

async function serverVersion(url: string, label: string, timeoutMs: number): Promise<number> {
  return withClient(
    url,
    label,
    async (c) =>
      Math.floor(Number((await c.query('SHOW server_version_num')).rows[0].server_version_num) / 10000),
    { timeoutMs },
  );
}

/**
 * pg_dump dumps servers of its own major and older only, and pg_restore reads the archives of its own
 * major and older: the tools must be at least the source server's major. Returns the check, whose
 * detail names exactly what to install when they are not.
 */
export async function dumpToolsCheck(
  tools: { pg_dump: string; pg_restore: string },
  source: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<PreflightCheck> {
  const check = 'pg_dump and pg_restore match the source server';
  try {
    const [server, dump, restore] = await Promise.all([
      serverVersion(source, 'source database', timeoutMs),
      toolMajor(tools.pg_dump, env),
      toolMajor(tools.pg_restore, env),
    ]);
    const old = [
      ...(dump < server ? [`pg_dump is ${dump}`] : []),
      ...(restore < server ? [`pg_restore is ${restore}`] : []),
    ];
    if (old.length === 0)
      return {
        check,
        ok: true,
        detail: `pg_dump ${dump}, pg_restore ${restore}; ${redact(source)} runs ${server}`,
      };
    return {
      check,
      ok: false,
      detail: `${redact(source)} runs PostgreSQL ${server} but ${old.join(' and ')}: a client older than the server cannot dump it; install the PostgreSQL ${server} client (apt-get install postgresql-client-${server}, from apt.postgresql.org) and set pg_dump: /usr/lib/postgresql/${server}/bin/pg_dump and pg_restore: /usr/lib/postgresql/${server}/bin/pg_restore`,
    };
  } catch (error) {
    return { check, ok: false, detail: (error as Error).message };
  }
}

/** The same check as a step's first act: a mismatch fails it before anything is dumped. */
export async function requireDumpTools(
  tools: { pg_dump: string; pg_restore: string },
  source: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const result = await dumpToolsCheck(tools, source, env, 5000);
  if (!result.ok) throw new StepError(result.detail);
}
