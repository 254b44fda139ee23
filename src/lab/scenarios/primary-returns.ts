import { withClient } from '../../pg/index.js';
import { round, type DrillSession } from '../drill-session.js';
import { LAB_DATABASE } from '../names.js';
import { APP_ROLE, roleUrl } from '../managed.js';
import { primarySiteBack } from './failback.js';
import { regionalOutage } from './regional-outage.js';
import type { DrillScenarioModule, ScenarioOutcome } from './types.js';

/** PostgreSQL's "starting up" and "shutting down" answers: not yet (or no longer) the database answering. */
const NOT_SERVING = new Set(['57P03', '57P01', '57P02']);

/** The SQLSTATE of a refusal by the server itself, or undefined when nothing answered (refused connection, timeout). */
function sqlState(error: unknown): string | undefined {
  const code = ((error as { cause?: { code?: unknown } }).cause?.code ??
    (error as { code?: unknown }).code) as string | undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Tries a write on the old primary's database as the app's role every 100 ms (rolled back: it
 * measures, it adds nothing): when the database first answers, and when it first refuses a write
 * after that (CONNECT revoked, read-only, session ended).
 */
function writeProbe(session: DrillSession) {
  const url = roleUrl(session.state.postgres!.primary!, APP_ROLE, LAB_DATABASE);
  const seen: { answeredAt?: number; refusedAt?: number } = {};
  let stopped = false;
  const loop = (async () => {
    while (!stopped && seen.refusedAt === undefined) {
      const at = performance.now();
      try {
        await withClient(
          url,
          'old primary',
          (c) =>
            c.query(
              "BEGIN; INSERT INTO items (body, object_key, site) VALUES ('probe', '', 'primary'); ROLLBACK",
            ),
          { timeoutMs: 1000, queryTimeoutMs: 1000 },
        );
        seen.answeredAt ??= at;
      } catch (error) {
        const code = sqlState(error);
        if (code && !NOT_SERVING.has(code)) {
          seen.answeredAt ??= at;
          seen.refusedAt = at;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    seen,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** A client that kept the old primary's address (cached DNS, a hard-coded endpoint): it writes there every 100 ms. */
function staleClient(session: DrillSession) {
  const { state } = session;
  const counts = { acknowledged: 0, refused: 0 };
  let stopped = false;
  const loop = (async () => {
    for (let n = 0; !stopped; n++) {
      const res = await fetch(`http://${state.appHost.primary}:${state.appPort}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ body: `stale order ${n}`, object: false }),
        signal: AbortSignal.timeout(2000),
      }).catch(() => undefined);
      if (res?.status === 201) counts.acknowledged++;
      else if (res) counts.refused++;
      await res?.text().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    counts,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/**
 * Regional outage → failover (the fence cannot reach the dead primary: fence_pending) → the primary
 * site comes back with its old data and its app, writable, while a stale client keeps writing to
 * its address. The controller, still running, must find it, page, and fence it (docs/lifecycle.md).
 */
export const primaryReturns: DrillScenarioModule = {
  countsLoss: true,
  inject: (session) => regionalOutage.inject(session),
  async watch(session, limits) {
    const outage = await regionalOutage.watch(session, limits);
    if (outage.report?.status !== 'succeeded') return outage;
    const pending = (await session.sites.current()).old_primary?.fence;
    session.progress(`failed over; the old primary is ${pending ?? 'not tracked'}`);
    const probe = writeProbe(session);
    const client = staleClient(session);
    let fenced = false;
    try {
      await primarySiteBack(session);
      fenced = await session.untilFenced(limits.timeoutS * 1000);
      // A moment more: a write acknowledged right at the fence is counted too.
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await client.stop();
      await probe.stop();
    }
    const state = await session.sites.current();
    const { answeredAt, refusedAt } = probe.seen;
    session.progress(
      `old primary ${fenced ? 'fenced' : 'NOT fenced'}; the stale client got ${client.counts.acknowledged} writes acknowledged there`,
    );
    const lifecycle: ScenarioOutcome['lifecycle'] = {
      active_site: state.active_site,
      old_primary_fenced: state.old_primary?.fence === 'fenced',
      old_primary_writable_s:
        answeredAt !== undefined && refusedAt !== undefined ? round((refusedAt - answeredAt) / 1000) : null,
      old_primary_writes_after_return: client.counts.acknowledged,
      old_primary_paged: session.pages.some((p) => p.severity === 'critical'),
      interval_s: session.interval,
      decisions_while_dr_served: session.decisionsWhileDrServed(),
    };
    return { ...outage, lifecycle };
  },
};
