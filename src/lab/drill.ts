import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { DrillSession, type SiteTransition } from './drill-session.js';
import {
  labDown,
  labUp,
  resolveAppAnswer,
  type LabPostgresVersions,
  type LabReplication,
  type Progress,
} from './lab.js';
import { LAB_DATABASE } from './names.js';
import { presentKeys } from './items.js';
import { query } from './postgres.js';
import { SCENARIOS, type ScenarioOutcome, type ScenarioStage } from './scenarios/index.js';
import type { FailbackDiagnostics } from './scenarios/types.js';
import type { LabState } from './state.js';

export const DRILL_SCENARIOS = [
  'regional-outage',
  'bad-deploy',
  'control-plane-down',
  'failback',
  'primary-returns',
] as const;
export type DrillScenario = (typeof DRILL_SCENARIOS)[number];

export interface DrillReport extends FailbackDiagnostics {
  scenario: DrillScenario;
  /** How the DR database was kept current: logical subscriber or physical standby. */
  replication: LabReplication;
  /** The servers' own versions (`SHOW server_version`), as the drill found them. */
  postgres_versions: { primary: string | null; dr: string | null };
  /** The writer's rates (rows/s, objects/s) and the 99th percentile latency of its acknowledged writes. */
  write_rate: number;
  object_rate: number;
  write_p99_ms: number | null;
  /** The decision that ended the drill (dr_failover) or the most drastic one taken while it ran. */
  decision: string;
  detect_s: number | null;
  decide_s: number | null;
  /**
   * Outage onset → the DR site serving writable through DNS, as a client sees it: it resolves app.<zone>
   * through the lab's caching resolver (unbound), which keeps the old answer up to its TTL.
   */
  rto_s: number | null;
  /** The same, asking the authoritative server (BIND) directly: rto_s minus what clients' caches add. */
  rto_authoritative_s: number | null;
  /** Rows and objects the primary acknowledged that the DR site does not have. */
  rpo_rows_lost: number | null;
  rpo_objects_lost: number | null;
  /**
   * For each object in rpo_objects_lost, ms from the primary acknowledging it to the fault (negative:
   * acknowledged while the site was being killed), to read beside the copy lag (object_replication):
   * replication to Blob is asynchronous, so objects acknowledged within its backlog are lost with S3.
   */
  rpo_objects_lost_age_ms?: number[];
  stages: Array<{ name: string; seconds: number }>;
  reason: string;
  category: string;
  evidence: Array<{ source: string; weight: number; says: string }>;
  writes: {
    acknowledged_primary: number;
    acknowledged_dr: number;
    failed: number;
    /** Rows a second the primary acknowledged from the writer's start to the fault: the load actually reached. */
    primary_per_s: number | null;
  };
  /** How long after S3 stored an object its event-driven copy landed in Azure Blob, over the drill. */
  object_replication: { copies: number; lag_ms_p50: number | null; lag_ms_max: number | null };
  /** Scenario-specific findings (control-plane-down: which path switched traffic, where Health came from). */
  findings?: Record<string, unknown>;
  /** Scenario failback only: reprotect, then the planned switchover back (see scenarios/failback.ts). */
  reprotect_s?: number | null;
  failback_rto_s?: number | null;
  failback_rto_authoritative_s?: number | null;
  failback_rows_lost?: number | null;
  failback_objects_lost?: number | null;
  forward_objects_s?: number | null;
  /** Scenario failback: every state the site state went through (primary_active → … → primary_active). */
  site_states?: string[];
  /** Scenario failback: the site journal's transitions, each with who or what caused it. */
  site_transitions?: SiteTransition[];
  /** Scenarios failback and primary-returns: the decisions of the cycles that probed and decided for DR while it served, by action. */
  decisions_while_dr_served?: Record<string, number>;
  /** Scenarios primary-returns and failback: the site that serves at the end (site state). */
  active_site?: string;
  /** Scenario primary-returns only (see scenarios/primary-returns.ts). */
  old_primary_fenced?: boolean;
  old_primary_writable_s?: number | null;
  old_primary_writes_after_return?: number;
  old_primary_paged?: boolean;
  interval_s?: number;
  run?: {
    run_id: string;
    status: string;
    rto_s: number | null;
    data_loss_s: number | null;
    error: string | null;
  };
}

