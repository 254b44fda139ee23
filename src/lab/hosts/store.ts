import { execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { findPostgresBin, prepareBaseDir, runPg } from '../postgres.js';
import { isRunning, waitUntil } from '../process.js';
import type { Fabric } from './net.js';

/**
 * PostgreSQL's own port. Each store node is a network namespace of its own, so nothing else can
 * hold the port there; the Unix socket (which the harness reads the store through, whatever the
 * partitions) is in the node's own directory.
 */
export const STORE_PORT = 5432;

/**
 * The store's service name, as a managed HA PostgreSQL gives one (RDS Multi-AZ, Azure Database for
 * PostgreSQL with HA: a DNS name that is moved to the standby when it is promoted). The controllers
 * connect to this name; each lab host resolves it through its own /etc/hosts (Fabric.setName).
 */
export const STORE_NAME = 'store.phoenix-lab';

/**
 * The application_name the standby streams under, and so the name the primary's
 * synchronous_standby_names waits for (PostgreSQL docs, "Synchronous Replication": a commit
 * returns once the standbys named there have flushed its WAL, with synchronous_commit = on).
 */
const STANDBY_APPLICATION = 'phoenix_standby';

/** How the standby follows the primary: a commit waits for its flush (synchronous) or not (asynchronous). */
export type StandbyMode = 'synchronous' | 'asynchronous';

/** The controllers' store on its lab hosts: a primary and, optionally, a streaming standby on another host. */
export interface StoreHost {
  /** The host the primary runs on now (after a failover, the old standby's). */
  readonly host: string;
  /** The host of the standby, if there is one now. */
  readonly standbyHost: string | undefined;
  /** The URL the controllers use, across the lab's network, by the service name. */
  url: string;
  /** The URL through the current primary's Unix socket, for the harness: no partition reaches it. */
  readonly socketUrl: string;
  /** Starts the primary again (after stop()). */
  start(): Promise<void>;
  /** `pg_ctl stop -m immediate` of the primary: the server goes away at once, as a store host lost (crash recovery on start). */
  stop(): Promise<void>;
  /** Commits wait for the standby's flush (synchronous) or not; reloaded on the primary at once. */
  setStandbyMode(mode: StandbyMode): Promise<void>;
  /**
   * The primary lost (stopped at once), the standby promoted (pg_ctl promote) and the service name
   * moved to it, as an HA manager does. Without a standby to wait for, the new primary commits alone.
   */
  failover(): Promise<void>;
  /** A new standby of the current primary on the other store host (pg_basebackup), following in `mode`. */
  rebuildStandby(mode: StandbyMode): Promise<void>;
  /** Stops every node. */
  close(): Promise<void>;
}

interface StoreNode {
  host: string;
  dir: string;
  dataDir: string;
  logFile: string;
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** What every node's postgresql.conf says, appended last (the last setting wins). */
function nodeSettings(dir: string): string {
  return [
    '',
    '# CloudPhoenix multi-host lab: a store node',
    // '*': the service name may point here after a failover; the node's host has one address.
    "listen_addresses = '*'",
    `port = ${STORE_PORT}`,
    `unix_socket_directories = '${dir}'`,
    'max_connections = 100',
    'shared_buffers = 32MB',
    // A controller cut off mid-transaction leaves a backend waiting for it; TCP keepalives
    // (the server's, not only the client's) end it, so its row locks do not outlive the partition.
    'tcp_keepalives_idle = 2',
    'tcp_keepalives_interval = 1',
    'tcp_keepalives_count = 3',
    'synchronous_commit = on',
    '',
  ].join('\n');
}

async function sql(socketDir: string, ...statements: string[]): Promise<void> {
  const client = new pg.Client({
    connectionString: `postgres://postgres@/postgres?host=${encodeURIComponent(socketDir)}&port=${STORE_PORT}`,
  });
  await client.connect();
  try {
    // One by one: ALTER SYSTEM refuses to run inside a transaction block, which several statements in one query are.
    for (const text of statements) await client.query(text);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The store on `hosts[0]`, and when a second host is given, a streaming standby of it there in
 * `mode` (synchronous_standby_names names it and synchronous_commit is on, or it is left out).
 */
export async function storeHost(
  fabric: Fabric,
  hosts: string[],
  dir: string,
  mode: StandbyMode = 'synchronous',
): Promise<StoreHost> {
  const binDir = findPostgresBin();
  const nodes: StoreNode[] = hosts.map((host) => {
    const nodeDir = join(dir, host);
    return { host, dir: nodeDir, dataDir: join(nodeDir, 'data'), logFile: join(nodeDir, 'postgres.log') };
  });
  let primary = nodes[0];
  let standby: StoreNode | undefined;
  const other = () => nodes.find((n) => n !== primary);

  const pgCtl = (node: StoreNode, args: string[]) =>
    fabric.exec(node.host, ['runuser', '-u', 'postgres', '--', join(binDir, 'pg_ctl'), ...args]);
  const startNode = (node: StoreNode) =>
    pgCtl(node, ['start', '-D', node.dataDir, '-l', node.logFile, '-w', '-t', '60']);
  const stopNode = async (node: StoreNode) => {
    const pid = postmasterPid(node.dataDir);
    if (pid === undefined || !isRunning(pid)) return;
    await runPg(binDir, 'pg_ctl', ['stop', '-D', node.dataDir, '-m', 'immediate', '-w', '-t', '60']).catch(
      () => undefined,
    );
    await waitUntil(() => !isRunning(pid), 30_000, `the store's PostgreSQL ${pid} to exit`, 50);
  };
  const setMode = (m: StandbyMode | 'alone') =>
    sql(
      primary.dir,
      `ALTER SYSTEM SET synchronous_standby_names = '${m === 'synchronous' ? STANDBY_APPLICATION : ''}'`,
      'SELECT pg_reload_conf()',
    );

  const makeStandby = async (node: StoreNode, m: StandbyMode) => {
    await stopNode(node);
    execFileSync('rm', ['-rf', node.dir]);
    prepareBaseDir(node.dir);
    await fabric.exec(node.host, [
      'runuser',
      '-u',
      'postgres',
      '--',
      join(binDir, 'pg_basebackup'),
      '-h',
      fabric.address(primary.host),
      '-p',
      String(STORE_PORT),
      '-U',
      'postgres',
      '-D',
      node.dataDir,
      '-X',
      'stream',
      '-c',
      'fast',
    ]);
    // The primary's configuration came along: this node's own socket directory, and whom it follows.
    appendFileSync(
      join(node.dataDir, 'postgresql.conf'),
      nodeSettings(node.dir) +
        `primary_conninfo = 'host=${fabric.address(primary.host)} port=${STORE_PORT} user=postgres application_name=${STANDBY_APPLICATION}'\n`,
    );
    writeFileSync(join(node.dataDir, 'standby.signal'), '');
    const { uid, gid } = statSync(node.dataDir);
    chownSync(join(node.dataDir, 'standby.signal'), uid, gid);
    await startNode(node);
    standby = node;
    await setMode(m);
    // Following once the primary sees it streaming (and, synchronous, as its sync standby).
    await waitUntil(
      async () => {
        const client = new pg.Client({
          connectionString: `postgres://postgres@/postgres?host=${encodeURIComponent(primary.dir)}&port=${STORE_PORT}`,
        });
        try {
          await client.connect();
          const r = await client.query<{ state: string; sync_state: string }>(
            'SELECT state, sync_state FROM pg_stat_replication WHERE application_name = $1',
            [STANDBY_APPLICATION],
          );
          const row = r.rows[0];
          return row?.state === 'streaming' && (m === 'asynchronous' || row.sync_state === 'sync');
        } catch {
          return false;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      60_000,
      `the standby on ${node.host} to stream from ${primary.host}`,
      100,
    );
  };

  // Registered first: a lab that fails while starting must not leave a PostgreSQL behind.
  for (const node of nodes)
    fabric.interruptCleanups.push(() =>
      execFileSync(
        'runuser',
        ['-u', 'postgres', '--', join(binDir, 'pg_ctl'), 'stop', '-D', node.dataDir, '-m', 'immediate'],
        { stdio: 'ignore' },
      ),
    );
  prepareBaseDir(primary.dir);
  await runPg(binDir, 'initdb', [
    '-D',
    primary.dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-instructions',
  ]);
  appendFileSync(join(primary.dataDir, 'postgresql.conf'), nodeSettings(primary.dir));
  const hba = join(primary.dataDir, 'pg_hba.conf');
  writeFileSync(
    hba,
    [
      'local all all trust',
      'host all all 198.18.0.0/24 trust',
      'host replication all 198.18.0.0/24 trust',
      '',
    ].join('\n'),
  );
  const { uid, gid } = statSync(primary.dataDir);
  chownSync(hba, uid, gid);
  fabric.setName(STORE_NAME, primary.host);
  const socketUrlOf = (node: StoreNode) =>
    `postgres://postgres@/postgres?host=${encodeURIComponent(node.dir)}&port=${STORE_PORT}`;

  const store: StoreHost = {
    get host() {
      return primary.host;
    },
    get standbyHost() {
      return standby?.host;
    },
    url: `postgres://postgres@${STORE_NAME}:${STORE_PORT}/postgres`,
    get socketUrl() {
      return socketUrlOf(primary);
    },
    start: () => startNode(primary).then(() => undefined),
    stop: () => stopNode(primary),
    setStandbyMode: (m) => setMode(m),
    async failover() {
      if (!standby) throw new Error('the store has no standby to fail over to');
      await stopNode(primary);
      await pgCtl(standby, ['promote', '-D', standby.dataDir, '-w', '-t', '60']);
      primary = standby;
      standby = undefined;
      // A primary alone must not wait for a standby that is not there (its own settings came from the old primary).
      await setMode('alone');
      fabric.setName(STORE_NAME, primary.host);
    },
    async rebuildStandby(m) {
      const node = other();
      if (!node) throw new Error('the store has one host only: no standby can be built');
      await makeStandby(node, m);
    },
    async close() {
      for (const node of nodes) await stopNode(node);
    },
  };
  await startNode(primary);
  if (other()) await makeStandby(other()!, mode);
  return store;
}
