import { Gauge, type Registry } from 'prom-client';
import type { PhoenixConfig } from '../config/index.js';
import { cutoverParamsSchema, type CutoverParams } from '../actions/database/config.js';
import { notReady, switchoverReadiness, type SwitchoverReadiness } from '../actions/database/failback.js';
import { buildPlan } from './plan.js';
import type { RunRow } from './journal.js';

/** Whether the way back is open: the failback runbook's cut-over, measured from both databases. */
export interface FailbackReadiness extends SwitchoverReadiness {
  /** Unix seconds. */
  checked_at: number;
  /** The failback runbook's step that was measured, when there is one. */
  step: string | null;
}

/** The failback runbook's cut-over step: the rebuilt primary subscribing to the serving database. */
export function failbackCutover(config: PhoenixConfig): { step: string; params: CutoverParams } | undefined {
  if (!config.raw.runbooks?.failback) return undefined;
  const plan = buildPlan(config, 'failback');
  for (const stage of plan.stages)
    for (const step of stage.steps) {
      const params = step.params as { action?: string } | undefined;
      if (step.type === 'database' && params?.action === 'cutover')
        return { step: step.name, params: cutoverParamsSchema.parse(params) };
    }
  return undefined;
}

/** Measures now; a configuration without a failback cut-over says so as its reason. */
export async function failbackReadiness(
  config: PhoenixConfig,
  clock: () => number = () => Date.now() / 1000,
  timeoutMs = 5000,
): Promise<FailbackReadiness> {
  const checked_at = clock();
  let found: ReturnType<typeof failbackCutover>;
  try {
    found = failbackCutover(config);
  } catch (error) {
    return blank(checked_at, `the failback runbook cannot be planned: ${(error as Error).message}`);
  }
  if (!found)
    return blank(
      checked_at,
      'no failback runbook with a database cut-over (action: cutover) is configured; see README "The way back"',
    );
  return { checked_at, step: found.step, ...(await switchoverReadiness(found.params, timeoutMs)) };
}

function blank(checked_at: number, reason: string): FailbackReadiness {
  return { checked_at, step: null, ...notReady(reason) };
}

export interface FailbackReadinessView {
  latest(): FailbackReadiness | undefined;
}

/** Re-measures failback readiness every interval (never overlapping); `latest()` is the last result. */
export class FailbackMonitor implements FailbackReadinessView {
  private last?: FailbackReadiness;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly config: PhoenixConfig,
    private readonly interval_s = config.interval_s,
  ) {}

  latest(): FailbackReadiness | undefined {
    return this.last;
  }

  async check(): Promise<FailbackReadiness> {
    this.last = await failbackReadiness(this.config);
    return this.last;
  }

  start(): void {
    const loop = async () => {
      await this.check().catch(() => undefined);
      if (!this.stopped) this.timer = setTimeout(loop, this.interval_s * 1000);
    };
    void loop();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

/** phoenix_failback_ready and phoenix_failback_lag_seconds, read from the view at scrape time. */
export function registerFailbackMetrics(registry: Registry, view: FailbackReadinessView): void {
  new Gauge({
    name: 'phoenix_failback_ready',
    help: 'Whether a failback (planned switchover back to the rebuilt primary) could start now (1) or not (0); absent before the first check',
    registers: [registry],
    collect() {
      this.reset();
      const last = view.latest();
      if (last) this.set(last.ready ? 1 : 0);
    },
  });
  new Gauge({
    name: 'phoenix_failback_lag_seconds',
    help: 'How far the rebuilt primary is behind the serving database, measured from both ends; absent when unknown',
    registers: [registry],
    collect() {
      this.reset();
      const lag = view.latest()?.lag_s;
      if (typeof lag === 'number') this.set(lag);
    },
  });
}

/** The runbooks during which the controller must start no DR failover. */
export const WAY_BACK_RUNBOOKS = ['reprotect', 'failback'] as const;

/**
 * Why the controller must not start a DR failover now, or undefined when it may: a reprotect or failback
 * runs, or a reprotect finished and no failback has yet (the DR site serves, the old primary subscribes
 * to it; a failover "to DR" would cut over a subscription that no longer exists). Works with a
 * synchronous or an asynchronous journal.
 */
export async function wayBackInProgress(journal: {
  lastRun(runbook: string): RunRow | undefined | Promise<RunRow | undefined>;
}): Promise<string | undefined> {
  const [reprotect, failback] = await Promise.all(WAY_BACK_RUNBOOKS.map((r) => journal.lastRun(r)));
  for (const run of [reprotect, failback])
    if (run && run.active === 1)
      return `a ${run.runbook} run (${run.id}) is in progress: no DR failover starts until it ends`;
  if (reprotect?.status === 'succeeded' && (!failback || failback.created_at < reprotect.created_at))
    return `the DR site serves and the old primary is reprotected (run ${reprotect.id}); fail back (phoenix failback) before another DR failover`;
  return undefined;
}
