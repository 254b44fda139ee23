import type { Command } from 'commander';
import {
  keepSecretsCurrent,
  loadConfig,
  retryUnreadSecrets,
  type LiveSection,
  type PhoenixConfig,
} from '../../config/index.js';
import {
  findReferences,
  runbookSecretsOnlyInPrimary,
  SecretCache,
  secretReader,
  secretRegions,
  secretStoreOptions,
  withSecretResidency,
} from '../../secrets/index.js';
import { loadConfigReadingSecrets, storeOptionsOf } from './config-secrets.js';
import { ANALYZER_NAMES, type AnalyzerName } from '../../analysis/index.js';
import { buildController, type BuiltController, type DecisionSink } from '../../controller/index.js';
import { FencedError } from '../../store/index.js';
import {
  createRunbookDecisionSink,
  readiness as runbookReadiness,
  runbooksForSite,
  configuredRunbooks,
  ReadinessMonitor,
  FailbackMonitor,
  FenceWatcher,
  resumeInterruptedRuns,
  type RunbookDecisionSink,
  type RunEvent,
} from '../../runbook/index.js';
import { createLogger, LOG_LEVELS, prettyFromFormat, type Logger, type LogLevel } from '../../log/index.js';
import { Notifier, NotificationStateStore } from '../../notifications/index.js';
import { DrillScheduler, DrillStore } from '../../drills/index.js';
import { createServerDeps, startServer } from '../../server/index.js';
import { UserError } from '../errors.js';
import { SiteStateStore } from '../../lifecycle/index.js';

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

/**
 * Starts the lease: elected, this process restores the decision state and resumes the
 * runs its predecessor left; demoted, it stops its runs at once (the next leader resumes
 * them). When another controller leads, it exits with the reason unless `standby`.
 */
async function takeLeadership(
  built: BuiltController,
  runbooks: RunbookDecisionSink | undefined,
  options: { standby: boolean; logger: Logger; notifier?: Notifier },
): Promise<void> {
  const leader = built.leader!;
  const elected = async (token: number) => {
    await built.controller.restoreState();
    // What the previous leader told on-call: not sent again, and resolved with its keys.
    await options.notifier
      ?.restore()
      .catch((error: unknown) =>
        options.logger.warn({ err: error }, 'could not restore the notification state'),
      );
    if (!runbooks) return;
    // A failover interrupted by a crash, a restart or a paused ex-leader continues where it stopped.
    for (const handle of await resumeInterruptedRuns({ ...runbooks.options }, runbooks.engine)) {
      options.logger.warn({ run: handle.runId, token }, 'resuming an interrupted runbook run');
      handle.done.catch(() => undefined);
    }
  };
  const status = await leader.start();
  if (status.role === 'leader') await elected(leader.currentToken() ?? 0);
  else if (!options.standby) {
    await built.shutdown();
    throw new UserError(
      `another controller holds this store: ${status.leader ?? 'unknown'} (fencing token ${status.token ?? '?'}); only one controller may act. Stop it first, point the store (store.path, or store.schema on PostgreSQL) elsewhere, or start this one with --standby to follow and take over when it stops`,
    );
  } else options.logger.warn({ leader: status.leader }, 'standby: another controller leads; following');
  leader.onElected(elected);
  leader.onDemoted((reason) => runbooks?.engine.stopAll(new FencedError(`demoted: ${reason}`)));
}

/**
 * The fence that waits (docs/lifecycle.md): after each cycle the leader looks whether an old
 * primary left fence_pending answers again, pages if it takes writes, and fences it.
 */
function watchOldPrimary(
  built: BuiltController,
  runbooks: RunbookDecisionSink,
  notifier: Notifier | undefined,
  logger: Logger,
): void {
  const { sites, config, fence } = runbooks.options;
  const watcher = new FenceWatcher({
    sites: sites!,
    engine: runbooks.engine,
    config,
    fence,
    logger: logger.child({ component: 'fence-watch' }),
    page: async (page) =>
      notifier?.send({ kind: 'lifecycle', subject: 'old_primary', source: 'controller', ...page }),
  });
  built.controller.on('cycle', () => {
    if (built.leader && !built.leader.isLeader()) return;
    watcher.check().catch((error: unknown) => logger.error({ err: error }, 'the fence watch failed'));
  });
}

