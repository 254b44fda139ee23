import { LifecycleRefusal, refusalFor, type SiteEvent, type SiteStateStore } from '../lifecycle/index.js';
import { FencedError } from '../store/index.js';
import type { Journal, RunStatus } from './journal.js';
import { FAILOVER_RUNBOOKS, fencedFailover, type Plan } from './plan.js';

/**
 * How the runbook engine moves the site state: a failover, reprotect or failback run starting
 * and ending, and a fence run (the failover's fence steps re-run) holding. Drills never move it.
 */
export class SiteStateHook {
  constructor(
    private readonly sites: SiteStateStore,
    private readonly journal: Journal,
    private readonly fence?: () => Promise<number>,
  ) {}

  /** Throws LifecycleRefusal when the state forbids the runbook now (reprotect or failback while fence_pending). */
  async check(runbook: string): Promise<void> {
    const refusal = refusalFor(await this.sites.current(), runbook);
    if (refusal) throw new LifecycleRefusal(refusal);
  }

  async started(runbook: string, runId: string): Promise<void> {
    await this.apply(
      { type: 'run_started', runbook, run_id: runId },
      runId,
      `run ${runId} of ${runbook} started`,
    );
  }

  /** After the run's end is journaled: a failover says whether its fence held; a fence run that held says so. */
  async finished(runbook: string, runId: string, status: RunStatus, plan: Plan): Promise<void> {
    const fence = await this.fenceOutcome(runId, plan);
    if (fencedFailover(runbook)) {
      if (status === 'succeeded' && fence === 'fenced')
        await this.apply(
          { type: 'fence_held', run_id: runId },
          runId,
          `fence run ${runId}: every fence step held`,
        );
      return;
    }
    const event: SiteEvent = { type: 'run_finished', runbook, run_id: runId, status };
    if ((FAILOVER_RUNBOOKS as readonly string[]).includes(runbook)) {
      event.fence = fence;
      if (status !== 'succeeded' && (await this.trafficMoved(runId, plan))) event.traffic_moved = true;
    }
    const moved = event.traffic_moved ? ' after its DNS stage moved traffic' : '';
    await this.apply(
      event,
      runId,
      `run ${runId} of ${runbook} ${status}${moved}${event.fence ? `, old primary ${event.fence}` : ''}`,
    );
  }

  /** A dns step of the run succeeded: users reach the target, whatever the run did after. */
  private async trafficMoved(runId: string, plan: Plan): Promise<boolean> {
    const dns = new Set(
      plan.stages.flatMap((s) => s.steps.filter((step) => step.type === 'dns').map((step) => step.name)),
    );
    return (await this.journal.steps(runId)).some((r) => dns.has(r.name) && r.status === 'succeeded');
  }

  /** `fenced` when the plan has fence steps and every one succeeded; otherwise the fence is pending. */
  private async fenceOutcome(runId: string, plan: Plan): Promise<'fenced' | 'fence_pending'> {
    const names = plan.stages.flatMap((s) =>
      s.steps.filter((step) => step.type === 'fence').map((step) => step.name),
    );
    if (names.length === 0) return 'fence_pending';
    const rows = await this.journal.steps(runId);
    return names.every((n) => rows.find((r) => r.name === n)?.status === 'succeeded')
      ? 'fenced'
      : 'fence_pending';
  }

  /**
   * A run the lifecycle does not expect here (a failback with nothing failed over) leaves the
   * state as it is: the run is journaled either way. A controller fenced out writes nothing.
   */
  private async apply(event: SiteEvent, runId: string, reason: string): Promise<void> {
    try {
      const token = this.fence ? await this.fence() : undefined;
      await this.sites.apply(event, { by: `runbook:${runId}`, reason }, this.journal.now(), token);
    } catch (error) {
      if (error instanceof LifecycleRefusal || error instanceof FencedError) return;
      throw error;
    }
  }
}
