import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { BUILT_CLI } from './paths.js';

export type ClusterStore =
  { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema: string };

/** The PostgreSQL the benches' shared stores live on (a scratch schema each, dropped after). */
export const BENCH_PG_URL = process.env.PHOENIX_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A store for the controllers of one cluster, in `dir`: the configuration's `store` section and what
 * ControllerCluster reads. PostgreSQL's URL stays out of the file (`${PHX_PG_URL}`, which `start` sets).
 */
export function clusterStore(
  kind: 'sqlite' | 'postgres',
  dir: string,
  ttl_s: number,
): { section: Record<string, unknown>; store: ClusterStore } {
  const path = join(dir, 'phoenix.db');
  if (kind === 'sqlite') return { section: { path, lease_ttl: `${ttl_s}s` }, store: { kind, path } };
  const schema = `phoenix_bench_${randomBytes(5).toString('hex')}`;
  return {
    section: { driver: 'postgres', url: '${PHX_PG_URL}', schema, path, lease_ttl: `${ttl_s}s` },
    store: { kind, url: BENCH_PG_URL, schema },
  };
}

/**
 * Several `phoenix run` processes (the built product) on one store, for the leader-takeover
 * benchmarks: it starts leaders and standbys, SIGKILLs them, and reads the shared store as
 * another process would while the controllers write.
 */
export class ControllerCluster {
  readonly children = new Map<number, { child: ChildProcess; output: string }>();
  private readonly pool?: pg.Pool;
  private started = 0;

  constructor(
    private readonly config: string,
    private readonly store: ClusterStore,
    /**
     * Each controller as on a host of its own (PHOENIX_HOST_ID ctl-1, ctl-2, …): no controller can tell
     * by pid that another died, only the lease's expiry and the run's fencing token tell, as across
     * machines sharing a PostgreSQL store.
     */
    private readonly distinctHosts = false,
  ) {
    if (!existsSync(BUILT_CLI)) {
      console.error(`${BUILT_CLI} is missing; build first: npm run build`);
      process.exit(2);
    }
    if (store.kind === 'postgres') {
      this.pool = new pg.Pool({
        connectionString: store.url,
        max: 1,
        options: `-c search_path="${store.schema}"`,
      });
      this.pool.on('error', () => undefined);
    }
  }

  start(standby: boolean, env: NodeJS.ProcessEnv = process.env): number {
    this.started += 1;
    env = {
      ...env,
      ...(this.store.kind === 'postgres' && { PHX_PG_URL: this.store.url }),
      ...(this.distinctHosts && { PHOENIX_HOST_ID: `ctl-${this.started}` }),
    };
    const child = spawn(
      process.execPath,
      [BUILT_CLI, 'run', '--config', this.config, '--log-format', 'json', ...(standby ? ['--standby'] : [])],
      { stdio: ['ignore', 'pipe', 'pipe'], env },
    );
    const entry = { child, output: '' };
    child.stdout!.on('data', (d) => (entry.output += d));
    child.stderr!.on('data', (d) => (entry.output += d));
    this.children.set(child.pid!, entry);
    return child.pid!;
  }

  /** True once the controller `pid` said it follows another one. */
  standbyReady(pid: number): boolean {
    return /standby: another controller leads/.test(this.children.get(pid)?.output ?? '');
  }

  kill(pid: number): void {
    this.children.get(pid)?.child.kill('SIGKILL');
  }

  /**
   * The rows of a query on the shared store; none while the store does not exist yet. Right after a
   * SIGKILL the store may be busy with SQLite's WAL recovery: the read is tried again for up to 5 s, so
   * a busy moment never reads as an empty journal.
   */
  async rows<T>(sql: string): Promise<T[]> {
    for (let tries = 0; ; tries++) {
      const rows = await this.tryRows<T>(sql);
      if (rows || tries >= 250) return rows ?? [];
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async tryRows<T>(sql: string): Promise<T[] | undefined> {
    if (this.pool) return (await this.pool.query(sql).catch(() => undefined))?.rows as T[] | undefined;
    if (this.store.kind !== 'sqlite' || !existsSync(this.store.path)) return [];
    try {
      // Not readonly: after a SIGKILLed writer, SQLite's WAL index may need a recovery that a read-only
      // connection cannot run (SQLITE_READONLY_RECOVERY).
      const conn = new Database(this.store.path, { fileMustExist: true, timeout: 2000 });
      try {
        return conn.prepare(sql).all() as T[];
      } finally {
        conn.close();
      }
    } catch {
      return undefined;
    }
  }

  async lease(): Promise<{ holder: string; token: number; pid: number } | undefined> {
    const [row] = await this.rows<{ holder: string; token: number }>(
      'SELECT holder, token FROM controller_leases',
    );
    return row ? { ...row, pid: Number(row.holder.split(':')[1]) } : undefined;
  }

  /** What the controllers said, to tell a slow machine from a controller that failed. */
  dumpOutput(): void {
    for (const [pid, { output }] of this.children)
      process.stderr.write(`--- controller ${pid}:\n${output.slice(-1500)}\n`);
  }

  async stop(): Promise<void> {
    for (const { child } of this.children.values()) child.kill('SIGKILL');
    if (this.store.kind === 'postgres')
      await this.pool?.query(`DROP SCHEMA IF EXISTS "${this.store.schema}" CASCADE`).catch(() => undefined);
    await this.pool?.end();
  }
}

/** Polls `condition` every 10 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Median and maximum, rounded to 10 ms. */
export function p50max(values: number[]): { p50: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  return { p50: round(sorted[Math.floor(sorted.length / 2)] ?? 0), max: round(sorted.at(-1) ?? 0) };
}
