import type { RunReport } from '../../runbook/index.js';
import type { DrillSession } from '../drill-session.js';
import type { FakeHealthEvent } from '../../stand-ins/aws/health.js';
import { setFeedState } from '../feeds.js';
import { httpStatus, resolveApp } from '../lab.js';
import { clusterHandle } from '../postgres.js';
import { killProcess } from '../process.js';
import type { LabState } from '../state.js';
import type { DrillScenarioModule } from './types.js';

/** Takes the primary site down at once: its database, its app and its object store, as a lost region does. */
async function losePrimarySite(state: LabState): Promise<void> {
  const pg = state.postgres!.primary!;
  await Promise.all([
    clusterHandle(pg.dataDir, pg.port, pg.binDir ?? state.postgres!.binDir).kill(),
    killProcess(state.apps!.primary!.process.pid),
    killProcess(state.s3!.process.pid),
  ]);
}

/** The open EC2 issue AWS Health reports for the lab's primary region from `at` (Unix seconds). */
export function ec2IssueEvent(state: LabState, at: number): FakeHealthEvent {
  return {
    service: 'EC2',
    region: state.primaryRegion,
    eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
    eventTypeCategory: 'issue',
    statusCode: 'open',
    startTime: Math.floor(at),
    lastUpdatedTime: Math.floor(at),
    description: `We are investigating connectivity issues and increased API error rates for EC2 instances in the ${state.primaryRegion.toUpperCase()} Region.`,
  };
}

async function announceRegionalOutage(state: LabState, at: number): Promise<void> {
  const feeds = state.feeds!.urls!;
  await setFeedState(feeds.awsHealth, { events: [ec2IssueEvent(state, at)] });
  await setFeedState(feeds.ec2, { mode: 'error' });
}

/** True when `via` sends clients to `site`'s app and it takes writes. */
export async function siteServesVia(
  state: LabState,
  site: 'primary' | 'dr',
  via: 'client' | 'authoritative',
): Promise<boolean> {
  const address = await resolveApp(state, undefined, via);
  if (address !== state.appHost[site]) return false;
  return appTakesWrites(`http://${address}:${state.appPort}`);
}

/** True when the lab app at `base` answers /healthz within `timeoutMs` and says it takes writes. */
export async function appTakesWrites(base: string, timeoutMs = 1000): Promise<boolean> {
  // The body is read under the same deadline: under load it can arrive after the headers did.
  const res = await httpStatus(`${base}/healthz`, timeoutMs);
  return res?.status === 200 && (res.body as { writable?: boolean } | null)?.writable === true;
}

/**
 * Watches until DR serves writes through DNS, or until `until()` passes, both as a client sees it
 * (through the lab's caching resolver, which keeps the old answer up to its TTL) and as BIND answers.
 */
async function watchRto(
  session: DrillSession,
  until: () => number,
): Promise<{ client: number | null; authoritative: number | null }> {
  const { state } = session;
  const seen: { client: number | null; authoritative: number | null } = { client: null, authoritative: null };
  while (performance.now() < until() && !session.signal?.aborted && seen.client === null) {
    if (seen.authoritative === null && (await siteServesVia(state, 'dr', 'authoritative')))
      seen.authoritative = session.since(performance.now());
    if (await siteServesVia(state, 'dr', 'client')) seen.client = session.since(performance.now());
    await new Promise((r) => setTimeout(r, 200));
  }
  // A client cannot be served before the authoritative answer changed; the same poll saw both.
  if (seen.client !== null && seen.authoritative === null) seen.authoritative = seen.client;
  return seen;
}

/** The run the controller started, or undefined at the deadline. */
async function runOutcome(session: DrillSession, timeoutS: number): Promise<RunReport | undefined> {
  // The controller tells its cycle listeners before its decision sink: wait for the run to start.
  const runStarted = performance.now();
  while (!session.run && performance.now() - runStarted < 10_000 && !session.signal?.aborted)
    await new Promise((r) => setTimeout(r, 50));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), timeoutS * 1000);
  });
  try {
    return await session.orInterrupt(Promise.race([session.run ?? Promise.resolve(undefined), deadline]));
  } finally {
    clearTimeout(timer);
  }
}

/** The primary region is lost while AWS Health reports it: the controller must fail over to DR. */
export const regionalOutage: DrillScenarioModule = {
  countsLoss: true,
  async inject(session) {
    session.progress(
      'FAULT: the primary site is lost (PostgreSQL primary, app and S3 killed); AWS Health opens an EC2 issue',
    );
    await losePrimarySite(session.state);
    await announceRegionalOutage(session.state, Date.now() / 1000);
  },
  async watch(session, limits) {
    // Gives up at the drill's timeout, when the drill fails, or shortly after the runbook ended without DR serving.
    let watchUntil = session.onset + limits.timeoutS * 1000;
    const rto = watchRto(session, () => watchUntil);
    await session
      .waitFor(
        (r) => r.decision.action === 'dr_failover',
        limits.timeoutS * 1000,
        'the controller to decide DR',
      )
      .catch((error: unknown) => {
        watchUntil = 0;
        throw error;
      });
    session.progress('controller decided dr_failover; the runbook runs');
    let report: RunReport | undefined;
    try {
      report = await runOutcome(session, limits.timeoutS);
    } finally {
      watchUntil = Math.min(watchUntil, performance.now() + 10_000);
    }
    const seen = await session.orInterrupt(rto);
    await new Promise((r) => setTimeout(r, 1000));
    return { rtoS: seen.client, rtoAuthoritativeS: seen.authoritative, report };
  },
};
