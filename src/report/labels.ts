/** A step that failed but whose stage went on because the step has `continue_on_error`. */
export interface ContinuedStep {
  step: string;
  error: string | null;
}

/**
 * How a stage reads to a person: a stage that "succeeded" after a step failed with
 * `continue_on_error` must not look like a clean success, so the failure and its reason stay visible.
 */
export function stageLabel(status: string, continued: readonly ContinuedStep[], didNothing = false): string {
  if (status !== 'succeeded' || continued.length === 0) return status;
  const n = continued.length;
  // Every step that ran failed: the stage changed nothing, which "succeeded" would hide.
  if (didNothing) return `did nothing: ${n === 1 ? 'its step' : `all ${n} steps`} failed (continued)`;
  return `succeeded with ${n} failed step${n === 1 ? '' : 's'} (continued)`;
}

/** True when steps of the stage ran and every one that ran failed. */
export function stageDidNothing(steps: ReadonlyArray<{ status: string }>): boolean {
  const ran = steps.filter((s) => s.status === 'succeeded' || s.status === 'failed');
  return ran.length > 0 && ran.every((s) => s.status === 'failed');
}

/** The failed steps' reasons, one clause each: `smoke: exit code 1; notify: 503`. */
export function continuedReasons(continued: readonly ContinuedStep[]): string {
  return continued.map((c) => `${c.step}: ${c.error ?? 'failed'}`).join('; ');
}

/** The steps of a stage that failed without stopping it: failed steps of a stage that succeeded. */
export function continuedSteps(
  stageStatus: string,
  steps: ReadonlyArray<{ name: string; status: string; error: string | null }>,
): ContinuedStep[] {
  if (stageStatus !== 'succeeded') return [];
  return steps.filter((s) => s.status === 'failed').map((s) => ({ step: s.name, error: s.error }));
}

/**
 * Follows a run's events and remembers, per stage, the steps that failed; when the stage then
 * succeeds, those failures were continued past. Used by the CLI's progress output.
 */
export class ContinuedFailures {
  private readonly failed = new Map<string, ContinuedStep[]>();
  private readonly succeeded = new Set<string>();

  onStep(stage: string, step: string, status: string, error?: string): void {
    if (status === 'succeeded') this.succeeded.add(stage);
    if (status !== 'failed') return;
    const list = this.failed.get(stage) ?? [];
    list.push({ step, error: error ?? null });
    this.failed.set(stage, list);
  }

  /** `succeeded with 1 failed step (continued) — smoke: exit code 1`, or the plain status. */
  describe(stage: string, status: string): string {
    const continued = status === 'succeeded' ? (this.failed.get(stage) ?? []) : [];
    const label = stageLabel(status, continued, !this.succeeded.has(stage));
    return continued.length ? `${label} — ${continuedReasons(continued)}` : label;
  }
}
