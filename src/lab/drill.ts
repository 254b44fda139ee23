import { readFileSync } from 'node:fs';
import { BlobServiceClient } from '@azure/storage-blob';
import { loadConfig } from '../config/index.js';
import { Controller, type CycleRecord } from '../controller/index.js';
import { ChangeStore, createContextGatherer } from '../context/index.js';
import {
  createRunbookDecisionSink,
  RUNBOOK_MIGRATIONS,
  type RunEvent,
  type RunReport,
} from '../runbook/index.js';
import { createSignalSource } from '../signals/index.js';
import { migrate, openDatabase, HistoryStore, HISTORY_MIGRATIONS } from '../store/index.js';
import { writeLabConfig } from './config.js';
import { setFeedState } from './feeds.js';
import {
  labDown,
  labUp,
  resolveApp,
  startLabApp,
  LAB_DATABASE,
  type LabReplication,
  type Progress,
} from './lab.js';
import { clusterHandle, query } from './postgres.js';
import { killProcess } from './process.js';
import type { LabState } from './state.js';

export const DRILL_SCENARIOS = ['regional-outage', 'bad-deploy'] as const;
export type DrillScenario = (typeof DRILL_SCENARIOS)[number];

export interface DrillReport {
  scenario: DrillScenario;
  /** How the DR database was kept current: logical subscriber or physical standby. */
  replication: LabReplication;
  /** The writer's rates (rows/s, objects/s) and the 99th percentile latency of its acknowledged writes. */
  write_rate: number;
  object_rate: number;
  write_p99_ms: number | null;
  /** The decision that ended the drill (dr_failover) or the most drastic one taken while it ran. */
  decision: string;
  detect_s: number | null;
  decide_s: number | null;
  /** Outage onset → the DR site serving writable through DNS, as a client resolving app.<zone> sees it. */
  rto_s: number | null;
  /** Rows and objects the primary acknowledged that the DR site does not have. */
  rpo_rows_lost: number | null;
  rpo_objects_lost: number | null;
  stages: Array<{ name: string; seconds: number }>;
  reason: string;
  category: string;
  evidence: Array<{ source: string; weight: number; says: string }>;
  writes: { acknowledged_primary: number; acknowledged_dr: number; failed: number };
  /** How long after S3 stored an object its event-driven copy landed in Azure Blob, over the drill. */
  object_replication: { copies: number; lag_ms_p50: number | null; lag_ms_max: number | null };
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
  progress?: Progress;
  /** Keep the lab running afterwards (for inspection). */
  keep?: boolean;
  /** Stops the drill early (Ctrl-C); the lab is still torn down unless `keep`. */
  signal?: AbortSignal;
}

interface Ack {
  id: string;
  key: string;
  site: string;
}

/**
 * A client that keeps writing through the app as users would, resolving app.<zone> through the lab DNS:
 * `writeRate` rows a second, `objectRate` of them with an object, spread evenly, as many in flight as
 * the rate needs (up to `maxInFlight`). Only acknowledged writes count.
 */
export class Writer {
  readonly acked: Ack[] = [];
  readonly latenciesMs: number[] = [];
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

  /** The app's address, asked of DNS at most once a second (clients cache answers too). */
  private async resolve(): Promise<string | undefined> {
    if (this.address && performance.now() - this.address.at < 1000) return this.address.value;
    const value = await resolveApp(this.state);
    this.address = value ? { value, at: performance.now() } : undefined;
    return value;
  }

