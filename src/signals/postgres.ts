import type pg from 'pg';
import type { Signal, SignalStatus } from '../core/index.js';
import type { ProbeConfig } from '../config/sections/probes.js';
import { PgConnectError, withClient } from '../pg/index.js';
import { describeError, ms, round, type Probe, type ProbeRunContext } from './probe.js';

interface StandbyView {
  in_recovery: boolean;
  seconds: number | null;
  receive_lsn: string | null;
  replay_lsn: string | null;
  receiver_status: string | null;
  /** Not in recovery: the logical subscriptions this server applies (empty when it has none). */
  subscriptions: SubscriptionRow[];
}

/** One subscription as its subscriber sees it (pg_subscription, pg_stat_subscription, …_stats). */
interface SubscriptionRow {
  subname: string;
  enabled: boolean;
  /** The apply worker's pid; null when it is not running (publisher unreachable, disabled, failing). */
  pid: number | null;
  received_lsn: string | null;
  latest_end_lsn: string | null;
  /** Seconds since the subscriber last heard from its publisher (a change or a keepalive). */
  since_contact_s: number | null;
  /** Seconds since the publisher's clock at the last position the subscriber confirmed applied. */
  since_applied_s: number | null;
  apply_errors: number | null;
}

interface ReplicaRow {
  application_name: string;
  client_addr: string | null;
  state: string;
  bytes: number | null;
  replay_lag_s: number | null;
}

/** A logical replication slot on the publisher: what its subscriber has confirmed it applied. */
interface SlotRow {
  slot_name: string;
  active: boolean;
  bytes: number | null;
}

interface PrimaryView {
  in_recovery: boolean;
  replicas: ReplicaRow[];
  slots: SlotRow[];
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

/** One connection for one reading: bounded by the probe's timeout and ended when the probe is abandoned. */
function onProbeClient<T>(
  connectionString: string,
  role: 'standby' | 'primary',
  timeout_s: number,
  context: ProbeRunContext,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  return withClient(connectionString, role, work, {
    timeoutMs: ms(timeout_s),
    queryTimeoutMs: ms(timeout_s),
    applicationName: 'cloudphoenix-probe',
    signal: context.signal,
  });
}

/**
 * The subscriptions of a logical subscriber. pg_subscription is a shared catalog, so any database shows
 * them all; pg_stat_subscription_stats (apply errors) exists from PostgreSQL 15, leader_pid (parallel
 * apply workers, to leave out) from 16. Readable by a non-superuser (subconninfo, which holds secrets,
 * is not selected).
 */
export async function readSubscriptions(client: pg.Client): Promise<SubscriptionRow[]> {
  const version = Number((await client.query('SHOW server_version_num')).rows[0].server_version_num);
  const stats = version >= 150000;
  const worker = version >= 160000 ? 'st.relid IS NULL AND st.leader_pid IS NULL' : 'st.relid IS NULL';
  const { rows } = await client
    .query(
      `
    SELECT s.subname, s.subenabled AS enabled, st.pid,
           st.received_lsn::text AS received_lsn, st.latest_end_lsn::text AS latest_end_lsn,
           extract(epoch FROM now() - st.last_msg_receipt_time)::float8 AS since_contact_s,
           extract(epoch FROM now() - st.latest_end_time)::float8 AS since_applied_s,
           ${stats ? 'ss.apply_error_count::int' : 'NULL::int'} AS apply_errors
      FROM pg_subscription s
      LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND ${worker}
      ${stats ? 'LEFT JOIN pg_stat_subscription_stats ss ON ss.subid = s.oid' : ''}
     ORDER BY s.subname`,
    )
    .catch((error: { code?: string }) => {
      if (error.code !== '42501') throw error;
      // PostgreSQL 13 and 14 keep pg_subscription.oid from non-superusers (no join by it); its statistics view is everyone's
      // (whether a subscription without a worker is disabled cannot be told from it).
      return client.query(`
      SELECT subname, pid IS NOT NULL AS enabled, pid, received_lsn::text AS received_lsn,
             latest_end_lsn::text AS latest_end_lsn,
             extract(epoch FROM now() - last_msg_receipt_time)::float8 AS since_contact_s,
             extract(epoch FROM now() - latest_end_time)::float8 AS since_applied_s, NULL::int AS apply_errors
        FROM pg_stat_subscription WHERE relid IS NULL ORDER BY subname`);
    });
  return rows as SubscriptionRow[];
}

async function readStandby(client: pg.Client): Promise<StandbyView> {
  const { rows } = await client.query(`
    SELECT pg_is_in_recovery() AS in_recovery,
           extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS seconds,
           pg_last_wal_receive_lsn()::text AS receive_lsn,
           pg_last_wal_replay_lsn()::text AS replay_lsn,
           (SELECT status FROM pg_stat_wal_receiver LIMIT 1) AS receiver_status`);
  const view = rows[0] as StandbyView;
  view.subscriptions = view.in_recovery ? [] : await readSubscriptions(client);
  return view;
}

async function readPrimary(client: pg.Client, standbyReplayLsn: string | null): Promise<PrimaryView> {
  const recovery = await client.query('SELECT pg_is_in_recovery() AS in_recovery');
  const in_recovery = Boolean(recovery.rows[0]?.in_recovery);
  if (in_recovery) return { in_recovery, replicas: [], slots: [] };
  const { rows } = await client.query(`
    SELECT application_name, client_addr::text AS client_addr, state,
           pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS bytes,
           extract(epoch FROM replay_lag)::float8 AS replay_lag_s
      FROM pg_stat_replication`);
  // A logical subscriber's position: the WAL its slot still holds for it, up to the current position.
  const slots = await client.query(`
    SELECT slot_name, active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8 AS bytes
      FROM pg_replication_slots WHERE slot_type = 'logical'`);
  const view: PrimaryView = { in_recovery, replicas: rows as ReplicaRow[], slots: slots.rows as SlotRow[] };
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
    // The note names the server already: the driver's own reason is enough.
    (error: unknown) => ({ error: describeError(error instanceof PgConnectError ? error.cause : error) }),
  );
}