type RunOptions = { config: string; analyzer?: string; standby?: boolean } & LogOptions;

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the controller: probe, score, decide and record every interval until SIGTERM/SIGINT')
    .requiredOption('--config <file>', 'YAML configuration file')
    .option('--analyzer <name>', `analyzer to use (${ANALYZER_NAMES.join(', ')}); default: decision.analyzer`)
    .option('--log-level <level>', `log level (${LOG_LEVELS.join(', ')})`, 'info')
    .option('--log-format <format>', 'json, pretty, or auto (pretty on a terminal)', 'auto')
    .option(
      '--standby',
      'when another controller holds the store, wait as a follower (probe, serve the read API) and take over when its lease lapses, instead of exiting',
    )
    .action((options: RunOptions) => runController(options));
}

/**
 * What the controller hands each decision to: on-call (Slack, PagerDuty, a webhook) and,
 * once the engine exists (`runbooks.current`), the runbook that decision starts.
 */
function decisionSink(
  notifier: { current?: Notifier },
  runbooks: { current?: RunbookDecisionSink },
  logger: Logger,
): DecisionSink {
  return {
    async onDecision(decision) {
      notifier.current?.onDecision(decision);
      if (!runbooks.current) return undefined;
      const outcome = await runbooks.current.onDecision(decision);
      if (outcome.kind !== 'ignored') {
        logger.warn(
          {
            runbook: outcome.runbook,
            outcome: outcome.kind,
            run: 'handle' in outcome ? outcome.handle.runId : undefined,
          },
          outcome.kind === 'refused' ? `runbook refused: ${outcome.reason}` : `runbook ${outcome.kind}`,
        );
      }
      return outcome;
    },
  };
}

async function runController(options: RunOptions): Promise<void> {
  // ${aws-sm:...} / ${azure-kv:...} are read once here and kept for the runbooks, from the replicas when the
  // secrets' own region is the one failing (the file is read once without them to learn where those are).
  // A secret that cannot be read (its region is the one failing, and no replica answers) does not stop the
  // controller: the runbooks that need it are not ready, and it is read again every cycle.
  const secrets = new SecretCache(secretReader(storeOptionsOf(options.config)));
  const config = await loadConfigReadingSecrets(options.config, { cache: secrets, warn: false });
  const logger = loggerFromOptions(options);
  if (config.unreadSecrets?.size)
    logger.warn(
      { unread: Object.fromEntries(config.unreadSecrets), blocks: await runbooksNeeding(config) },
      'starting without some secrets: the runbooks that need them are not ready; they are read again every cycle',
    );
  if (options.analyzer && !ANALYZER_NAMES.includes(options.analyzer as AnalyzerName))
    throw new UserError(
      `--analyzer "${options.analyzer}" is not known; use one of ${ANALYZER_NAMES.join(', ')}`,
    );
  // Decisions to act start the configured runbook, and reach on-call; both share the history's store.
  const runbooks: { current?: RunbookDecisionSink } = {};
  const notify: { current?: Notifier } = {};
  const sink =
    config.raw.runbooks || config.raw.notifications ? decisionSink(notify, runbooks, logger) : undefined;
  let built: BuiltController;
  try {
    built = await buildController(config, {
      logger,
      analyzer: options.analyzer as AnalyzerName | undefined,
      sink,
      lease: true,
    });
  } catch (error) {
    throw new UserError((error as Error).message);
  }
  // Decisions, runbook results and readiness changes reach on-call (Slack, PagerDuty, a webhook);
  // what was sent is kept in the store, so a restart or a takeover sends nothing twice.
  const notifier = config.raw.notifications
    ? new Notifier({
        settings: config.raw.notifications,
        logger: logger.child({ component: 'notify' }),
        state: built.history ? new NotificationStateStore(built.history.db) : undefined,
        leader: built.leader,
      })
    : undefined;
  notify.current = notifier;
  const useChanged = liveSettings(config, built, notifier, logger);
  // Rotated secrets reach the next run: the references are read again every `secrets.refresh`.
  keepSecretsCurrent(config, secrets, {
    onRefresh: ({ rotated, failures, changed }) => {
      if (rotated.length)
        logger.info({ rotated }, 'secrets rotated; the next runbook run uses the new values');
      useChanged(changed);
      if (failures.size)
        logger.warn(
          { failures: Object.fromEntries(failures) },
          'some secrets could not be read again; the last values stay in use',
        );
    },
  });
  if (config.raw.runbooks && built.history) {
    const onEvent = (event: RunEvent) => {
      logger.info(event, `runbook ${event.type}`);
      if (built.leader?.isLeader()) notifier?.onRunEvent(event);
    };
    runbooks.current = createRunbookDecisionSink({
      db: built.history.db,
      config,
      onEvent,
      fence: built.fence,
      sites: new SiteStateStore(built.history.db),
    });
    watchOldPrimary(built, runbooks.current, notifier, logger);
  }
  await takeLeadership(built, runbooks.current, { standby: Boolean(options.standby), logger, notifier });
  const secretsRead: { notify?: () => void } = {};
  retryUnreadEveryCycle(built, config, secrets, logger, (changed) => {
    useChanged(changed);
    secretsRead.notify?.();
  });
  await serveUntilSignal(built, runbooks.current, notifier, {
    config,
    logger,
    file: options.config,
    secretsRead,
  });
}

