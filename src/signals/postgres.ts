import type pg from 'pg';
import type { Signal, SignalStatus } from '../core/index.js';
import type { ProbeConfig } from '../config/sections/probes.js';
import { describeError, ms, round, type Probe, type ProbeRunContext } from './probe.js';

interface StandbyView {
  in_recovery: boolean;
  seconds: number | null;
  receive_lsn: string | null;
  replay_lsn: string | null;
  receiver_status: string | null;
}

interface ReplicaRow {
  application_name: string;
  client_addr: string | null;
  state: string;
  bytes: number | null;
  replay_lag_s: number | null;
}

interface PrimaryView {
  in_recovery: boolean;
  replicas: ReplicaRow[];
  /** Primary's current WAL position minus the standby's replay position, when both answered. */
  bytes_behind_standby?: number;
}

function hostOf(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    return `${url.hostname}:${url.port || 5432}`;
  } catch {
    return 'the database';
  }
}

async function withClient<T>(
  connectionString: string,
  timeout_s: number,
  context: ProbeRunContext,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client({
    connectionString,
    connectionTimeoutMillis: ms(timeout_s),
    query_timeout: ms(timeout_s),
    statement_timeout: ms(timeout_s),
    application_name: 'cloudphoenix-probe',
  });
  // Garbage on the wire or a server that drops us must not become an uncaught 'error' event.
  client.on('error', () => undefined);
  const onAbort = () => void client.end().catch(() => undefined);
  context.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await client.connect();
    return await work(client);
  } finally {
    context.signal.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
  }
}

async function readStandby(client: pg.Client): Promise<StandbyView> {
  const { rows } = await client.query(`
    SELECT pg_is_in_recovery() AS in_recovery,
           extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS seconds,
           pg_last_wal_receive_lsn()::text AS receive_lsn,
           pg_last_wal_replay_lsn()::text AS replay_lsn,
           (SELECT status FROM pg_stat_wal_receiver LIMIT 1) AS receiver_status`);
  return rows[0] as StandbyView;
}

async function readPrimary(client: pg.Client, standbyReplayLsn: string | null): Promise<PrimaryView> {
  const recovery = await client.query('SELECT pg_is_in_recovery() AS in_recovery');
  const in_recovery = Boolean(recovery.rows[0]?.in_recovery);
  if (in_recovery) return { in_recovery, replicas: [] };
  const { rows } = await client.query(`
    SELECT application_name, client_addr::text AS client_addr, state,
           pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS bytes,
           extract(epoch FROM replay_lag)::float8 AS replay_lag_s
      FROM pg_stat_replication`);
  const view: PrimaryView = { in_recovery, replicas: rows as ReplicaRow[] };
  if (standbyReplayLsn) {
    const diff = await client.query(
      'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8 AS bytes',
      [standbyReplayLsn],
    );
    view.bytes_behind_standby = Math.max(0, Number(diff.rows[0]?.bytes ?? 0));
  }
  return view;
}

function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: string }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error: describeError(error) }),
  );
}

/**
 * `postgres_replication`: replication lag from the standby
 * (`now() - pg_last_xact_replay_timestamp()`) and/or the primary
 * (`pg_stat_replication`, bytes via `pg_wal_lsn_diff`). `seconds` grows on an
 * idle or unreachable primary, so the status follows `data_behind_s` (what a
 * failover now would lose) wherever it can be worked out.
 */