export interface DrillOptions {
  scenario: DrillScenario;
  /** The DR database: a logical subscriber (default, as between RDS and Azure) or a streaming standby. */
  replication?: LabReplication;
  /** The PostgreSQL major of each site (RDS and Azure offer 13-17); unset: Debian's. */
  postgres?: LabPostgresVersions;
  /** Rows a second the writer inserts through the app, and how many of them carry an object. */
  write_rate?: number;
  object_rate?: number;
  /** Where the drill's lab lives; removed at the end. */
  dir: string;
  interval_s?: number;
  /** Give up waiting for the failover (or, in bad-deploy, stop watching) after this many seconds. */
  timeout_s?: number;
  /** Bad deploy: how many cycles after the fault to watch the controller decline DR. */
  watch_cycles?: number;
  /** Failback: run the lab's reverse object replicator between reprotect and failback (default true). */
  reverse_replicator?: boolean;
  progress?: Progress;
  /** Keep the lab running afterwards (for inspection). */
  keep?: boolean;
  /** Stops the drill early (Ctrl-C); the lab is still torn down unless `keep`. */
  signal?: AbortSignal;
}

export interface Ack {
  id: string;
  /** The writer's own unique key for the write: what loss is counted by (ids can be handed out twice). */
  client_key: string;
  key: string;
  site: string;
  /** performance.now() when the app acknowledged it. */
  at: number;
}

export interface WriteFailure {
  /** performance.now() when the write failed. */
  at: number;
  /** The address DNS gave for it (undefined: no answer). */
  address?: string;
  /** `HTTP 503: …`, `timeout`, `ECONNREFUSED`, `no DNS answer`. */
  reason: string;
}

/**
 * A client that keeps writing through the app as users would, resolving app.<zone> through the lab DNS:
 * `writeRate` rows a second, `objectRate` of them with an object, spread evenly, as many in flight as
 * the rate needs (up to `maxInFlight`). Only acknowledged writes count.
 */
export class Writer {
  readonly acked: Ack[] = [];
  /** Each write that was not acknowledged: when it ended, the address it was sent to, and why. */
  readonly failures: WriteFailure[] = [];
  readonly latenciesMs: number[] = [];
  /** performance.now() at start(). */
  startedAt = 0;
  failed = 0;
  private stopped = false;
  private loop?: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  private address?: { value: string; at: number };

  constructor(
    private readonly state: LabState,
    private readonly writeRate = 10,
    private readonly objectRate = 5,
    private readonly maxInFlight = 64,
  ) {}

  /**
   * Each question the writer asked the caching resolver: when it was answered (performance.now()), the
   * address and the TTL left on it. A TTL left of t at time a says the resolver filled its cache entry at
   * a - (TTL - t): where a failback's client pause comes from.
   */
  readonly lookups: Array<{ at: number; address?: string; ttl?: number }> = [];

  /** The app's address, asked of the clients' caching resolver at most once a second. */
  private async resolve(): Promise<string | undefined> {
    if (this.address && performance.now() - this.address.at < 1000) return this.address.value;
    const answer = await resolveAppAnswer(this.state, undefined, 'client');
    this.lookups.push({ at: performance.now(), address: answer?.address, ttl: answer?.ttl });
    this.address = answer ? { value: answer.address, at: performance.now() } : undefined;
    return answer?.address;
  }

