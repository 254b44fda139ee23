import type { z } from 'zod';
import type { StepType } from '../config/sections/runbooks.js';

/** One pre-flight fact about a step: a binary present, an endpoint reachable, a lag inside the budget. */
export interface PreflightCheck {
  check: string;
  ok: boolean;
  detail: string;
  /** Passes, but says something to look at (shown as WARN, listed on the dashboard). */
  warn?: boolean;
  /** The logical path's schema drift check: tables whose drift would lose or break data, and the others. */
  drift?: { breaking_tables: number; warning_tables: number };
}

export interface PreflightContext {
  /** The DR site's RPO budget in seconds (topology.dr.rpo_budget_s), when configured. */
  rpoBudgetS?: number;
  env: NodeJS.ProcessEnv;
  /** How long one check may take. */
  timeoutMs: number;
}

export interface StepContext {
  runId: string;
  runbook: string;
  stage: string;
  step: string;
  /** 1 for the first attempt, counting attempts cut short by a killed process. */
  attempt: number;
  /** An earlier attempt of this step was interrupted mid-way: the step must check what is already done. */
  resumed: boolean;
  /**
   * `<run>/<step>/<n>`, n = 1 + the step's attempts that failed: the same after a crash (a receiver drops the
   * request the killed attempt may already have sent), new after a failure (a receiver that kept the failed
   * answer under the old key does not replay it). `command` gets it as PHOENIX_IDEMPOTENCY_KEY, `http`
   * and webhook notifications as the Idempotency-Key header.
   */
  idempotencyKey: string;
  /** Fires on the step's timeout and on `phoenix abort`; adapters stop their work and child processes. */
  signal: AbortSignal;
  rpoBudgetS?: number;
  /** The controller's fencing token when the step started, for a resource that refuses stale controllers. */
  fencingToken?: number;
  /**
   * A directory for the step's scratch files (a dump on its way). It is on the controller's host: a
   * controller on another host that takes the run over has its own, empty. Progress goes in `state`.
   */
  workDir: string;
  /** The step's progress, kept in the store: every attempt of the step sees it, on whichever host. */
  state: StepState;
  env: NodeJS.ProcessEnv;
  /** Free-text progress for the live view ("120/400 objects"). */
  progress(message: string): void;
}

/**
 * A step's resume state: what it has done so far, so that a later attempt (after a kill, on this host or
 * another) continues instead of repeating a side effect. Kept in the store under the leader's fence; a
 * save by a deposed leader is refused (FencedError) and ends its attempt.
 */
export interface StepState {
  load<T>(): Promise<T | undefined>;
  /** Replaces what the step saved before; durable when it resolves. */
  save(state: unknown): Promise<void>;
  /**
   * What another step of the same run saved (a pass that continues from an earlier pass's watermark);
   * absent where there is no run (an adapter called on its own).
   */
  loadOf?<T>(step: string): Promise<T | undefined>;
}

export interface StepResult {
  /** One line for the journal and the report. */
  summary: string;
  output?: Record<string, unknown>;
  /** Ends the run cleanly here (the incident cleared): later stages do not run. */
  endRun?: { reason: string };
  /** A DNS record's TTL: clients may keep the old answer this long, so reports add it to the RTO. */
  dnsTtlS?: number;
  /** Seconds of writes the failover may have lost (the standby's lag when promoted). */
  dataLossS?: number;
}

/**
 * A step type. Each lives in its own folder under src/actions with its parameter schema,
 * implementation and test; adding one touches only that folder and the registry.
 * `run` must be safe to repeat: the engine re-runs a step interrupted by a crash.
 */
export interface StepAdapter<P = unknown> {
  type: StepType;
  /** Validates and fills in the step's `params`. */
  schema: z.ZodType<P>;
  /** What the step will do, in one line, for the plan. */
  describe(params: P): string;
  /** Checks that can run before a disaster: credentials, endpoints, binaries, lag. Never throws. */
  preflight(params: P, ctx: PreflightContext): Promise<PreflightCheck[]>;
  run(params: P, ctx: StepContext): Promise<StepResult>;
}

/** What a drill's cleanup removed and what it found still there afterwards (empty when clean). */
export interface CleanupResult {
  summary: string;
  /** Drill resources that still exist after the cleanup: anything here makes the cleanup fail. */
  left: string[];
}

/** A rehearsal's context: the step's own, plus what the rehearsals before it made (the scratch database). */
export interface DrillContext extends StepContext {
  /** Outputs of the steps rehearsed before this one in the run, by step name. */
  rehearsed: Record<string, { type: StepType; output: Record<string, unknown> }>;
}

/**
 * How a step type rehearses in a drill (`mode: drill`) without touching production, and how it
 * removes what the rehearsal made. The engine never calls `run` in a drill.
 */
export interface StepDrill<P = unknown> {
  /**
   * Why these params cannot be rehearsed, with the fix (a `command` step without `drill:`); undefined
   * when they can. A step that cannot be rehearsed is skipped in a drill, never run for real.
   */
  missing?(params: P): string | undefined;
  /** What the rehearsal does instead of the real step, in one line. */
  describe(params: P): string;
  rehearse(params: P, ctx: DrillContext): Promise<StepResult>;
  /**
   * Removes what `rehearse` made and checks nothing is left. Safe to repeat, and safe after a rehearsal
   * cut short at any point (resources are named from the run id, so a resumed drill finds them).
   */
  cleanup?(params: P, ctx: StepContext): Promise<CleanupResult>;
}

/** A step failure whose message is complete for the user. */
export class StepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepError';
  }
}
