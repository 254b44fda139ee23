import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { backSyncParamsSchema } from '../../actions/storage_sync/config.js';
import { backPass } from '../../actions/storage_sync/reverse.js';
import { s3Client } from '../../actions/shared/s3.js';
import { failbackReadiness, type RunbookEngine, type RunEvent, type RunReport } from '../../runbook/index.js';
import { round, siteStates, type DrillSession } from '../drill-session.js';
import { quietFeeds } from '../faults.js';
import { startLabApp, startObjectSync } from '../lab.js';
import { LAB_DATABASE, LAB_DNS_TTL_S } from '../names.js';
import { freePort } from '../ports.js';
import { repairS3Directory, startS3Server } from '../objectstores.js';
import { presentKeys } from '../items.js';
import { restartCluster } from '../postgres.js';
import { stopProcess, waitUntil } from '../process.js';
import { isOurs, writeLabState, type LabState } from '../state.js';
import { objectsBack, wayBackConfig } from '../wayback-config.js';
import { regionalOutage, siteServesVia } from './regional-outage.js';
import type { DrillScenarioModule, ScenarioOutcome } from './types.js';

type Acks = NonNullable<DrillSession['writer']>['acked'];

/** Acknowledged writes of `site` whose row (by the writer's key) is not in the database on `port`, nor object in `objects`. */
async function missing(acks: Acks, site: string, port: number, objects: Set<string>) {
  const mine = acks.filter((a) => a.site === site);
  const have = await presentKeys(
    `postgresql://postgres@127.0.0.1:${port}/${LAB_DATABASE}`,
    mine.map((a) => a.client_key),
  );
  const lostObjects = mine.filter((a) => a.key && !objects.has(a.key));
  return {
    rows: mine.filter((a) => !have.has(a.client_key)).length,
    objects: lostObjects.length,
    objectAcks: lostObjects.map((a) => a.at),
  };
}

async function blobNames(state: LabState): Promise<Set<string>> {
  const container = BlobServiceClient.fromConnectionString(
    state.azurite!.connectionString,
  ).getContainerClient(state.azurite!.container);
  const names = new Set<string>();
  for await (const blob of container.listBlobsFlat({ prefix: 'items/' })) names.add(blob.name);
  return names;
}