const ORDER: SignalStatus[] = ['unknown', 'ok', 'degraded', 'error'];

/** What one probe run found, worsened step by step; notes become the detail. */
class Findings {
  status: SignalStatus = 'ok';
  readonly notes: string[] = [];
  readonly signal: Signal = { status: 'ok' };
  /** Seconds of writes a failover now would lose, where it can be worked out. */
  dataBehind?: number;

  worse(status: SignalStatus, note?: string): void {
    if (ORDER.indexOf(status) > ORDER.indexOf(this.status)) this.status = status;
    if (note) this.notes.push(note);
  }
}

/** A physical standby, as it sees itself. */
function assessStandby(f: Findings, s: StandbyView, where: string): void {
  if (!s.in_recovery)
    f.worse(
      'error',
      `standby ${where} is not in recovery and has no subscription (promoted, or not a replica)`,
    );
  if (s.seconds !== null) f.signal.seconds = round(Math.max(0, s.seconds), 3);
  if (s.receiver_status) f.signal.receiver = s.receiver_status;
}

/** A logical subscriber, as it sees itself: every subscription enabled, its apply worker running. */
function assessSubscriber(f: Findings, subs: SubscriptionRow[], where: string): void {
  f.signal.subscriptions = subs.length;
  for (const sub of subs) {
    if (!sub.enabled) f.worse('error', `subscription ${sub.subname} on ${where} is disabled`);
    else if (sub.pid === null)
      f.worse(
        'error',
        `subscription ${sub.subname} on ${where} has no apply worker running (publisher unreachable or apply failing; see its log)`,
      );
    if (sub.apply_errors)
      f.notes.push(
        `subscription ${sub.subname}: ${sub.apply_errors} apply errors since its stats were reset`,
      );
  }
  const contact = subs.map((x) => x.since_contact_s).filter((v): v is number => v !== null);
  if (contact.length) f.signal.seconds = round(Math.max(0, ...contact), 3);
  const applied = subs.map((x) => x.since_applied_s).filter((v): v is number => v !== null);
  if (applied.length) f.signal.since_applied_s = round(Math.max(0, ...applied), 3);
  const lsn = subs.find((x) => x.latest_end_lsn)?.latest_end_lsn;
  if (lsn) f.signal.applied_lsn = lsn;
}

/** The primary of a physical standby: pg_stat_replication, bytes between its WAL and the standby's replay. */
function assessPhysicalPrimary(f: Findings, p: PrimaryView): void {
  f.signal.replicas = p.replicas.length;
  if (p.replicas.length === 0)
    f.worse('error', 'no standby is connected to the primary (pg_stat_replication is empty)');
  const worst = p.replicas.reduce<ReplicaRow | undefined>(
    (acc, r) => (acc === undefined || (r.bytes ?? 0) > (acc.bytes ?? 0) ? r : acc),
    undefined,
  );
  const bytes = p.bytes_behind_standby ?? worst?.bytes ?? undefined;
  if (bytes !== undefined && bytes !== null) f.signal.bytes = Math.max(0, Math.round(bytes));
  behindFromReplicas(f, p.replicas);
}

/** The publisher of a logical subscriber: its logical slots hold what the subscriber has not confirmed. */
function assessPublisher(f: Findings, p: PrimaryView): void {
  f.signal.slots = p.slots.length;
  if (p.slots.length === 0)
    f.worse('error', 'the publisher has no logical replication slot (no subscriber is set up)');
  for (const slot of p.slots)
    if (!slot.active)
      f.worse('error', `logical slot ${slot.slot_name} on the publisher has no subscriber connected`);
  const bytes = p.slots.map((s) => s.bytes).filter((v): v is number => v !== null);
  if (bytes.length) f.signal.bytes = Math.max(0, Math.round(Math.max(...bytes)));
  behindFromReplicas(f, p.replicas);
}

