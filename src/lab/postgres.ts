import { execFile } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
  appendFileSync,
  chmodSync,
} from 'node:fs';
import { join, resolve, dirname, sep } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.js';
import { childPids, isRunning, lastLogLines, waitUntil } from './process.js';

const execFileAsync = promisify(execFile);
const PG_ROOT = '/usr/lib/postgresql';

export interface PostgresCluster {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly dataDir: string;
  readonly binDir: string;
  connectionString(database?: string): string;
  /** Clean shutdown (`pg_ctl stop -m fast`); stopping a stopped cluster is fine. */
  stop(): Promise<void>;
  /** SIGKILL to the postmaster and every backend at once: a lost site, not a shutdown. */
  kill(): Promise<void>;
}

/** The newest installed PostgreSQL server's bin directory. */
export function findPostgresBin(): string {
  let versions: string[] = [];
  try {
    versions = readdirSync(PG_ROOT).filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')));
  } catch {
    /* not installed */
  }
  versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  if (versions.length === 0) {
    throw new Error(
      `PostgreSQL server binaries not found under ${PG_ROOT}; install them with: apt-get install postgresql`,
    );
  }
  return join(PG_ROOT, versions[0], 'bin');
}

/** Where scripts/install-postgres.mjs puts the other majors: the repository's .tools/postgres/<major>. */
const TOOLS_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '.tools', 'postgres');

/**
 * The bin directory of PostgreSQL `major`: Debian's (/usr/lib/postgresql/<major>) or the pinned build
 * scripts/install-postgres.mjs installed; without a major, the newest Debian one.
 */
export function postgresBin(major?: number): string {
  if (major === undefined) return findPostgresBin();
  const candidates = [join(PG_ROOT, String(major), 'bin'), join(TOOLS_ROOT, String(major), 'bin')];
  const found = candidates.find((dir) => existsSync(join(dir, 'initdb')));
  if (found) return found;
  throw new Error(
    `PostgreSQL ${major} is not installed (looked in ${candidates.join(' and ')}); install it with: node scripts/install-postgres.mjs ${major} (13, 14, 16, 17), or apt-get install postgresql-${major}`,
  );
}

const asRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

