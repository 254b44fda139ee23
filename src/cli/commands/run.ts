import type { Command } from 'commander';
import { loadConfigWithSecrets } from '../../config/index.js';
import { SecretCache, secretReader } from '../../secrets/index.js';
import { ANALYZER_NAMES, type AnalyzerName } from '../../analysis/index.js';
import { buildController, type DecisionSink } from '../../controller/index.js';
import {
  createRunbookDecisionSink,
  ReadinessMonitor,
  resumeInterruptedRuns,
  type RunbookDecisionSink,
  type RunEvent,
} from '../../runbook/index.js';
import { createLogger, LOG_LEVELS, prettyFromFormat, type LogLevel } from '../../log/index.js';
import { Notifier } from '../../notifications/index.js';
import { createServerDeps, startServer } from '../../server/index.js';
import { UserError } from '../errors.js';

export interface LogOptions {
  logLevel: string;
  logFormat?: string;
}

export function loggerFromOptions(options: LogOptions) {
  if (!LOG_LEVELS.includes(options.logLevel as LogLevel))
    throw new UserError(
      `--log-level "${options.logLevel}" is not known; use one of ${LOG_LEVELS.join(', ')}`,
    );
  let pretty;
  try {
    pretty = prettyFromFormat(options.logFormat);
  } catch (error) {
    throw new UserError((error as Error).message);
  }
  return createLogger({ level: options.logLevel as LogLevel, pretty });
}

/** Resolves when SIGTERM or SIGINT arrives. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
      resolve(signal);
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the controller: probe, score, decide and record every interval until SIGTERM/SIGINT')
    .requiredOption('--config <file>', 'YAML configuration file')
    .option('--analyzer <name>', `analyzer to use (${ANALYZER_NAMES.join(', ')}); default: decision.analyzer`)
    .option('--log-level <level>', `log level (${LOG_LEVELS.join(', ')})`, 'info')
    .option('--log-format <format>', 'json, pretty, or auto (pretty on a terminal)', 'auto')
    .action(async (options: { config: string; analyzer?: string } & LogOptions) => {
      // ${aws-sm:...} / ${azure-kv:...} are read once here and kept for the runbooks.
      const config = await loadConfigWithSecrets(options.config, new SecretCache(secretReader()));
      const logger = loggerFromOptions(options);
      if (options.analyzer && !ANALYZER_NAMES.includes(options.analyzer as AnalyzerName))
        throw new UserError(
          `--analyzer "${options.analyzer}" is not known; use one of ${ANALYZER_NAMES.join(', ')}`,
        );
      // Decisions, runbook results and readiness changes reach on-call (Slack, PagerDuty, a webhook).
      const notifier = config.raw.notifications
        ? new Notifier({
            settings: config.raw.notifications,
            logger: logger.child({ component: 'notify' }),
          })
        : undefined;
      // Decisions to act start the configured runbook; the engine shares the history's database.
      let runbooks: RunbookDecisionSink | undefined;
      const sink: DecisionSink | undefined =
        config.raw.runbooks || notifier
          ? {
              async onDecision(decision) {
                notifier?.onDecision(decision);
                if (!runbooks) return undefined;
                const outcome = await runbooks.onDecision(decision);
                if (outcome.kind !== 'ignored') {
                  logger.warn(
                    {
                      runbook: outcome.runbook,
                      outcome: outcome.kind,
                      run: 'handle' in outcome ? outcome.handle.runId : undefined,
                    },
                    outcome.kind === 'refused'
                      ? `runbook refused: ${outcome.reason}`
                      : `runbook ${outcome.kind}`,
                  );
                }
                return outcome;
              },
            }
          : undefined;
      let built;
      try {
        built = await buildController(config, {
          logger,
          analyzer: options.analyzer as AnalyzerName | undefined,
          sink,
        });
      } catch (error) {
        throw new UserError((error as Error).message);
      }
      if (config.raw.runbooks && built.history) {
        const onEvent = (event: RunEvent) => {
          logger.info(event, `runbook ${event.type}`);
          notifier?.onRunEvent(event);
        };
        runbooks = createRunbookDecisionSink({ db: built.history.db, config, onEvent });
        // A failover interrupted by a crash or restart continues where it stopped.
        for (const handle of resumeInterruptedRuns({ db: built.history.db, config, onEvent })) {
          logger.warn({ run: handle.runId }, 'resuming an interrupted runbook run');
          handle.done.catch(() => undefined);
        }
      }
      // The runbooks' pre-flight checks as a readiness signal: a broken runbook is found before the disaster.
      const readiness = config.raw.runbooks
        ? new ReadinessMonitor({
            config,
            logger: logger.child({ component: 'readiness' }),
            onChange: (report, previous) => notifier?.onReadiness(report, previous),
          })
        : undefined;
      const stopSignal = untilSignal();
      logger.info(
        {
          config: options.config,
          interval_s: config.interval_s,
          probes: built.probes.names,
          analyzer: built.controller.analyzerName,
          store: config.store.path,
        },
        'controller started',
      );
      const deps = createServerDeps({ ...built, readiness, interval_s: config.interval_s });
      const server =
        config.raw.server?.enabled === false
          ? undefined
          : await startServer({ config, deps, logger }).catch(async (e: Error) => {
              await built.shutdown();
              throw new UserError(e.message);
            });
      if (server) logger.info({ url: server.url }, 'HTTP API, /metrics and dashboard listening');
      built.controller.start();
      readiness?.start();
      const signal = await stopSignal;
      logger.info({ signal }, 'stopping: finishing the cycle in flight');
      await readiness?.stop();
      await server?.close();
      await built.shutdown();
      await notifier?.flush();
      logger.info({ cycles: built.controller.status().cycles }, 'controller stopped');
      logger.flush?.();
      // Abandoned probe sockets must not keep the process alive after a clean stop.
      process.exit(0);
    });
}