function behindFromReplicas(f: Findings, replicas: ReplicaRow[]): void {
  if (f.signal.bytes === 0) f.dataBehind = 0;
  else {
    const lags = replicas.map((r) => r.replay_lag_s).filter((v): v is number => v !== null);
    if (lags.length) f.dataBehind = Math.max(...lags);
  }
  if (f.signal.seconds === undefined) {
    const lags = replicas.map((r) => r.replay_lag_s ?? 0);
    if (lags.length) f.signal.seconds = round(Math.max(...lags), 3);
  }
}

/** Lag (what a failover would lose if known, else time since the replica last heard) and bytes vs thresholds. */
function applyThresholds(f: Findings, config: ProbeConfig): void {
  const degradedLag = config.degraded_lag ?? 30;
  const errorLag = config.error_lag ?? 300;
  if (f.dataBehind !== undefined) f.signal.data_behind_s = round(f.dataBehind, 3);
  const lag = f.dataBehind ?? (f.signal.seconds as number | undefined);
  if (lag !== undefined && lag >= degradedLag) {
    f.worse(lag >= errorLag ? 'error' : 'degraded');
    f.notes.push(`replica ${round(lag)}s behind (degraded at ${degradedLag}s, error at ${errorLag}s)`);
  }
  const bytes = f.signal.bytes as number | undefined;
  if (bytes !== undefined) {
    if (config.error_bytes !== undefined && bytes >= config.error_bytes) f.worse('error');
    else if (config.degraded_bytes !== undefined && bytes >= config.degraded_bytes) f.worse('degraded');
  }
}

type Settled<T> = { value?: T; error?: string } | undefined;

/** Joins both ends' views into one signal; `logical` when the replica applies subscriptions. */
export function assessReplication(
  config: ProbeConfig,
  standby: Settled<StandbyView>,
  primary: Settled<PrimaryView>,
): Signal {
  const f = new Findings();
  if (standby?.error) f.notes.push(`standby ${hostOf(config.standby!)}: ${standby.error}`);
  if (primary?.error) f.notes.push(`primary ${hostOf(config.primary!)}: ${primary.error}`);
  if (!standby?.value && !primary?.value) return { status: 'unknown', detail: f.notes.join('; ') };
  const s = standby?.value;
  const p = primary?.value;
  const logical = (s?.subscriptions.length ?? 0) > 0 || (!s && (p?.slots.length ?? 0) > 0);
  f.signal.replication = logical ? 'logical' : 'physical';
  if (s && logical) assessSubscriber(f, s.subscriptions, hostOf(config.standby!));
  else if (s) assessStandby(f, s, hostOf(config.standby!));
  if (p?.in_recovery)
    f.worse('error', `primary ${hostOf(config.primary!)} is in recovery (it is a standby now)`);
  else if (p && logical) assessPublisher(f, p);
  else if (p) assessPhysicalPrimary(f, p);
  if (
    !p &&
    s &&
    !logical &&
    s.receiver_status === 'streaming' &&
    s.receive_lsn !== null &&
    s.receive_lsn === s.replay_lsn
  )
    // Only the standby answered: streaming and everything received is applied, so as far as it knows nothing is behind.
    f.dataBehind = 0;
  if (!p && config.primary) {
    // The primary is configured and does not answer, and that is itself not ok (issue 11); unless the
    // standby vouches for being in step, what it lacks cannot be known from here.
    f.worse('degraded', 'the primary does not answer');
    f.signal.primary_answers = false;
    if (f.dataBehind === undefined) f.signal.data_at_risk = 'unknown';
  }
  applyThresholds(f, config);
  f.signal.status = f.status;
  if (f.notes.length) f.signal.detail = f.notes.join('; ');
  return f.signal;
}

/**
 * `postgres_replication`: how far the DR database is behind, measured from both ends where they answer.
 * A physical standby: `now() - pg_last_xact_replay_timestamp()` and the primary's `pg_stat_replication`
 * (bytes via `pg_wal_lsn_diff`). A logical subscriber: `pg_stat_subscription` (apply worker, last contact,
 * last confirmed position) and `pg_stat_subscription_stats`, and on the publisher the logical slots'
 * `confirmed_flush_lsn`. `seconds` grows on an idle or unreachable primary, so the status follows
 * `data_behind_s` (what a failover now would lose) wherever it can be worked out; where it cannot, the
 * signal says `data_at_risk: unknown` rather than guessing.
 */
export function postgresReplicationProbe(name: string, config: ProbeConfig, timeout_s: number): Probe {
  const connectTimeout = Math.max(0.1, timeout_s * 0.9);
  return {
    name,
    type: 'postgres_replication',
    timeout_s,
    async prepare() {
      await import('pg');
    },
    async run(context) {
      let standby: Settled<StandbyView>;
      if (config.standby)
        standby = await context.limit(() =>
          settle(onProbeClient(config.standby!, 'standby', connectTimeout, context, readStandby)),
        );
      let primary: Settled<PrimaryView>;
      if (config.primary)
        primary = await context.limit(() =>
          settle(
            onProbeClient(config.primary!, 'primary', connectTimeout, context, (c) =>
              readPrimary(c, standby?.value?.in_recovery ? (standby.value.replay_lsn ?? null) : null),
            ),
          ),
        );
      return assessReplication(config, standby, primary);
    },
  };
}
