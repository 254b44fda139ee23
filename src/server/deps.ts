import type { PhoenixConfig } from '../config/index.js';
import type { ChangeRecord } from '../core/index.js';
import { ChangeStore } from '../context/index.js';
import type { Controller, LeaderElector } from '../controller/index.js';
import { DrillStore } from '../drills/index.js';
import { Journal } from '../runbook/index.js';
import { SeenSignatureStore, type HistoryStore } from '../store/index.js';
import type { CycleRecord, HistoryPoint, RunbookReadinessView, ServerDeps, SiteStateView } from './ports.js';
import { toHistoryPoint } from './recent.js';
import { JournalRunControl } from './runs.js';
import { nextAction, SiteStateStore, type Pause, type SiteState } from '../lifecycle/index.js';

/** The site state with the next action and the pause, as the API, /metrics and the dashboard show it. */
export function siteView(state: SiteState, paused?: Pause): SiteStateView {
  const pausedView = paused
    ? { at: paused.at, until: paused.until, by: paused.by, reason: paused.reason }
    : null;
  return {
    ...state,
    next_action: pausedView ? `${nextAction(state)} (automation paused)` : nextAction(state),
    paused: pausedView,
  };
}

/** The site state port over the store: read at each request, the pause set by operate callers. */
export function siteDeps(
  sites: SiteStateStore,
  clock: () => number = () => Date.now() / 1000,
): NonNullable<ServerDeps['site']> {
  const current = async () => siteView(await sites.current(), await sites.pause(clock()));
  return {
    current,
    async setPause(seconds, by, reason) {
      const now = clock();
      const pause = seconds === null ? null : { at: now, until: now + seconds, by, reason };
      await sites.setPause(pause, { by: `api:${by}`, reason }, now);
      return current();
    },
  };
}

export interface ControllerParts {
  controller: Pick<Controller, 'on' | 'off' | 'latest' | 'runCycleNow'>;
  history?: HistoryStore;
  /** The runbook journal and the change log; without them, both are opened on the history store's database. */
  journal?: Journal;
  changes?: ChangeStore;
  /** The runbook readiness monitor of `phoenix run`. */
  readiness?: RunbookReadinessView;
  failback?: ServerDeps['failback'];
  interval_s: number;
  /** The controller lease of `phoenix run`. */
  leader?: Pick<LeaderElector, 'status'>;
  /** The site state; without it, read from the history store's database. */
  sites?: SiteStateStore;
  /** For the run reports' RTO/RPO targets. */
  config?: PhoenixConfig;
}

/** Adapts the live controller, its history store, the runbook journal and the change log to the server's ports. */
export function createServerDeps(parts: ControllerParts): ServerDeps {
  const { controller, history } = parts;
  const journal = parts.journal ?? (history ? new Journal(history.db) : undefined);
  const changes = parts.changes ?? (history ? ChangeStore.on(history.db) : undefined);
  const sites = parts.sites ?? (history ? new SiteStateStore(history.db) : undefined);
  return {
    interval_s: parts.interval_s,
    trigger: controller,
    events: {
      onCycle(listener: (record: CycleRecord) => void) {
        controller.on('cycle', listener);
        return () => controller.off('cycle', listener as (...args: never[]) => void);
      },
    },
    status: {
      latest: () => controller.latest(),
      async history(since: number, limit?: number): Promise<HistoryPoint[]> {
        if (history) return (await history.cycles({ since, limit })).map(toHistoryPoint);
        const latest = controller.latest();
        return latest && latest.at >= since ? [toHistoryPoint(latest)] : [];
      },
      decisions(limit: number) {
        if (history) return history.decisions({ limit });
        const latest = controller.latest();
        return latest ? [latest.decision] : [];
      },
    },
    runs: journal ? new JournalRunControl(journal, parts.config) : undefined,
    readiness: parts.readiness,
    failback: parts.failback,
    leader: parts.leader ? () => parts.leader!.status() : undefined,
    store: history
      ? { health: () => history.db.health(), ping: () => history.db.get('SELECT 1 AS up') }
      : undefined,
    signatures: history ? new SeenSignatureStore(history.db) : undefined,
    site: sites ? siteDeps(sites) : undefined,
    drills: history && parts.config?.raw.drills ? new DrillStore(history.db) : undefined,
    changes: changes
      ? { record: (change: ChangeRecord) => changes.record({ ...change, source: 'api' }) }
      : undefined,
  };
}