function pgUser(): { uid: number; gid: number } | undefined {
  if (!asRoot()) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line)
    throw new Error(
      'running as root but there is no postgres OS user; install it with: apt-get install postgresql',
    );
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** PostgreSQL refuses to run as root, so as root its tools run as the `postgres` OS user. */
export async function runPg(
  binDir: string,
  tool: string,
  args: string[],
  timeoutMs = 120_000,
): Promise<string> {
  const file = join(binDir, tool);
  const [command, argv] = asRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  try {
    const { stdout } = await execFileAsync(command, argv, { timeout: timeoutMs, maxBuffer: 16 << 20 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${tool} failed: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' | ')}`);
  }
}

/** Makes baseDir usable by the postgres OS user: owned by it, and reachable through its parents. */
export function prepareBaseDir(baseDir: string): void {
  mkdirSync(baseDir, { recursive: true });
  const owner = pgUser();
  if (!owner) return;
  chownSync(baseDir, owner.uid, owner.gid);
  chmodSync(baseDir, 0o700);
  for (let dir = dirname(baseDir); dir !== dirname(dir); dir = dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) !== 0) continue;
    // mkdtemp makes 0700 directories; the postgres user only needs to pass through them.
    if (dir.startsWith(tmpdir() + sep)) chmodSync(dir, mode | 0o711);
    else
      throw new Error(
        `the postgres OS user cannot reach ${baseDir}: ${dir} is not searchable; run chmod o+x ${dir} or pick a directory under ${tmpdir()}`,
      );
  }
}

function readPostmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function query<T extends Record<string, unknown>>(
  connectionString: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A handle on a cluster by its data directory; `phoenix lab down` rebuilds one from the lab's state file. */
export function clusterHandle(dataDir: string, port: number, binDir = findPostgresBin()): PostgresCluster {
  return {
    host: '127.0.0.1',
    port,
    dataDir,
    binDir,
    connectionString: (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    async stop() {
      const pid = readPostmasterPid(dataDir);
      if (pid === undefined || !isRunning(pid)) return;
      try {
        await runPg(binDir, 'pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60']);
      } catch (error) {
        if (isRunning(pid)) throw error;
      }
      await waitUntil(() => !isRunning(pid), 30_000, `PostgreSQL ${pid} to exit`, 50);
    },
    async kill() {
      const pid = readPostmasterPid(dataDir);
      if (pid === undefined || !isRunning(pid)) return;
      const victims = [pid, ...childPids(pid)];
      for (const victim of victims) {
        try {
          process.kill(victim, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await waitUntil(() => victims.every((v) => !isRunning(v)), 10_000, `PostgreSQL ${pid} to die`, 20);
    },
  };
}

async function pgCtlStart(
  binDir: string,
  dataDir: string,
  port: number,
  socketDir: string,
  logFile: string,
): Promise<void> {
  await runPg(binDir, 'pg_ctl', [
    'start',
    '-D',
    dataDir,
    '-l',
    logFile,
    '-w',
    '-t',
    '60',
    '-o',
    `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1`,
  ]);
}

/**
 * initdb and start a primary that accepts trust connections and replication on 127.0.0.1 only, with its
 * Unix socket inside baseDir (never the system cluster's).
 */
export async function startPrimary(options: {
  baseDir: string;
  port?: number;
  /** The PostgreSQL major to run (default: the newest Debian one). */
  version?: number;
}): Promise<PostgresCluster> {
  const binDir = postgresBin(options.version);
  const baseDir = resolve(options.baseDir);
  prepareBaseDir(baseDir);
  const dataDir = join(baseDir, 'data');
  const socketDir = baseDir;
  const logFile = join(baseDir, 'postgres.log');
  await runPg(binDir, 'initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  appendFileSync(
    join(dataDir, 'postgresql.conf'),
    [
      '',
      '# CloudPhoenix lab',
      "listen_addresses = '127.0.0.1'",
      // logical is a superset of replica: the same cluster serves a streaming standby or a logical subscriber.
      'wal_level = logical',
      'max_wal_senders = 10',
      'max_replication_slots = 10',
      'hot_standby = on',
      "wal_keep_size = '256MB'",
      'wal_sender_timeout = 10s',
      'wal_receiver_status_interval = 1s',
      'shared_buffers = 32MB',
      'max_connections = 50',
      // 13 still hashes with md5 by default; pg_hba.conf asks the lab's replication role for SCRAM.
      "password_encryption = 'scram-sha-256'",
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dataDir, 'pg_hba.conf'),
    [
      'local all all trust',
      // The lab's replication role must give its password (src/lab/managed.ts, REPLICATION_ROLE).
      'host all phoenix_repl 127.0.0.1/32 scram-sha-256',
      'host all all 127.0.0.1/32 trust',
      'local replication all trust',
      'host replication all 127.0.0.1/32 trust',
      '',
    ].join('\n'),
  );
  const owner = pgUser();
  if (owner) chownSync(join(dataDir, 'pg_hba.conf'), owner.uid, owner.gid);
  return startOn(binDir, dataDir, socketDir, logFile, options.port);
}

async function startOn(
  binDir: string,
  dataDir: string,
  socketDir: string,
  logFile: string,
  fixedPort?: number,
): Promise<PostgresCluster> {
  let lastError: unknown;
  for (let attempt = 0; attempt < (fixedPort ? 1 : 3); attempt++) {
    const port = fixedPort ?? (await freePort());
    try {
      await pgCtlStart(binDir, dataDir, port, socketDir, logFile);
      return clusterHandle(dataDir, port, binDir);
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(
    `PostgreSQL did not start in ${dataDir}: ${(lastError as Error).message} ${lastLogLines(logFile)}`,
  );
}

/** Starts a stopped (or killed) cluster again on its own port: a lost site coming back with its data. */
export async function restartCluster(
  dataDir: string,
  port: number,
  binDir = findPostgresBin(),
): Promise<PostgresCluster> {
  const baseDir = dirname(dataDir);
  const cluster = await startOn(binDir, dataDir, baseDir, join(baseDir, 'postgres.log'), port);
  await waitUntil(
    async () => (await query(cluster.connectionString(), 'select 1').catch(() => [])).length === 1,
    60_000,
    `PostgreSQL on port ${port} to accept connections after crash recovery`,
    100,
  );
  return cluster;
}

/**
 * A streaming standby of `primary`: pg_basebackup -R with a replication slot (so the primary keeps the WAL
 * it has not sent), started and waited on until it is in recovery and its WAL receiver is streaming.
 */
export async function startStandby(
  primary: PostgresCluster,
  options: { baseDir: string; port?: number },
): Promise<PostgresCluster> {
  const binDir = primary.binDir;
  const baseDir = resolve(options.baseDir);
  prepareBaseDir(baseDir);
  const dataDir = join(baseDir, 'data');
  const logFile = join(baseDir, 'postgres.log');
  const slot = `standby_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
  await runPg(binDir, 'pg_basebackup', [
    '-h',
    '127.0.0.1',
    '-p',
    String(primary.port),
    '-U',
    'postgres',
    '-D',
    dataDir,
    '-R',
    '-X',
    'stream',
    '-c',
    'fast',
    '-C',
    '-S',
    slot,
  ]);
  const standby = await startOn(binDir, dataDir, baseDir, logFile, options.port);
  try {
    await waitUntil(
      async () => {
        try {
          const rows = await query<{ recovery: boolean; status: string | null }>(
            standby.connectionString(),
            'select pg_is_in_recovery() as recovery, (select status from pg_stat_wal_receiver) as status',
          );
          return rows[0]?.recovery === true && rows[0]?.status === 'streaming';
        } catch {
          return false;
        }
      },
      60_000,
      'the standby to stream from the primary',
      200,
    );
  } catch (error) {
    await standby.stop().catch(() => undefined);
    throw new Error(`${(error as Error).message}: ${lastLogLines(logFile)}`);
  }
  return standby;
}