  private async write(n: number, object: boolean): Promise<void> {
    const started = performance.now();
    let address: string | undefined;
    try {
      address = await this.resolve();
      if (!address) throw new Error('no DNS answer');
      const clientKey = randomUUID();
      const res = await fetch(`http://${address}:${this.state.appPort}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ body: `order ${n}`, object, client_key: clientKey }),
        signal: AbortSignal.timeout(3000),
      });
      if (res.status === 201) {
        const answer = (await res.json()) as Omit<Ack, 'at' | 'client_key'>;
        this.acked.push({ ...answer, client_key: clientKey, at: performance.now() });
        this.latenciesMs.push(performance.now() - started);
      } else {
        this.failed++;
        const reason = `HTTP ${res.status}: ${appError(await res.text())}`;
        this.failures.push({ at: performance.now(), address, reason });
      }
    } catch (error) {
      this.failed++;
      this.address = undefined;
      this.failures.push({ at: performance.now(), address, reason: failureReason(error) });
    }
  }

  start(): void {
    const begun = performance.now();
    this.startedAt = begun;
    let issued = 0;
    this.loop = (async () => {
      while (!this.stopped) {
        const due = Math.floor(((performance.now() - begun) / 1000) * this.writeRate);
        while (issued < due && this.inFlight.size < this.maxInFlight) {
          const object =
            Math.floor(((issued + 1) * this.objectRate) / this.writeRate) >
            Math.floor((issued * this.objectRate) / this.writeRate);
          const p = this.write(++issued, object).finally(() => this.inFlight.delete(p));
          this.inFlight.add(p);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      await Promise.all(this.inFlight);
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** The 99th percentile of acknowledged writes' latency, in ms. */
  p99(): number | null {
    if (this.latenciesMs.length === 0) return null;
    const sorted = [...this.latenciesMs].sort((a, b) => a - b);
    return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] * 10) / 10;
  }
}

/** The app's `error` field of a refusal, or the start of a body that is not the app's JSON. */
function appError(text: string): string {
  try {
    return String((JSON.parse(text) as { error?: unknown }).error ?? '');
  } catch {
    return text.slice(0, 80);
  }
}

/** Why a write's request failed, in a word: the cause's code (ECONNREFUSED, …), `timeout`, or its message. */
function failureReason(error: unknown): string {
  const e = error as Error & { cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout';
  return e.cause?.code ?? e.message;
}

/** Writes a second the primary acknowledged between the writer's start and the fault. */
function achievedRate(writer: Writer, onset: number): number | null {
  const seconds = (onset - writer.startedAt) / 1000;
  if (!(seconds > 0)) return null;
  const before = writer.acked.filter((a) => a.site === 'primary' && a.at <= onset).length;
  return Math.round(before / seconds);
}

/** Counts what the primary acknowledged and the DR site lacks: rows in the promoted DB, blobs in Azure. */
async function countLost(
  state: LabState,
  acked: Ack[],
): Promise<{ rows: number; objects: number; objectAcks: number[] }> {
  const fromPrimary = acked.filter((a) => a.site === 'primary');
  if (fromPrimary.length === 0) return { rows: 0, objects: 0, objectAcks: [] };
  const keys = fromPrimary.map((a) => a.client_key);
  const have = await presentKeys(
    `postgresql://postgres@127.0.0.1:${state.postgres!.standby!.port}/${LAB_DATABASE}`,
    keys,
  );
  const container = BlobServiceClient.fromConnectionString(
    state.azurite!.connectionString,
  ).getContainerClient(state.azurite!.container);
  const blobs = new Set<string>();
  for await (const blob of container.listBlobsFlat({ prefix: 'items/' })) blobs.add(blob.name);
  const lostObjects = fromPrimary.filter((a) => a.key && !blobs.has(a.key));
  return {
    rows: keys.filter((key) => !have.has(key)).length,
    objects: lostObjects.length,
    objectAcks: lostObjects.map((a) => a.at),
  };
}

/** The replicator logs each event-driven copy with its lag; reconciliation copies are not counted. */
function replicationLag(logFile: string): DrillReport['object_replication'] {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    /* no log: no copies */
  }
  const lags: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"event_copy"')) continue;
    try {
      const entry = JSON.parse(line) as { lag_ms?: number };
      if (typeof entry.lag_ms === 'number') lags.push(entry.lag_ms);
    } catch {
      /* a line cut by the kill */
    }
  }
  lags.sort((a, b) => a - b);
  return {
    copies: lags.length,
    lag_ms_p50: lags.length ? lags[Math.floor((lags.length - 1) / 2)] : null,
    lag_ms_max: lags.length ? lags[lags.length - 1] : null,
  };
}

/** Two healthy cycles in a row: the writer has traffic in flight and replication is in step before the fault. */
async function healthyBaseline(session: DrillSession): Promise<void> {
  let healthy = 0;
  await session.waitFor(
    (r) => {
      healthy = r.score.level === 'none' && r.decision.action === 'none' ? healthy + 1 : 0;
      return healthy >= 2;
    },
    90_000,
    'a healthy baseline (two clean cycles)',
  );
}

/** The decision shown in the report: the DR decision, else the most drastic one (bad deploy: the last). */
function shownDecision(session: DrillSession, scenario: DrillScenario) {
  const after = session.after();
  const decided = after.find((c) => c.record.decision.action === 'dr_failover');
  const drastic = ['dr_failover', 'region_failover', 'self_heal', 'escalate', 'none'];
  const taken = after
    .map((c) => c.record.decision)
    .sort((a, b) => drastic.indexOf(a.action) - drastic.indexOf(b.action))[0];
  const last = after.at(-1)?.record.decision;
  return {
    decided,
    taken,
    shown: decided?.record.decision ?? (scenario === 'bad-deploy' ? last : taken) ?? last,
  };
}

/** Each site's server version, asked of the server itself (null when it does not answer). */
async function serverVersions(state: LabState): Promise<DrillReport['postgres_versions']> {
  const ask = async (site?: { port: number }): Promise<string | null> => {
    if (!site) return null;
    const url = `postgresql://postgres@127.0.0.1:${site.port}/postgres`;
    const rows = await query<{ server_version: string }>(url, 'SHOW server_version').catch(() => []);
    return rows[0]?.server_version ?? null;
  };
  const [primary, dr] = await Promise.all([ask(state.postgres?.primary), ask(state.postgres?.standby)]);
  return { primary, dr };
}

