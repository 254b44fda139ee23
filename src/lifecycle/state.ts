/**
 * The DR lifecycle as state: which site serves users, and where the site that served before
 * stands (fence pending or held). Pure: every change is `transition(state, event)`, so the
 * store, the controller and the tests share one definition of what may follow what.
 * Models: Azure Site Recovery's protection states, Route 53 ARC Region switch's active Region.
 */

export type Site = 'primary' | 'secondary' | 'dr';

export const SITE_STATES = [
  'primary_active',
  'failing_over',
  'dr_active',
  'secondary_active',
  'reprotecting',
  'reverse_protected',
  'failing_back',
] as const;
export type SiteStateName = (typeof SITE_STATES)[number];

export type FenceState = 'fence_pending' | 'fenced';

/** The site that served before a failover: what must be fenced, then reprotected. */
export interface OldPrimary {
  site: Site;
  fence: FenceState;
  /** Whether it took writes when last checked; null until it answered. */
  writable: boolean | null;
  /** Whether it answered when last checked (Unix seconds in `checked_at`). */
  reachable: boolean | null;
  checked_at: number | null;
  /** Unix seconds the fence first held. */
  fenced_at: number | null;
}

export interface SiteState {
  state: SiteStateName;
  /** The site that serves users now (during a failover or failback: the one still serving). */
  active_site: Site;
  /** During a failover or failback: the site it moves to. */
  target_site: Site | null;
  old_primary: OldPrimary | null;
  /** Unix seconds the state was entered. */
  since: number;
  /** The run that caused (or is causing) the state. */
  run_id: string | null;
}

/** What may change the state: runbook results and operator commands, nothing else. */
export type SiteEvent =
  | { type: 'run_started'; runbook: string; run_id: string }
  | {
      type: 'run_finished';
      runbook: string;
      run_id: string;
      status: string;
      /** For a failover: whether every fence step held (`fenced`) or one could not (`fence_pending`). */
      fence?: FenceState;
      /**
       * For a failover that did not succeed: a dns step of it succeeded, so users reach the target
       * whatever failed after; the target serves (a failover that moved no traffic leaves it where it was).
       */
      traffic_moved?: boolean;
    }
  | { type: 'fence_checked'; reachable: boolean; writable: boolean | null }
  | { type: 'fence_held'; run_id: string | null }
  | { type: 'operator_set'; state: SiteStateName; active_site: Site; reason: string };

/** Who or what caused a transition, journaled with it. */
export interface Cause {
  /** `controller`, `operator:<name>`, `runbook:<run id>`. */
  by: string;
  reason: string;
}

export const INITIAL_STATE: SiteState = {
  state: 'primary_active',
  active_site: 'primary',
  target_site: null,
  old_primary: null,
  since: 0,
  run_id: null,
};

/** Refused by the lifecycle, with the reason and what to do. */
export class LifecycleRefusal extends Error {
  readonly code = 'LIFECYCLE_REFUSED';
}

const FAILOVER_TARGET: Record<string, Site> = { dr_failover: 'dr', region_failover: 'secondary' };

/** The state a site serves in after a failover to it. */
export function servingState(site: Site): SiteStateName {
  return site === 'primary' ? 'primary_active' : site === 'dr' ? 'dr_active' : 'secondary_active';
}

/** Why a runbook may not start in this state, or undefined when it may. */
export function refusalFor(current: SiteState, runbook: string): string | undefined {
  if (runbook !== 'reprotect' && runbook !== 'failback') return undefined;
  if (current.old_primary?.fence === 'fence_pending')
    return `the old primary (${current.old_primary.site}) is not fenced yet (fence_pending${current.old_primary.writable ? ', and it was found writable: split-brain risk' : ''}); ${runbook} waits until the controller fences it when it answers again, or run the fence by hand and record it: phoenix site fenced --reason "<how>"`;
  return undefined;
}

function pendingOldPrimary(site: Site): OldPrimary {
  return { site, fence: 'fence_pending', writable: null, reachable: null, checked_at: null, fenced_at: null };
}

function failoverStarted(s: SiteState, runbook: string, run_id: string, now: number): SiteState {
  const target = FAILOVER_TARGET[runbook]!;
  // A resumed run, or its start seen again after it ended: already applied.
  if (s.run_id === run_id) return s;
  if (s.active_site === target)
    throw new LifecycleRefusal(`${runbook} would fail over to ${target}, which already serves`);
  return { ...s, state: 'failing_over', target_site: target, since: now, run_id };
}

function failoverFinished(
  s: SiteState,
  e: Extract<SiteEvent, { type: 'run_finished' }>,
  now: number,
): SiteState {
  if (s.state !== 'failing_over' || s.run_id !== e.run_id) return s;
  const target = s.target_site!;
  if (e.status !== 'succeeded' && !e.traffic_moved)
    return { ...s, state: servingState(s.active_site), target_site: null, since: now };
  const fence = e.fence ?? 'fence_pending';
  return {
    state: servingState(target),
    active_site: target,
    target_site: null,
    old_primary: {
      site: s.active_site,
      fence,
      writable: null,
      reachable: null,
      checked_at: null,
      fenced_at: fence === 'fenced' ? now : null,
    },
    since: now,
    run_id: e.run_id,
  };
}