/**
 * Hands settings resolved again (a secret read late, or rotated) to what was built from them at start: the
 * notification channels, the probes (a token in a header, a password in a DSN) and the analyzer (its LLM key
 * or address). The runbooks need nothing: each run's
 * plan is built from the configuration when it starts.
 */
function liveSettings(
  config: PhoenixConfig,
  built: BuiltController,
  notifier: Notifier | undefined,
  logger: Logger,
): (changed: LiveSection[]) => void {
  return (changed) => {
    if (changed.includes('notifications') && notifier && config.raw.notifications)
      notifier.useSettings(config.raw.notifications);
    if (changed.includes('probes')) {
      try {
        built.rebuildProbes();
      } catch (error) {
        logger.error({ err: error }, 'the probes read again are not usable; the probes are unchanged');
      }
    }
    if (changed.includes('llm')) {
      try {
        built.rebuildAnalyzer();
      } catch (error) {
        // The settings no longer make an analyzer (a value read late that is not a URL): keep the one running.
        logger.error({ err: error }, 'the LLM settings read again are not usable; the analyzer is unchanged');
      }
    }
  };
}

/** For each unread secret, the runbooks that hold it (main file or runbooks file). */
async function runbooksNeeding(config: PhoenixConfig): Promise<Record<string, string[]>> {
  const { configuredRunbooks, loadRunbooks } = await import('../../runbook/index.js');
  const out: Record<string, string[]> = {};
  try {
    const all = loadRunbooks(config) as Record<string, unknown>;
    for (const name of configuredRunbooks(config))
      for (const text of findReferences(all[name]).keys())
        if (config.unreadSecrets?.has(text)) (out[text] ??= []).push(name);
  } catch {
    // The readiness pass reports a runbooks file that does not load.
  }
  return out;
}

/**
 * Started without some secrets: after each cycle, reads those again (one attempt at a time); once one is
 * readable the runbooks are re-resolved and readiness is checked at once, so the runbooks it blocked are
 * ready without waiting for the next readiness pass.
 */
function retryUnreadEveryCycle(
  built: BuiltController,
  config: PhoenixConfig,
  secrets: SecretCache,
  logger: Logger,
  onRead: (changed: LiveSection[]) => void,
): void {
  let retrying = false;
  built.controller.on('cycle', () => {
    if (retrying || !config.unreadSecrets?.size) return;
    retrying = true;
    retryUnreadSecrets(config, secrets)
      .then(({ read, changed }) => {
        if (!read.length) return;
        logger.info(
          { read, still_unread: [...(config.unreadSecrets?.keys() ?? [])], changed },
          'secrets readable now; what needed them uses them from now on',
        );
        onRead(changed);
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'reading the unread secrets again failed'))
      .finally(() => (retrying = false));
  });
}

