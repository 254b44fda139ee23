import { execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPostgresBin, prepareBaseDir, runPg } from '../postgres.js';
import { isRunning, waitUntil } from '../process.js';
import type { Fabric } from './net.js';

/**
 * PostgreSQL's own port. Each store host is a network namespace of its own, so nothing else can
 * hold the port there; the Unix socket (which the harness reads the store through, whatever the
 * partitions) is in the store's own directory.
 */
export const STORE_PORT = 5432;

/** The controllers' store on its own lab host: initdb'd there, started and stopped by pg_ctl inside its namespace. */
export interface StoreHost {
  host: string;
  dir: string;
  /** The URL the controllers use, across the lab's network. */
  url: string;
  /** The URL through the Unix socket, for the harness: no partition reaches it. */
  socketUrl: string;
  start(): Promise<void>;
  /** `pg_ctl stop -m immediate`: the server goes away at once, as a store host lost (crash recovery on start). */
  stop(): Promise<void>;
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function storeHost(fabric: Fabric, host: string, dir: string): Promise<StoreHost> {
  const binDir = findPostgresBin();
  prepareBaseDir(dir);
  const dataDir = join(dir, 'data');
  await runPg(binDir, 'initdb', [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-instructions',
  ]);
  appendFileSync(
    join(dataDir, 'postgresql.conf'),
    [
      '',
      '# CloudPhoenix multi-host lab: the store host',
      `listen_addresses = '${fabric.address(host)}'`,
      `port = ${STORE_PORT}`,
      `unix_socket_directories = '${dir}'`,
      'max_connections = 100',
      'shared_buffers = 32MB',
      // A controller cut off mid-transaction leaves a backend waiting for it; TCP keepalives
      // (the server's, not only the client's) end it, so its row locks do not outlive the partition.
      'tcp_keepalives_idle = 2',
      'tcp_keepalives_interval = 1',
      'tcp_keepalives_count = 3',
      '',
    ].join('\n'),
  );
  const hba = join(dataDir, 'pg_hba.conf');
  writeFileSync(hba, ['local all all trust', 'host all all 198.18.0.0/24 trust', ''].join('\n'));
  const { uid, gid } = statSync(dataDir);
  chownSync(hba, uid, gid);
  const logFile = join(dir, 'postgres.log');
  const store: StoreHost = {
    host,
    dir,
    url: `postgres://postgres@${fabric.address(host)}:${STORE_PORT}/postgres`,
    socketUrl: `postgres://postgres@/postgres?host=${encodeURIComponent(dir)}&port=${STORE_PORT}`,
    async start() {
      await fabric.exec(host, [
        'runuser',
        '-u',
        'postgres',
        '--',
        join(binDir, 'pg_ctl'),
        'start',
        '-D',
        dataDir,
        '-l',
        logFile,
        '-w',
        '-t',
        '60',
      ]);
    },
    async stop() {
      const pid = postmasterPid(dataDir);
      if (pid === undefined || !isRunning(pid)) return;
      await runPg(binDir, 'pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '60']).catch(
        () => undefined,
      );
      await waitUntil(() => !isRunning(pid), 30_000, `the store's PostgreSQL ${pid} to exit`, 50);
    },
  };
  await store.start();
  fabric.interruptCleanups.push(() =>
    execFileSync(
      'runuser',
      ['-u', 'postgres', '--', join(binDir, 'pg_ctl'), 'stop', '-D', dataDir, '-m', 'immediate'],
      {
        stdio: 'ignore',
      },
    ),
  );
  return store;
}
