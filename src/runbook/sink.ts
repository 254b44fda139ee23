import type { Analysis, Decision } from '../core/index.js';
import { RunbookEngine, type EngineOptions, type RunHandle } from './engine.js';
import { CooldownError, RunBusyError, type RunDecision } from './journal.js';
import { wayBackInProgress } from './failback-readiness.js';
import { configuredRunbooks, FAILOVER_RUNBOOKS, loadRunbooks } from './plan.js';
import { LifecycleRefusal, pauseRefusal, type SiteStateStore } from '../lifecycle/index.js';

/** The decision as the run keeps it: its cycle, score and evidence (what moved the score). */
function runDecision(decision: Decision, record: unknown): RunDecision {
  const cycle = record as { id?: number; analysis?: Analysis } | undefined;
  const analysis = decision.analysis ?? cycle?.analysis;
  return {
    cycle_id: cycle?.id ?? null,
    at: decision.at,
    action: decision.action,
    score: decision.score,
    level: decision.level,
    category: decision.category,
    confidence: decision.confidence,
    reason: decision.reason,
    evidence: (analysis?.evidence ?? []).filter((e) => e.weight !== 0),
  };
}

/**
 * The decision core watches the serving site; a failover it decides while another site than
 * the primary serves would move traffic again without a person (or fail "back"): refused.
 */
async function notFromPrimary(
  sites: SiteStateStore | undefined,
  runbook: string,
): Promise<string | undefined> {
  if (!sites || !(FAILOVER_RUNBOOKS as readonly string[]).includes(runbook)) return undefined;
  const state = await sites.current();
  if (state.state === 'primary_active') return undefined;
  return `the site state is ${state.state} (${state.active_site} serves): the controller starts a failover only while the primary serves; the way back is reprotect then failback, run by an operator`;
}

/**
 * A self_heal acts on one site (runbooks.self_heal.site, absent: the primary): while another site serves, its
 * steps would restart what no longer serves users and leave the serving site as it is.
 */
async function healsAnotherSite(
  sites: SiteStateStore | undefined,
  runbook: string,
  config: EngineOptions['config'],
): Promise<string | undefined> {
  if (!sites || runbook !== 'self_heal') return undefined;
  const declared = loadRunbooks(config).self_heal?.site;
  const acts = declared ?? 'primary';
  const state = await sites.current();
  if (state.active_site === acts) return undefined;
  return `self_heal acts on ${acts} (runbooks.self_heal.site${declared ? '' : ' absent: the primary'}) and ${state.active_site} serves (site state ${state.state}): its steps would heal a site users no longer reach; heal ${state.active_site} by hand, or write the self_heal for it (site: ${state.active_site})`;
}

export type SinkOutcome =
  | { kind: 'started' | 'joined'; runbook: string; handle: RunHandle }
  | { kind: 'refused'; runbook: string; reason: string }
  | { kind: 'ignored'; reason: string };

export interface RunbookDecisionSink {
  engine: RunbookEngine;
  options: EngineOptions;
  onDecision(decision: Decision, record?: unknown): Promise<SinkOutcome>;
}

/**
 * What the controller calls with each decision: a decision to act starts the matching
 * runbook (dr_failover, region_failover, self_heal) when one is configured. A trigger while
 * the same runbook runs joins it; while another runs, it is refused (and reported, not thrown).
 */
export function createRunbookDecisionSink(options: EngineOptions): RunbookDecisionSink {
  const engine = new RunbookEngine(options);
  return {
    engine,
    options,
    async onDecision(decision, record) {
      if (decision.action === 'none' || decision.action === 'escalate') {
        return { kind: 'ignored', reason: `action ${decision.action} runs no runbook` };
      }
      const runbook = decision.action;
      if (!configuredRunbooks(options.config).includes(runbook)) {
        return { kind: 'ignored', reason: `no ${runbook} runbook configured` };
      }
      // Issue 13: no DR failover while the way back (reprotect → failback) is under way.
      const wayBack = runbook === 'dr_failover' ? await wayBackInProgress(engine.journal) : undefined;
      if (wayBack) return { kind: 'refused', runbook, reason: wayBack };
      const pause = await options.sites?.pause(engine.journal.now());
      if (pause) return { kind: 'refused', runbook, reason: pauseRefusal(pause) };
      const elsewhere =
        (await notFromPrimary(options.sites, runbook)) ??
        (await healsAnotherSite(options.sites, runbook, options.config));
      if (elsewhere) return { kind: 'refused', runbook, reason: elsewhere };
      try {
        const handle = await engine.start(runbook, {
          trigger: 'controller',
          reason: decision.reason,
          decision: runDecision(decision, record),
        });
        // The caller may await handle.done; a failure there is already in the journal.
        handle.done.catch(() => undefined);
        return { kind: handle.joined ? 'joined' : 'started', runbook, handle };
      } catch (error) {
        if (
          error instanceof RunBusyError ||
          error instanceof CooldownError ||
          error instanceof LifecycleRefusal
        )
          return { kind: 'refused', runbook, reason: error.message };
        throw error;
      }
    },
  };
}