/** The runbooks a readiness pass checks for the serving site; undefined (all) when that cannot be said. */
async function readinessRunbooks(
  config: PhoenixConfig,
  built: BuiltController,
): Promise<string[] | undefined> {
  if (!built.history) return undefined;
  try {
    const serving = (await new SiteStateStore(built.history.db).current()).active_site;
    return runbooksForSite(configuredRunbooks(config), serving);
  } catch {
    // An unreadable runbook file or store: the pass itself reports the runbooks' problems.
    return undefined;
  }
}

/** Starts the readiness checks, the API, the drills and the schedule; stops them all at SIGTERM/SIGINT. */
async function serveUntilSignal(
  built: BuiltController,
  runbooks: RunbookDecisionSink | undefined,
  notifier: Notifier | undefined,
  {
    config,
    logger,
    file,
    secretsRead,
  }: { config: PhoenixConfig; logger: Logger; file: string; secretsRead: { notify?: () => void } },
): Promise<void> {
  // The runbooks' pre-flight checks as a readiness signal: a broken runbook is found before the disaster.
  const readiness = config.raw.runbooks
    ? new ReadinessMonitor({
        config,
        logger: logger.child({ component: 'readiness' }),
        // Plus a secret a runbook needs that is held only in the primary region (DESIGN principle 10).
        // While another site serves, the failovers cannot run: the pass checks the way back instead.
        check: async () =>
          withSecretResidency(
            await runbookReadiness(config, { runbooks: await readinessRunbooks(config, built) }),
            await runbookSecretsOnlyInPrimary(
              loadConfig(file).raw.runbooks,
              config.topology.primary.region,
              secretRegions(secretStoreOptions(config.raw.secrets, config.topology).aws),
            ),
          ),
        // Followers pass it on too: only the leader sends, and a new leader announces what changed.
        onChange: (report) => notifier?.onReadiness(report),
      })
    : undefined;
  const stopSignal = untilSignal();
  logger.info(
    {
      config: file,
      interval_s: config.interval_s,
      probes: built.probes.names,
      analyzer: built.controller.analyzerName,
      store: built.history?.db.describe() ?? config.store.path,
      role: built.leader?.status().role,
    },
    'controller started',
  );
  // Whether the way back is open (phoenix_failback_ready, /api/status), when a failback runbook exists.
  const failback = config.raw.runbooks?.failback ? new FailbackMonitor(config) : undefined;
  const deps = createServerDeps({ ...built, config, readiness, failback, interval_s: config.interval_s });
  const server =
    config.raw.server?.enabled === false
      ? undefined
      : await startServer({ config, deps, logger }).catch(async (e: Error) => {
          await built.shutdown();
          throw new UserError(e.message);
        });
  if (server) logger.info({ url: server.url }, 'HTTP API, /metrics and dashboard listening');
  // Scheduled drills run on the acting controller only (src/drills).
  const drills =
    config.raw.drills && built.history
      ? new DrillScheduler({
          config,
          store: new DrillStore(built.history.db),
          isLeader: () => built.leader?.isLeader() ?? false,
          engine: runbooks?.engine,
        })
      : undefined;
  await built.controller.start();
  readiness?.start();
  secretsRead.notify = () => void readiness?.check();
  failback?.start();
  drills?.start();
  const signal = await stopSignal;
  logger.info({ signal }, 'stopping: finishing the cycle in flight');
  await drills?.stop();
  await readiness?.stop();
  failback?.stop();
  await server?.close();
  await built.shutdown();
  await notifier?.flush();
  logger.info({ cycles: built.controller.status().cycles }, 'controller stopped');
  logger.flush?.();
  // Abandoned probe sockets must not keep the process alive after a clean stop.
  process.exit(0);
}
