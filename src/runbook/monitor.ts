import type { PhoenixConfig } from '../config/index.js';
import { silentLogger, type Logger } from '../log/index.js';
import { readiness, type RunbookReadiness } from './readiness.js';

/** One pass of every runbook's pre-flight checks. */
export interface ReadinessReport {
  /** Unix seconds when the pass started. */
  checked_at: number;
  duration_ms: number;
  /** Every configured runbook passed every check. */
  ready: boolean;
  runbooks: RunbookReadiness[];
}

export interface ReadinessMonitorOptions {
  config: PhoenixConfig;
  logger?: Logger;
  /** Seconds between passes; default `runbooks.readiness_interval`, else 5 minutes. */
  interval_s?: number;
  /** Unix seconds; tests pass their own. */
  clock?: () => number;
  /** Runs the checks; defaults to `readiness(config)`. */
  check?: () => Promise<RunbookReadiness[]>;
  /** Told when readiness changes from ready (or unknown) to not ready and back. */
  onChange?: (report: ReadinessReport, previous: ReadinessReport | undefined) => void;
}

export const DEFAULT_READINESS_INTERVAL_S = 300;

/** `stage/step check` lines for every failing check and problem, for logs and notifications. */
export function readinessFailures(report: ReadinessReport): string[] {
  const out: string[] = [];
  for (const runbook of report.runbooks) {
    for (const problem of runbook.problems) out.push(`${runbook.runbook}: ${problem}`);
    for (const step of runbook.steps)
      for (const check of step.checks)
        if (!check.ok)
          out.push(`${runbook.runbook} ${step.stage}/${step.step} ${check.check}: ${check.detail}`);
  }
  return out;
}

/**
 * The readiness signal of `phoenix run`: the same pre-flight checks as `phoenix plan`,
 * at start and every interval, so a broken runbook (a missing binary, an expired
 * credential, a replica beyond the RPO budget) is found before the disaster. Passes
 * never overlap and never hold up a cycle; a pass that throws is logged and the
 * previous result stays.
 */
export class ReadinessMonitor {
  readonly interval_s: number;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly run: () => Promise<RunbookReadiness[]>;
  private last?: ReadinessReport;
  private inFlight?: Promise<ReadinessReport | undefined>;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private started = false;

  constructor(private readonly options: ReadinessMonitorOptions) {
    this.interval_s =
      options.interval_s ?? options.config.raw.runbooks?.readiness_interval ?? DEFAULT_READINESS_INTERVAL_S;
    this.logger = options.logger ?? silentLogger();
    this.clock = options.clock ?? (() => Date.now() / 1000);
    this.run = options.check ?? (() => readiness(options.config));
  }

  /** The last finished pass. */
  latest(): ReadinessReport | undefined {
    return this.last;
  }

  /** Checks now, then every interval after each pass ends. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    const loop = async () => {
      this.timer = undefined;
      await this.check();
      if (!this.stopped) this.timer = setTimeout(() => void loop(), this.interval_s * 1000);
    };
    void loop();
  }

  /** Runs one pass now; a caller arriving while one runs gets that one. Never throws. */
  check(): Promise<ReadinessReport | undefined> {
    if (this.inFlight) return this.inFlight;
    const pass = this.pass().finally(() => {
      if (this.inFlight === pass) this.inFlight = undefined;
    });
    this.inFlight = pass;
    return pass;
  }

  private async pass(): Promise<ReadinessReport | undefined> {
    const checked_at = this.clock();
    const started = performance.now();
    let runbooks: RunbookReadiness[];
    try {
      runbooks = await this.run();
    } catch (error) {
      this.logger.error({ err: error }, 'runbook readiness check failed to run; keeping the last result');
      return undefined;
    }
    const report: ReadinessReport = {
      checked_at,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      ready: runbooks.every((r) => r.ok),
      runbooks,
    };
    const previous = this.last;
    this.last = report;
    if (report.ready !== previous?.ready) {
      if (!report.ready)
        this.logger.warn(
          {
            runbooks: runbooks.filter((r) => !r.ok).map((r) => r.runbook),
            failures: readinessFailures(report),
          },
          'runbook readiness: NOT ready; a failover now would fail at these checks',
        );
      else
        this.logger.info(
          { runbooks: runbooks.map((r) => r.runbook) },
          previous ? 'runbook readiness: ready again' : 'runbook readiness: ready',
        );
      try {
        this.options.onChange?.(report, previous);
      } catch (error) {
        this.logger.error({ err: error }, 'a readiness subscriber threw');
      }
    }
    return report;
  }

  /** Stops the schedule and waits for a pass in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }
}