  private async write(n: number, object: boolean): Promise<void> {
    const started = performance.now();
    try {
      const address = await this.resolve();
      if (!address) throw new Error('no DNS answer');
      const res = await fetch(`http://${address}:${this.state.appPort}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ body: `order ${n}`, object }),
        signal: AbortSignal.timeout(3000),
      });
      if (res.status === 201) {
        this.acked.push((await res.json()) as Ack);
        this.latenciesMs.push(performance.now() - started);
      } else {
        this.failed++;
        await res.text();
      }
    } catch {
      this.failed++;
      this.address = undefined;
    }
  }

  start(): void {
    const begun = performance.now();
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

const round = (n: number) => Math.round(n * 100) / 100;

/** Counts what the primary acknowledged and the DR site lacks: rows in the promoted DB, blobs in Azure. */
async function countLost(state: LabState, acked: Ack[]): Promise<{ rows: number; objects: number }> {
  const fromPrimary = acked.filter((a) => a.site === 'primary');
  if (fromPrimary.length === 0) return { rows: 0, objects: 0 };
  const ids = fromPrimary.map((a) => a.id);
  const present = await query<{ id: string }>(
    `postgresql://postgres@127.0.0.1:${state.postgres!.standby!.port}/${LAB_DATABASE}`,
    'select id::text as id from items where id = any($1::bigint[])',
    [ids],
  );
  const have = new Set(present.map((r) => r.id));
  const container = BlobServiceClient.fromConnectionString(
    state.azurite!.connectionString,
  ).getContainerClient(state.azurite!.container);
  const blobs = new Set<string>();
  for await (const blob of container.listBlobsFlat({ prefix: 'items/' })) blobs.add(blob.name);
  return {
    rows: ids.filter((id) => !have.has(id)).length,
    objects: fromPrimary.filter((a) => a.key && !blobs.has(a.key)).length,
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

/** Takes the primary site down at once: its database, its app and its object store, as a lost region does. */
async function losePrimarySite(state: LabState): Promise<void> {
  const pg = state.postgres!.primary!;
  await Promise.all([
    clusterHandle(pg.dataDir, pg.port, state.postgres!.binDir).kill(),
    killProcess(state.apps!.primary!.process.pid),
    killProcess(state.s3!.process.pid),
  ]);
}

async function announceRegionalOutage(state: LabState, at: number): Promise<void> {
  const feeds = state.feeds!.urls!;
  await setFeedState(feeds.awsHealth, {
    events: [
      {
        service: 'EC2',
        region: state.primaryRegion,
        eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
        eventTypeCategory: 'issue',
        statusCode: 'open',
        startTime: Math.floor(at),
        lastUpdatedTime: Math.floor(at),
        description: `We are investigating connectivity issues and increased API error rates for EC2 instances in the ${state.primaryRegion.toUpperCase()} Region.`,
      },
    ],
  });
  await setFeedState(feeds.ec2, { mode: 'error' });
}

export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const progress = options.progress ?? (() => undefined);
  const interval = options.interval_s ?? 5;
  const timeoutS = options.timeout_s ?? 180;
  progress(`building the lab in ${options.dir}`);
  const replication = options.replication ?? 'logical';
  const writeRate = options.write_rate ?? 10;
  const objectRate = Math.min(options.object_rate ?? 5, writeRate);
  const state = await labUp({
    dir: options.dir,
    replication,
    progress: (m) => progress(`  starting ${m}`),
  });
  const interrupted = new Promise<never>((_, reject) => {
    const stop = () => reject(new Error(`interrupted (${String(options.signal?.reason ?? 'stopped')})`));
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
  });
  interrupted.catch(() => undefined);
  const orInterrupt = <T>(promise: Promise<T>) => Promise.race([promise, interrupted]);
  let controller: Controller | undefined;
  let writer: Writer | undefined;
  let db: ReturnType<typeof openDatabase> | undefined;
  try {
    const configFile = writeLabConfig(state, { interval_s: interval });
    const config = loadConfig(configFile);
    db = openDatabase(config.store.path);
    migrate(db, [...HISTORY_MIGRATIONS, ...RUNBOOK_MIGRATIONS]);
    const changes = ChangeStore.on(db);
    const stageStart = new Map<string, number>();
    const stages: Array<{ name: string; seconds: number }> = [];
    const onEvent = (event: RunEvent) => {
      if (event.type === 'stage' && event.status === 'running') {
        stageStart.set(event.stage, performance.now());
        progress(`  runbook: stage ${event.stage} …`);
      } else if (event.type === 'stage' && stageStart.has(event.stage)) {
        const seconds = round((performance.now() - stageStart.get(event.stage)!) / 1000);
        stages.push({ name: event.stage, seconds });
        progress(`  runbook: stage ${event.stage} ${event.status} in ${seconds} s`);
      } else if (event.type === 'step' && (event.status === 'failed' || event.status === 'retrying')) {
        progress(`  runbook: step ${event.step} ${event.status}${event.error ? `: ${event.error}` : ''}`);
      }
    };
    const sink = createRunbookDecisionSink({ db, config, autoApprove: true, onEvent, workDir: state.dir });
    let run: Promise<RunReport> | undefined;
    const sinkAdapter = {
      onDecision: async (decision: CycleRecord['decision'], record: CycleRecord) => {
        const outcome = await sink.onDecision(decision, record);
        if ((outcome.kind === 'started' || outcome.kind === 'joined') && !run) run = outcome.handle.done;
        return outcome;
      },
    };
    controller = new Controller({
      config,
      signals: createSignalSource(config),
      context: createContextGatherer(config, { changes }),
      history: new HistoryStore(db),
      sink: sinkAdapter,
    });

    const cycles: Array<{ record: CycleRecord; seenAt: number }> = [];
    let onCycle: ((record: CycleRecord) => void) | undefined;
    controller.on('cycle', (record) => {
      cycles.push({ record, seenAt: performance.now() });
      const d = record.decision;
      progress(
        `  cycle: score ${record.score.score} (${record.score.level}) → ${d.action}` +
          (d.action === 'none' && record.score.level === 'none'
            ? ''
            : ` [${d.category}, ${d.confidence}] ${d.reason}`),
      );
      onCycle?.(record);
    });
    const waitFor = (test: (r: CycleRecord) => boolean, timeoutMs: number, what: string) =>
      orInterrupt(
        new Promise<CycleRecord>((resolve, reject) => {
          const timer = setTimeout(() => {
            onCycle = undefined;
            reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`));
          }, timeoutMs);
          options.signal?.addEventListener('abort', () => clearTimeout(timer), { once: true });
          onCycle = (r) => {
            if (test(r)) {
              clearTimeout(timer);
              onCycle = undefined;
              resolve(r);
            }
          };
        }),
      );

    writer = new Writer(state, writeRate, objectRate);
    writer.start();
    progress(
      `controller: every ${interval} s; a writer inserts ${writeRate} rows/s (${objectRate} with an object) through app.${state.zone}`,
    );
    controller.start();
    // Two healthy cycles in a row: the writer has traffic in flight and replication is in step before the fault.
    let healthy = 0;
    await waitFor(
      (r) => {
        healthy = r.score.level === 'none' && r.decision.action === 'none' ? healthy + 1 : 0;
        return healthy >= 2;
      },
      90_000,
      'a healthy baseline (two clean cycles)',
    );

    const onset = performance.now();
    const onsetUnix = Date.now() / 1000;
    if (options.scenario === 'regional-outage') {
      progress(
        'FAULT: the primary site is lost (PostgreSQL primary, app and S3 killed); AWS Health opens an EC2 issue',
      );
      await losePrimarySite(state);
      await announceRegionalOutage(state, onsetUnix);
    } else {
      progress(
        'FAULT: release "broken" is deployed to the primary app (a bug in our own code; infrastructure healthy)',
      );
      changes.record({
        at: onsetUnix,
        kind: 'deploy',
        service: 'app',
        description: 'app release broken rolled out to the primary site',
        source: 'drill',
      });
      const app = await startLabApp(state, 'primary', 'broken');
      state.apps!.primary = app;
    }
    const since = (t: number) => round((t - onset) / 1000);
    const after = () => cycles.filter((c) => c.seenAt > onset);
    const firstAfter = (test: (r: CycleRecord) => boolean) => after().find((c) => test(c.record));

    let rtoS: number | null = null;
    let report: RunReport | undefined;
    if (options.scenario === 'regional-outage') {
      // Watches as a client would until DR serves; gives up at the drill's timeout, when the drill fails,
      // or shortly after the runbook ended without DR serving.
      let watchUntil = onset + timeoutS * 1000;
      const rtoWatch = (async () => {
        while (performance.now() < watchUntil && !options.signal?.aborted) {
          const address = await resolveApp(state);
          if (address === state.appHost.dr) {
            const res = await fetch(`http://${address}:${state.appPort}/healthz`, {
              signal: AbortSignal.timeout(1000),
            }).catch(() => undefined);
            const body = res?.ok ? ((await res.json()) as { writable?: boolean }) : undefined;
            if (body?.writable) return since(performance.now());
          }
          await new Promise((r) => setTimeout(r, 200));
        }
        return null;
      })();
      await waitFor(
        (r) => r.decision.action === 'dr_failover',
        timeoutS * 1000,
        'the controller to decide DR',
      ).catch((error: unknown) => {
        watchUntil = 0;
        throw error;
      });
      progress('controller decided dr_failover; the runbook runs');
      // The controller tells its cycle listeners before its decision sink: wait for the run to start.
      const runStarted = performance.now();
      while (!run && performance.now() - runStarted < 10_000 && !options.signal?.aborted)
        await new Promise((r) => setTimeout(r, 50));
      let deadlineTimer: NodeJS.Timeout | undefined;
      const deadline = new Promise<undefined>((r) => {
        deadlineTimer = setTimeout(() => r(undefined), timeoutS * 1000);
      });
      try {
        report = await orInterrupt(Promise.race([run ?? Promise.resolve(undefined), deadline]));
      } finally {
        clearTimeout(deadlineTimer);
        watchUntil = Math.min(watchUntil, performance.now() + 10_000);
      }
      rtoS = await orInterrupt(rtoWatch);
      await new Promise((r) => setTimeout(r, 1000));
    } else {
      const watch = options.watch_cycles ?? 6;
      await waitFor(
        () => after().length >= watch,
        (watch + 4) * interval * 1000,
        `${watch} cycles after the fault`,
      );
    }
    await writer.stop();
    await controller.stop();

    const detected = firstAfter((r) => r.score.level !== 'none');
    const decided = firstAfter((r) => r.decision.action === 'dr_failover');
    const drastic = ['dr_failover', 'region_failover', 'self_heal', 'escalate', 'none'];
    const taken = after()
      .map((c) => c.record.decision)
      .sort((a, b) => drastic.indexOf(a.action) - drastic.indexOf(b.action))[0];
    const last = after().at(-1)?.record.decision;
    const shown = decided?.record.decision ?? (options.scenario === 'bad-deploy' ? last : taken) ?? last;
    const lost =
      options.scenario === 'regional-outage' && report ? await countLost(state, writer.acked) : null;
    const objectReplication = replicationLag(state.sync!.logFile);
    return {
      scenario: options.scenario,
      replication,
      write_rate: writeRate,
      object_rate: objectRate,
      write_p99_ms: writer.p99(),
      decision: decided ? 'dr_failover' : (taken?.action ?? 'none'),
      detect_s: detected ? since(detected.seenAt) : null,
      decide_s: decided ? since(decided.seenAt) : null,
      rto_s: rtoS,
      rpo_rows_lost: lost ? lost.rows : options.scenario === 'bad-deploy' ? 0 : null,
      rpo_objects_lost: lost ? lost.objects : options.scenario === 'bad-deploy' ? 0 : null,
      stages,
      reason: shown?.reason ?? '',
      category: shown?.category ?? 'unknown',
      evidence: (shown?.analysis?.evidence ?? [])
        .filter((e) => e.weight !== 0)
        .map((e) => ({ source: e.source, weight: e.weight, says: e.says })),
      writes: {
        acknowledged_primary: writer.acked.filter((a) => a.site === 'primary').length,
        acknowledged_dr: writer.acked.filter((a) => a.site === 'dr').length,
        failed: writer.failed,
      },
      object_replication: objectReplication,
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
  } finally {
    await writer?.stop().catch(() => undefined);
    await controller?.stop().catch(() => undefined);
    db?.close();
    if (!options.keep) {
      progress('tearing the lab down');
      await labDown({ dir: options.dir });
    }
  }
}