async function s3Keys(state: LabState): Promise<Set<string>> {
  const s3 = s3Client({ ...backParams(state).destination });
  const keys = new Set<string>();
  try {
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: state.s3!.bucket, Prefix: 'items/', ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.add(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } finally {
    s3.destroy();
  }
  return keys;
}

const backParams = (state: LabState) => backSyncParamsSchema.parse(objectsBack(state).params);

/**
 * The primary site comes back with the data it had when it died. The forward object replicator is
 * stopped first: its next listing of the stale bucket would delete blobs DR wrote since. S3 notifies
 * `notifyPort` again, where the forward replicator listens once it is resumed after the failback.
 */
export async function primarySiteBack(session: DrillSession, notifyPort?: number): Promise<void> {
  const { state } = session;
  session.progress(
    'the primary site comes back (PostgreSQL with its old data, S3, app; AWS Health closes the issue, the EC2 API answers); forward object sync stopped',
  );
  // Each part named in the error: under load a bare timeout from one of them ended drills with no clue.
  const step = <T>(what: string, run: () => Promise<T>): Promise<T> =>
    run().catch((error: Error) => {
      throw new Error(`bringing the primary site back: ${what}: ${error.message}`);
    });
  if (isOurs(state.sync?.process))
    await step('stopping forward object sync', () => stopProcess(state.sync!.process.pid));
  // The region recovered: its provider feeds say so too (after the failback the primary's own
  // signals and the context describe a healthy region again, as they would in AWS).
  await step('quieting the provider feeds', () => quietFeeds(state));
  const pg = state.postgres!;
  await step('restarting PostgreSQL', () =>
    restartCluster(pg.primary!.dataDir, pg.primary!.port, pg.primary!.binDir ?? pg.binDir),
  );
  const s3Dir = state.s3!.process.match;
  for (const file of repairS3Directory(s3Dir))
    session.progress(`  s3: removed ${file}, a PUT cut short by the outage`);
  const s3 = await step('starting S3', () =>
    startS3Server({
      baseDir: s3Dir,
      port: Number(new URL(state.s3!.endpoint).port),
      process: 'child',
      ...(notifyPort ? { notifyUrl: `http://127.0.0.1:${notifyPort}/events` } : {}),
    }),
  );
  state.s3 = { ...state.s3!, process: { pid: s3.pid!, match: s3Dir } };
  writeLabState(state);
  state.apps!.primary = await step('starting the primary app', () => startLabApp(state, 'primary'));
}

/** When each stage of the way back ended, and how long each step took (first attempt to its end), by run. */
interface WayBackTimes {
  stageEnded: Map<string, number>;
  steps: Map<string, Record<string, number>>;
}

/** Stage ends and step failures of the way back's runs, as progress lines; their timings into `times`. */
function wayBackEvent(session: DrillSession, times: WayBackTimes): (event: RunEvent) => void {
  const started = new Map<string, number>();
  return (event) => {
    if (event.type === 'stage' && event.status === 'running') started.set(event.stage, performance.now());
    else if (event.type === 'stage') {
      times.stageEnded.set(event.stage, performance.now());
      session.progress(
        `  way back: stage ${event.stage} ${event.status} in ${round((performance.now() - (started.get(event.stage) ?? 0)) / 1000)} s`,
      );
    } else if (event.type === 'step') {
      const key = `${event.runId}/${event.step}`;
      if (event.status === 'running' && !started.has(key)) started.set(key, performance.now());
      else if (event.status !== 'running' && event.status !== 'retrying' && started.has(key)) {
        const steps = times.steps.get(event.runId) ?? {};
        steps[event.step] = round((performance.now() - started.get(key)!) / 1000);
        times.steps.set(event.runId, steps);
      }
      if (event.status === 'failed' || event.status === 'retrying')
        session.progress(`  way back: step ${event.step} ${event.status}: ${event.error ?? ''}`);
    }
  };
}

/** Runs one runbook of the way back to its end; a run that does not succeed ends the drill with its error. */
async function runToEnd(session: DrillSession, engine: RunbookEngine, runbook: string): Promise<RunReport> {
  session.progress(`way back: runbook ${runbook}`);
  // Not trigger `drill` (drill mode rehearses instead of acting): the lab's way back is real.
  const handle = await engine.start(runbook, { trigger: 'lab', reason: 'lab failback drill' });
  const report = await session.orInterrupt(handle.done);
  if (report.status !== 'succeeded')
    throw new Error(`the ${runbook} run ${report.status}: ${report.error ?? ''}`);
  return report;
}

/** Copies blobs back to S3 every second while reprotected: the lab's stand-in for an Event Grid replicator. */
function reverseObjectReplication(state: LabState): { stop(): Promise<void> } {
  const params = backParams(state);
  const stop = new AbortController();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      await backPass(params, stop.signal).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return {
    async stop() {
      stop.abort();
      await loop;
    },
  };
}

/** performance.now() when BIND first sends clients to the primary app and it takes writes (null by `deadline`). */
async function whenPrimaryServes(session: DrillSession, deadline: number): Promise<number | null> {
  while (performance.now() < deadline && !session.signal?.aborted) {
    if (await siteServesVia(session.state, 'primary', 'authoritative')) return performance.now();
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

/**
 * The failback's write pause without clients' DNS caching: from the last write DR acknowledged before
 * BIND sent clients to the primary (taking writes) until then.
 */
function authoritativePause(acks: Acks, from: number, primaryAt: number | null): number | null {
  if (primaryAt === null) return null;
  const lastDr = acks.filter((a) => a.site === 'dr' && a.at <= primaryAt).at(-1)?.at ?? from;
  return round((primaryAt - Math.max(lastDr, from)) / 1000);
}

/**
 * What the writer met between `from` and `to`, as progress lines: each kind of failure (site, reason)
 * with its count and first and last time, in seconds from `from`: where a long pause went.
 */
function failureTimeline(session: DrillSession, from: number, to: number): string[] {
  const { appHost } = session.state;
  const site = (address?: string) =>
    address === appHost.primary ? 'primary' : address === appHost.dr ? 'dr' : (address ?? 'no address');
  const kinds = new Map<string, { n: number; first: number; last: number }>();
  for (const f of session.writer!.failures) {
    if (f.at < from || f.at > to) continue;
    const kind = `${site(f.address)} ${f.reason.slice(0, 100)}`;
    const seen = kinds.get(kind) ?? { n: 0, first: f.at, last: f.at };
    kinds.set(kind, { n: seen.n + 1, first: Math.min(seen.first, f.at), last: Math.max(seen.last, f.at) });
  }
  const s = (t: number) => round((t - from) / 1000);
  return [...kinds].map(
    ([kind, k]) => `  way back: ${k.n} writes failed (${kind}) from ${s(k.first)} s to ${s(k.last)} s`,
  );
}

/** The longest time no write was acknowledged, over the failback run (write unavailability). */
function longestGap(acks: Acks, from: number, to: number): number | null {
  const times = acks.map((a) => a.at).sort((a, b) => a - b);
  let gap: number | null = null;
  for (let i = 1; i < times.length; i++)
    if (times[i] >= from && times[i - 1] <= to) gap = Math.max(gap ?? 0, times[i] - times[i - 1]);
  return gap === null ? null : round(gap / 1000);
}

type Lookups = NonNullable<DrillSession['writer']>['lookups'];

/**
 * How long the failback waits, at random, before it starts: somewhere in one period of the clients' cache.
 * unbound keeps an answer until the whole second TTL + 1 after the second it fetched it (it serves TTL 0
 * in the last one), and the writer asks every second, so the entry is refetched on a fixed 6 s grid
 * (TTL 5) set when the writer started. The controller's cycles run on a fixed 3 s grid that started at the
 * same moment, and the failback follows a cycle (the fence watch) by steps of nearly fixed length: without
 * this wait BIND's switch fell at the same point of the cache's period run after run (4 of 5 runs at
 * idle just after a refetch, a whole TTL late), a figure set by two timers' phase rather than by caching.
 */
export function cachePhaseWaitMs(ttlS: number, random: () => number = Math.random): number {
  return Math.floor(random() * (ttlS + 1) * 1000);
}

/**
 * Seconds from `switchedAt` (when BIND was seen answering `address`) until a client lookup first did,
 * counting lookups from `updateSent` (no client can have the new answer before the update): 0 when the
 * client had it before the poll of BIND saw it (that poll also waits for the app's health). Null: none did.
 */
export function clientDnsLag(
  lookups: Lookups,
  updateSent: number,
  switchedAt: number,
  address: string,
): number | null {
  const first = lookups.find((l) => l.at >= updateSent && l.address === address);
  return first ? round(Math.max(0, first.at - switchedAt) / 1000) : null;
}

/**
 * When the clients' resolver fetched the answer afresh between `from` and `to`: the first lookup of each
 * run of answers with the whole TTL left (the cache's refills), in seconds from `origin`.
 */
export function cacheRefills(lookups: Lookups, ttlS: number, origin: number, from: number, to: number) {
  const refills: number[] = [];
  let last = -Infinity;
  for (const l of lookups) {
    if (l.at < from || l.at > to || l.ttl !== ttlS) continue;
    if (l.at - last > 1500) refills.push(round((l.at - origin) / 1000));
    last = l.at;
  }
  return refills;
}

/**
 * Protect forward again, for objects: the forward replicator resumes (S3 now holds everything DR wrote,
 * so its reconciliation deletes nothing), measured until an object the primary acknowledged since
 * reaches Blob.
 */
async function resumeForwardObjects(session: DrillSession, notifyPort: number): Promise<number> {
  const { state } = session;
  const resumed = performance.now();
  await startObjectSync(state, notifyPort, (m) => session.progress(`protect forward: ${m}`));
  const acks = session.writer!.acked;
  await waitUntil(
    async () => {
      const fresh = acks.filter((a) => a.site === 'primary' && a.key && a.at > resumed);
      if (fresh.length === 0) return false;
      const blobs = await blobNames(state);
      return fresh.some((a) => blobs.has(a.key));
    },
    30_000,
    'an object the primary acknowledged after the failback to reach Blob',
    250,
  );
  return round((performance.now() - resumed) / 1000);
}

/** Reprotect, wait until the primary side has caught up (measured), fail back; the figures of the way back. */
async function wayBack(
  session: DrillSession,
  notifyPort: number,
  reverseReplicator: boolean,
): Promise<NonNullable<ScenarioOutcome['failback']>> {
  const { state } = session;
  const config = wayBackConfig(state, session.interval);
  // On the controller's store, moving its site state: dr_active → reprotecting → reverse_protected →
  // failing_back → primary_active, each journaled with its run (and refused as `phoenix reprotect` is).
  const times: WayBackTimes = { stageEnded: new Map(), steps: new Map() };
  const engine = session.engine(config, wayBackEvent(session, times));
  let replicator: ReturnType<typeof reverseObjectReplication> | undefined;
  try {
    const started = performance.now();
    const reprotect = await runToEnd(session, engine, 'reprotect');
    const reprotectS = round((performance.now() - started) / 1000);
    // Set up once the reprotect has copied everything back: started before, it copied the same blobs as
    // the reprotect's own pass at the same time, which under load doubled that pass's work.
    if (reverseReplicator) replicator = reverseObjectReplication(state);
    else session.progress('way back: reverse object replicator off (--no-reverse-replicator)');
    await waitUntil(async () => (await failbackReadiness(config)).ready, 60_000, 'failback readiness', 500);
    // The replicator is the lab's stand-in for an event-driven copier that runs elsewhere (Event Grid to a
    // function); here it lists both stores every second in this process, beside the runbook. Under load
    // (average 25-30 on 2 cores) that starved the failback's own steps: the fence took 24.6 s, and the
    // last object pass and the cut-over each ran past 60 s. The failback's last pass copies what it left.
    await replicator?.stop();
    const waitMs = cachePhaseWaitMs(LAB_DNS_TTL_S);
    await new Promise((r) => setTimeout(r, waitMs));
    const acks = session.writer!.acked;
    // The drill's writer, replicator and runbook share this process: how late its timers ran says how much
    // of a pause is this process starved of CPU rather than the step waiting on something.
    const lag = monitorEventLoopDelay({ resolution: 20 });
    lag.enable();
    const from = performance.now();
    const primaryAt = whenPrimaryServes(session, from + 60_000);
    const failbackRun = await runToEnd(session, engine, 'failback');
    const to = performance.now();
    await waitUntil(
      () => acks.some((a) => a.site === 'primary' && a.at > to),
      15_000,
      'a write acknowledged by the primary',
      100,
    );
    lag.disable();
    const lastDr = acks.filter((a) => a.site === 'dr').at(-1)?.at ?? from;
    const firstPrimary = acks.find((a) => a.site === 'primary' && a.at > from)?.at ?? to;
    const servesAt = await primaryAt;
    const rel = (t: number) => round((t - from) / 1000);
    session.progress(
      `  way back: last write acknowledged by DR ${rel(lastDr)} s after the failback started, BIND sent clients to the writable primary at ${servesAt === null ? 'never' : `${rel(servesAt)} s`}, first write acknowledged by the primary at ${rel(firstPrimary)} s; the run took ${rel(to)} s`,
    );
    for (const line of failureTimeline(session, from, firstPrimary)) session.progress(line);
    const lookups = session.writer!.lookups;
    // The dns stage starts once the switch stage (fence, last pass, cut-over) has ended.
    const updateSent = times.stageEnded.get('switch') ?? from;
    const dnsLag =
      servesAt === null ? null : clientDnsLag(lookups, updateSent, servesAt, state.appHost.primary);
    session.progress(
      `  way back: clients' cache refetched app.${state.zone} at ${cacheRefills(lookups, LAB_DNS_TTL_S, from, from - 2 * (LAB_DNS_TTL_S + 1) * 1000, firstPrimary).join(', ')} s; the client first got the primary's address ${dnsLag ?? '?'} s after BIND (the failback started ${round(waitMs / 1000)} s late, at a random point of the cache's ${LAB_DNS_TTL_S + 1} s period)`,
    );
    const eventLoopLag = { p99_ms: round(lag.percentile(99) / 1e6), max_ms: round(lag.max / 1e6) };
    session.progress(
      `  way back: the drill's event loop ran late by ${eventLoopLag.p99_ms} ms (p99), ${eventLoopLag.max_ms} ms at most, over the failback`,
    );
    const lost = await missing(acks, 'dr', state.postgres!.primary!.port, await s3Keys(state));
    await replicator?.stop();
    const transitions = await session.siteTransitions();
    return {
      reprotect_s: reprotectS,
      reprotect_steps: times.steps.get(reprotect.run_id) ?? {},
      failback_rto_s: longestGap(acks, from, to),
      failback_rto_authoritative_s: authoritativePause(acks, from, servesAt),
      failback_client_dns_lag_s: dnsLag,
      failback_cache_phase_wait_s: round(waitMs / 1000),
      failback_steps: times.steps.get(failbackRun.run_id) ?? {},
      failback_event_loop_lag_ms: eventLoopLag,
      reverse_replicator: reverseReplicator,
      failback_rows_lost: lost.rows,
      failback_objects_lost: lost.objects,
      forward_objects_s: await resumeForwardObjects(session, notifyPort),
      active_site: (await session.sites.current()).active_site,
      site_states: siteStates(transitions),
      site_transitions: transitions,
      decisions_while_dr_served: session.decisionsWhileDrServed(),
    };
  } finally {
    await replicator?.stop();
  }
}

/**
 * Regional outage → failover → the primary site comes back → reprotect → failback (a planned switchover)
 * → protect forward again. The writer keeps writing through DNS all along.
 */
export const failback: DrillScenarioModule = {
  countsLoss: true,
  inject: (session) => regionalOutage.inject(session),
  async watch(session, limits) {
    const outage = await regionalOutage.watch(session, limits);
    if (outage.report?.status !== 'succeeded') return outage;
    const { state } = session;
    // Counted now: after the way back the DR database is rebuilt from the primary.
    const lost = await missing(
      session.writer!.acked,
      'primary',
      state.postgres!.standby!.port,
      await blobNames(state),
    );
    // The controller keeps running, as `phoenix run` does: it scores DR, which serves, and its fence watch
    // fences the old primary when it answers again; reprotect is refused until then (fence_pending).
    const notifyPort = await freePort();
    await primarySiteBack(session, notifyPort);
    if (!(await session.untilFenced(limits.timeoutS * 1000)))
      throw new Error(
        `the old primary came back but the controller did not fence it within ${limits.timeoutS} s (site state: ${JSON.stringify((await session.sites.current()).old_primary)}); reprotect is refused while it is fence_pending`,
      );
    session.progress('the controller fenced the returning old primary; the way back starts');
    return {
      ...outage,
      lost,
      failback: await wayBack(session, notifyPort, limits.reverseReplicator ?? true),
    };
  },
};
