import type { PhoenixConfig } from '../config/index.js';
import { probeOldPrimary, type OldPrimaryProbe } from '../actions/index.js';
import type { FenceParams } from '../actions/fence/config.js';
import type { SiteState, SiteStateStore } from '../lifecycle/index.js';
import { silentLogger, type Logger } from '../log/index.js';
import { FencedError } from '../store/index.js';
import type { RunbookEngine } from './engine.js';
import type { Fence } from './journal.js';
import { buildPlan, fenceRunbook } from './plan.js';
import type { RunReport } from './report.js';

/** A page for on-call (the notifier's Slack, PagerDuty and webhook channels); `key` groups it with its resolve. */
export interface FencePage {
  key: string;
  severity: 'critical' | 'info';
  text: string;
  resolve?: boolean;
}

export interface FenceWatchOptions {
  sites: SiteStateStore;
  engine: Pick<RunbookEngine, 'start'>;
  config: PhoenixConfig;
  /** The controller's fence: only the leader looks and fences; its writes carry the token. */
  fence?: Fence;
  page?: (page: FencePage) => Promise<unknown>;
  /** How the old primary is looked at (tests may pass their own view of the same targets). */
  probe?: (targets: FenceParams[]) => Promise<OldPrimaryProbe>;
  clock?: () => number;
  logger?: Logger;
}

/** What one look found and did. */
export interface FenceWatchResult {
  state: SiteState;
  probe?: OldPrimaryProbe;
  /** The fence run started because the old primary answered, and how it ended. */
  run?: RunReport;
  skipped?: string;
}

/**
 * The fence that waits: while the old primary is `fence_pending`, each call looks whether what
 * the failover's fence steps name answers again; the moment it does, on-call is paged if it
 * takes writes (split-brain risk) and the fence steps run again, as a journaled run of their
 * own (`dr_failover:fence`), until the fence holds (the engine then marks it fenced).
 */
export class FenceWatcher {
  private busy = false;
  private readonly logger: Logger;
  private readonly clock: () => number;

  constructor(private readonly options: FenceWatchOptions) {
    this.logger = options.logger ?? silentLogger();
    this.clock = options.clock ?? (() => Date.now() / 1000);
  }

  /** One look (the controller calls it every cycle); a call while one is under way returns at once. */
  async check(): Promise<FenceWatchResult> {
    const state = await this.options.sites.current();
    if (this.busy) return { state, skipped: 'a look is under way' };
    const old = state.old_primary;
    if (!old || old.fence !== 'fence_pending') return { state, skipped: 'no fence pending' };
    this.busy = true;
    try {
      return await this.look(state);
    } finally {
      this.busy = false;
    }
  }

  private targets(runbook: string): FenceParams[] | string {
    try {
      return buildPlan(this.options.config, runbook).stages.flatMap((s) =>
        s.steps.map((st) => st.params as FenceParams),
      );
    } catch (error) {
      return (error as Error).message;
    }
  }

  private async token(): Promise<number | undefined | FencedError> {
    try {
      return this.options.fence ? await this.options.fence() : undefined;
    } catch (error) {
      if (error instanceof FencedError) return error;
      throw error;
    }
  }

  private async look(state: SiteState): Promise<FenceWatchResult> {
    const runbook = fenceRunbook(state.active_site === 'secondary' ? 'region_failover' : 'dr_failover');
    const targets = this.targets(runbook);
    if (typeof targets === 'string') {
      this.logger.warn({ reason: targets }, 'the old primary is not fenced and there is no fence to run');
      return { state, skipped: targets };
    }
    const token = await this.token();
    if (token instanceof FencedError) return { state, skipped: 'this controller does not lead' };
    const probe = await (this.options.probe ?? probeOldPrimary)(targets);
    const checked = await this.options.sites.apply(
      { type: 'fence_checked', reachable: probe.reachable, writable: probe.writable },
      { by: 'controller', reason: probe.details.join('; ') },
      this.clock(),
      token,
    );
    if (!probe.reachable) return { state: checked.after, probe };
    const key = `old-primary-${Math.floor(state.since)}`;
    if (probe.writable) {
      this.logger.error(
        { details: probe.details },
        'old primary back and writable: split-brain risk; fencing',
      );
      await this.page({
        key,
        severity: 'critical',
        text: `Old primary (${state.old_primary!.site}) is back and WRITABLE while ${state.active_site} serves: split-brain risk. CloudPhoenix is fencing it now (${runbook}). ${probe.details.join('; ')}`,
      });
    }
    const handle = await this.options.engine.start(runbook, {
      trigger: 'controller',
      reason: `the old primary answers again: ${probe.details.join('; ')}`,
    });
    const run = await handle.done;
    const after = await this.options.sites.current();
    if (probe.writable && after.old_primary?.fence === 'fenced')
      await this.page({
        key,
        severity: 'info',
        resolve: true,
        text: `Old primary fenced by run ${run.run_id}`,
      });
    return { state: after, probe, run };
  }

  private async page(page: FencePage): Promise<void> {
    try {
      await this.options.page?.(page);
    } catch (error) {
      this.logger.error({ err: error }, 'could not page about the old primary');
    }
  }
}
