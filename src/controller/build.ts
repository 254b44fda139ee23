import type { PhoenixConfig } from '../config/index.js';
import { createAnalyzer, type AnalyzerName } from '../analysis/index.js';
import { createSignalSource, probeSchedule, type ProbeSet } from '../signals/index.js';
import { HistoryStore, openDatabase } from '../store/index.js';
import type { Logger } from '../log/index.js';
import { Controller, type DecisionSink } from './controller.js';

export interface BuiltController {
  controller: Controller;
  probes: ProbeSet;
  history?: HistoryStore;
  /** Stops the controller (finishing the cycle in flight), then closes probes and the store. */
  shutdown(): Promise<void>;
}

/** Opens the history store named by `store.path` (SQLite). */
export function openHistory(config: PhoenixConfig): HistoryStore {
  if (config.store.driver !== 'sqlite')
    throw new Error(`store.driver ${config.store.driver} is not supported by this build; use sqlite`);
  return new HistoryStore(openDatabase(config.store.path), config.store.retention_s);
}

/**
 * Wires a controller from configuration: probes, context gatherers (when a
 * `context` section exists), the configured analyzer and, unless `record` is
 * false, the history store.
 */
export async function buildController(
  config: PhoenixConfig,
  options: { logger?: Logger; analyzer?: AnalyzerName; record?: boolean; sink?: DecisionSink } = {},
): Promise<BuiltController> {
  const analyzer = createAnalyzer(options.analyzer ?? config.decision.analyzer, config);
  const probes = createSignalSource(config);
  const history = options.record === false ? undefined : openHistory(config);
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
  });
  return {
    controller,
    probes,
    history,
    async shutdown() {
      await controller.stop();
      await probes.close();
      history?.db.close();
    },
  };
}
