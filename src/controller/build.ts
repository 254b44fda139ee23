import type { PhoenixConfig } from '../config/index.js';
import { createAnalyzer, LlmCallLog, type AnalyzerName, type CallLogState } from '../analysis/index.js';
import { createSiteSignalSource, probeSchedule, ReplaceableProbes, type Probes } from '../signals/index.js';
import { SiteStateStore } from '../lifecycle/index.js';
import {
  FencedError,
  HistoryStore,
  leaseStoreOn,
  openStore,
  SqlDecisionStateStore,
  type Fence,
} from '../store/index.js';
import type { DecisionState, SiteInput } from '../decision/index.js';
import type { Logger } from '../log/index.js';
import { Controller, type DecisionSink } from './controller.js';
import { LeaderElector } from './leader.js';

export interface BuiltController {
  controller: Controller;
  probes: Probes;
  history?: HistoryStore;
  /** The controller lease; only this process's leader may act (absent when nothing is recorded). */
  leader?: LeaderElector;
  /**
   * The journal's fence: this process's fencing token, checked against the lease inside
   * the write's own transaction; throws FencedError when this process does not lead.
   */
  fence?: Fence;
  /**
   * Builds the analyzer again from the configuration as it is now (a secret read late or rotated) and hands it
   * to the next cycle; the model calls made so far still count against llm.max_calls_per_hour.
   */
  rebuildAnalyzer(): void;
  /** Builds the probes again from the configuration as it is now; the next cycle probes with them. */
  rebuildProbes(): void;
  /** Stops the controller (finishing the cycle in flight), gives up the lease, closes probes and the store. */
  shutdown(): Promise<void>;
}

/** The serving site as the controller reads it each cycle: the durable site state's `active_site`. */
export function servingSiteOf(sites: SiteStateStore): () => Promise<SiteInput> {
  return async () => {
    const current = await sites.current();
    return { active_site: current.active_site, state: current.state, run_id: current.run_id };
  };
}

/** The name of the LLM call log among the store's named states (beside the decision state, `controller`). */
const LLM_CALLS = 'llm_calls';

/** Opens the history in the configured store (`store.path` for SQLite, `store.url` for PostgreSQL). */
export async function openHistory(config: PhoenixConfig): Promise<HistoryStore> {
  return new HistoryStore(await openStore(config.store), config.store.retention_s);
}

/**
 * Wires a controller from configuration: probes, context gatherers (when a
 * `context` section exists), the configured analyzer and, unless `record` is
 * false, the history store, the decision state and the controller lease.
 */
export async function buildController(
  config: PhoenixConfig,
  options: {
    logger?: Logger;
    analyzer?: AnalyzerName;
    record?: boolean;
    sink?: DecisionSink;
    /** Act only while holding the controller lease (`phoenix run`); the caller starts `leader`. */
    lease?: boolean;
  } = {},
): Promise<BuiltController> {
  const probes = new ReplaceableProbes(createSiteSignalSource(config));
  const history = options.record === false ? undefined : await openHistory(config);
  // The cap counts calls across rebuilds and restarts: the log lives beside the decision state.
  const llmCalls = new LlmCallLog(
    history ? new SqlDecisionStateStore<CallLogState>(history.db, undefined, LLM_CALLS) : undefined,
    (error) =>
      options.logger?.warn(
        { err: error },
        'the LLM call log could not be read or written in the store; the calls this process made still count',
      ),
  );
  const analyzerName = options.analyzer ?? config.decision.analyzer;
  const analyzer = createAnalyzer(analyzerName, config, { llmCalls });
  const lease = history && options.lease ? leaseStoreOn(history.db) : undefined;
  const leader = lease
    ? new LeaderElector({ lease, ttl_s: config.store.lease_ttl_s, logger: options.logger })
    : undefined;
  const fence =
    lease && leader
      ? async () => {
          const token = leader.currentToken();
          if (token === undefined) throw new FencedError('this controller does not hold the lease');
          await lease.assertToken(token);
          return token;
        }
      : undefined;
  // Context gatherers pull in cloud SDKs; load them only when configured.
  const context = config.raw.context
    ? (await import('../context/index.js')).createContextGatherer(config)
    : undefined;
  const schedule = probeSchedule(config);
  const controller = new Controller({
    config,
    signals: probes,
    context,
    history,
    analyzer,
    logger: options.logger,
    sink: options.sink,
    jitter_s: schedule.jitter_s,
    state: history ? new SqlDecisionStateStore<DecisionState>(history.db) : undefined,
    leader,
    // The probes and the decision core follow the site that serves (docs/lifecycle.md).
    site: history ? servingSiteOf(new SiteStateStore(history.db)) : undefined,
  });
  return {
    controller,
    probes,
    history,
    leader,
    fence,
    rebuildAnalyzer() {
      controller.useAnalyzer(createAnalyzer(analyzerName, config, { llmCalls }));
    },
    rebuildProbes() {
      probes.replace(createSiteSignalSource(config));
    },
    async shutdown() {
      await controller.stop();
      await leader?.stop();
      await probes.close();
      await history?.db.close();
    },
  };
}