async function buildReport(
  session: DrillSession,
  options: DrillOptions,
  writer: Writer,
  outcome: ScenarioOutcome,
): Promise<DrillReport> {
  const { state } = session;
  const { decided, taken, shown } = shownDecision(session, options.scenario);
  const detected = session.after().find((c) => c.record.score.level !== 'none');
  const counts = SCENARIOS[options.scenario].countsLoss;
  const lost = outcome.lost ?? (counts && outcome.report ? await countLost(state, writer.acked) : null);
  const report = outcome.report;
  return {
    scenario: options.scenario,
    replication: state.postgres?.replication ?? 'physical',
    postgres_versions: await serverVersions(state),
    write_rate: options.write_rate ?? 10,
    object_rate: Math.min(options.object_rate ?? 5, options.write_rate ?? 10),
    write_p99_ms: writer.p99(),
    decision: decided ? 'dr_failover' : (taken?.action ?? 'none'),
    detect_s: detected ? session.since(detected.seenAt) : null,
    decide_s: decided ? session.since(decided.seenAt) : null,
    rto_s: outcome.rtoS,
    rto_authoritative_s: outcome.rtoAuthoritativeS ?? null,
    rpo_rows_lost: lost ? lost.rows : counts ? null : 0,
    rpo_objects_lost: lost ? lost.objects : counts ? null : 0,
    ...(lost?.objectAcks?.length
      ? { rpo_objects_lost_age_ms: lost.objectAcks.map((at) => Math.round(session.onset - at)) }
      : {}),
    stages: session.stages,
    reason: shown?.reason ?? '',
    category: shown?.category ?? 'unknown',
    evidence: (shown?.analysis?.evidence ?? [])
      .filter((e) => e.weight !== 0)
      .map((e) => ({ source: e.source, weight: e.weight, says: e.says })),
    writes: {
      acknowledged_primary: writer.acked.filter((a) => a.site === 'primary').length,
      acknowledged_dr: writer.acked.filter((a) => a.site === 'dr').length,
      failed: writer.failed,
      primary_per_s: achievedRate(writer, session.onset),
    },
    object_replication: replicationLag(state.sync!.logFile),
    ...(outcome.findings ? { findings: outcome.findings } : {}),
    ...outcome.failback,
    ...outcome.lifecycle,
    run: report
      ? {
          run_id: report.run_id,
          status: report.status,
          rto_s: report.rto_s,
          data_loss_s: report.data_loss_s,
          error: report.error,
        }
      : undefined,
  };
}

/** Builds a lab, runs the controller on it, injects the scenario's fault, watches, reports, tears down. */
export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const progress = options.progress ?? (() => undefined);
  const interval = options.interval_s ?? 5;
  const writeRate = options.write_rate ?? 10;
  const objectRate = Math.min(options.object_rate ?? 5, writeRate);
  const scenario = SCENARIOS[options.scenario];
  progress(`building the lab in ${options.dir}`);
  const state = await labUp({
    dir: options.dir,
    replication: options.replication ?? 'logical',
    postgres: options.postgres,
    progress: (m) => progress(`  starting ${m}`),
  });
  let session: DrillSession | undefined;
  let writer: Writer | undefined;
  let stage: ScenarioStage | undefined;
  try {
    stage = await scenario.prepare?.(state, progress);
    session = new DrillSession(state, interval, progress, options.signal, stage?.configure);
    writer = new Writer(state, writeRate, objectRate);
    session.writer = writer;
    writer.start();
    progress(
      `controller: every ${interval} s; a writer inserts ${writeRate} rows/s (${objectRate} with an object) through app.${state.zone}`,
    );
    await session.start();
    await healthyBaseline(session);
    session.onset = performance.now();
    await scenario.inject(session);
    const outcome = await scenario.watch(session, {
      timeoutS: options.timeout_s ?? 180,
      watchCycles: options.watch_cycles ?? 6,
      reverseReplicator: options.reverse_replicator ?? true,
    });
    await writer.stop();
    await session.stop();
    return await buildReport(session, options, writer, outcome);
  } finally {
    await writer?.stop().catch(() => undefined);
    await session?.stop();
    session?.close();
    await stage?.close().catch(() => undefined);
    if (!options.keep) {
      progress('tearing the lab down');
      await labDown({ dir: options.dir });
    }
  }
}