function wayBackStarted(s: SiteState, runbook: string, run_id: string, now: number): SiteState {
  if (s.run_id === run_id && (s.state === 'reprotecting' || s.state === 'failing_back')) return s;
  const refusal = refusalFor(s, runbook);
  if (refusal) throw new LifecycleRefusal(refusal);
  if (runbook === 'reprotect') {
    if (s.state !== 'dr_active' && s.state !== 'secondary_active')
      throw new LifecycleRefusal(`reprotect needs a site serving after a failover; the state is ${s.state}`);
    return { ...s, state: 'reprotecting', since: now, run_id };
  }
  if (s.state !== 'reverse_protected' && s.state !== 'dr_active' && s.state !== 'secondary_active')
    throw new LifecycleRefusal(`failback needs a site serving after a failover; the state is ${s.state}`);
  return { ...s, state: 'failing_back', target_site: s.old_primary?.site ?? 'primary', since: now, run_id };
}

function wayBackFinished(
  s: SiteState,
  e: Extract<SiteEvent, { type: 'run_finished' }>,
  now: number,
): SiteState {
  if (s.run_id !== e.run_id) return s;
  const ok = e.status === 'succeeded';
  if (s.state === 'reprotecting')
    return { ...s, state: ok ? 'reverse_protected' : servingState(s.active_site), since: now };
  if (s.state !== 'failing_back') return s;
  if (!ok) return { ...s, state: 'reverse_protected', target_site: null, since: now };
  return {
    ...INITIAL_STATE,
    active_site: s.target_site!,
    state: servingState(s.target_site!),
    since: now,
    run_id: e.run_id,
  };
}

function fenceChecked(
  s: SiteState,
  e: Extract<SiteEvent, { type: 'fence_checked' }>,
  now: number,
): SiteState {
  if (!s.old_primary) return s;
  return {
    ...s,
    old_primary: { ...s.old_primary, reachable: e.reachable, writable: e.writable, checked_at: now },
  };
}

function fenceHeld(s: SiteState, now: number): SiteState {
  if (!s.old_primary) throw new LifecycleRefusal(`there is no old primary to fence in state ${s.state}`);
  if (s.old_primary.fence === 'fenced') return s;
  return { ...s, old_primary: { ...s.old_primary, fence: 'fenced', writable: false, fenced_at: now } };
}

/**
 * The state after `event` at `now` (Unix seconds). Throws LifecycleRefusal when the event
 * may not happen now (a reprotect while the old primary is unfenced). Runs of runbooks
 * outside the lifecycle (self_heal) and repeats of an event already applied change nothing.
 */
export function transition(s: SiteState, event: SiteEvent, now: number): SiteState {
  switch (event.type) {
    case 'run_started':
      if (event.runbook in FAILOVER_TARGET) return failoverStarted(s, event.runbook, event.run_id, now);
      if (event.runbook === 'reprotect' || event.runbook === 'failback')
        return wayBackStarted(s, event.runbook, event.run_id, now);
      return s;
    case 'run_finished':
      if (event.runbook in FAILOVER_TARGET) return failoverFinished(s, event, now);
      if (event.runbook === 'reprotect' || event.runbook === 'failback')
        return wayBackFinished(s, event, now);
      return s;
    case 'fence_checked':
      return fenceChecked(s, event, now);
    case 'fence_held':
      return fenceHeld(s, now);
    case 'operator_set':
      return {
        ...INITIAL_STATE,
        state: event.state,
        active_site: event.active_site,
        // Failed over out of band: whether the old primary is fenced is not known, so it is pending.
        old_primary: event.active_site === 'primary' ? null : (s.old_primary ?? pendingOldPrimary('primary')),
        since: now,
      };
  }
}

/** One line for people: what the state is and what to do next. */
export function nextAction(s: SiteState): string {
  const op = s.old_primary;
  if (op?.fence === 'fence_pending' && op.writable)
    return `old primary (${op.site}) back and writable: split-brain risk; fencing`;
  if (op?.fence === 'fence_pending')
    return `old primary (${op.site}) not fenced yet: the controller fences it the moment it answers`;
  switch (s.state) {
    case 'primary_active':
      return 'nothing to do: the primary serves';
    case 'failing_over':
      return `failing over to ${s.target_site} (run ${s.run_id}): follow the run, approve or abort`;
    case 'dr_active':
    case 'secondary_active':
      return `traffic on ${s.active_site}; reprotect when ${op?.site ?? 'the old primary'} is healthy`;
    case 'reprotecting':
      return `reprotecting ${op?.site ?? 'the old primary'} from ${s.active_site} (run ${s.run_id})`;
    case 'reverse_protected':
      return `ready to fail back to ${op?.site ?? 'primary'}: phoenix failback`;
    case 'failing_back':
      return `failing back to ${s.target_site} (run ${s.run_id})`;
  }
}