export function postgresReplicationProbe(name: string, config: ProbeConfig, timeout_s: number): Probe {
  const degradedLag = config.degraded_lag ?? 30;
  const errorLag = config.error_lag ?? 300;
  const connectTimeout = Math.max(0.1, timeout_s * 0.9);
  return {
    name,
    type: 'postgres_replication',
    timeout_s,
    async prepare() {
      await import('pg');
    },
    async run(context) {
      const notes: string[] = [];
      let standby: { value?: StandbyView; error?: string } | undefined;
      if (config.standby)
        standby = await context.limit(() =>
          settle(withClient(config.standby!, connectTimeout, context, readStandby)),
        );
      let primary: { value?: PrimaryView; error?: string } | undefined;
      if (config.primary)
        primary = await context.limit(() =>
          settle(
            withClient(config.primary!, connectTimeout, context, (c) =>
              readPrimary(c, standby?.value?.replay_lsn ?? null),
            ),
          ),
        );
      if (standby?.error) notes.push(`standby ${hostOf(config.standby!)}: ${standby.error}`);
      if (primary?.error) notes.push(`primary ${hostOf(config.primary!)}: ${primary.error}`);
      if (!standby?.value && !primary?.value) return { status: 'unknown', detail: notes.join('; ') };

      const signal: Signal = { status: 'ok' };
      let status: SignalStatus = 'ok';
      const worse = (s: SignalStatus) => {
        const order: SignalStatus[] = ['unknown', 'ok', 'degraded', 'error'];
        if (order.indexOf(s) > order.indexOf(status)) status = s;
      };

      let dataBehind: number | undefined;
      const s = standby?.value;
      if (s) {
        if (!s.in_recovery) {
          worse('error');
          notes.push(`standby ${hostOf(config.standby!)} is not in recovery (promoted, or not a standby)`);
        }
        if (s.seconds !== null) signal.seconds = round(Math.max(0, s.seconds), 3);
        if (s.receiver_status) signal.receiver = s.receiver_status;
      }
      const p = primary?.value;
      if (p) {
        if (p.in_recovery) {
          worse('error');
          notes.push(`primary ${hostOf(config.primary!)} is in recovery (it is a standby now)`);
        } else {
          signal.replicas = p.replicas.length;
          if (p.replicas.length === 0) {
            worse('error');
            notes.push('no standby is connected to the primary (pg_stat_replication is empty)');
          }
          const worst = p.replicas.reduce<ReplicaRow | undefined>(
            (acc, r) => (acc === undefined || (r.bytes ?? 0) > (acc.bytes ?? 0) ? r : acc),
            undefined,
          );
          const bytes = p.bytes_behind_standby ?? worst?.bytes ?? undefined;
          if (bytes !== undefined && bytes !== null) signal.bytes = Math.max(0, Math.round(bytes));
          if (signal.bytes === 0) dataBehind = 0;
          else {
            const lags = p.replicas.map((r) => r.replay_lag_s).filter((v): v is number => v !== null);
            if (lags.length) dataBehind = Math.max(...lags);
          }
          if (signal.seconds === undefined) {
            const lags = p.replicas.map((r) => r.replay_lag_s ?? 0);
            if (lags.length) signal.seconds = round(Math.max(...lags), 3);
          }
        }
      } else if (
        s &&
        s.receiver_status === 'streaming' &&
        s.receive_lsn !== null &&
        s.receive_lsn === s.replay_lsn
      ) {
        // Only the standby answered: streaming and everything received is applied, so as far as it knows nothing is behind.
        dataBehind = 0;
      }
      if (dataBehind !== undefined) signal.data_behind_s = round(dataBehind, 3);

      const lag = dataBehind ?? (signal.seconds as number | undefined);
      if (lag !== undefined) {
        if (lag >= errorLag) worse('error');
        else if (lag >= degradedLag) worse('degraded');
        if (lag >= degradedLag)
          notes.push(`replica ${round(lag)}s behind (degraded at ${degradedLag}s, error at ${errorLag}s)`);
      }
      const bytes = signal.bytes as number | undefined;
      if (bytes !== undefined) {
        if (config.error_bytes !== undefined && bytes >= config.error_bytes) worse('error');
        else if (config.degraded_bytes !== undefined && bytes >= config.degraded_bytes) worse('degraded');
      }
      signal.status = status;
      if (notes.length) signal.detail = notes.join('; ');
      return signal;
    },
  };
}
