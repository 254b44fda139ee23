/** A step that failed but whose stage went on because the step has `continue_on_error`. */
export interface ContinuedStep {
  step: string;
  error: string | null;
}

/**
 * How a stage reads to a person: a stage that "succeeded" after a step failed with
 * `continue_on_error` must not look like a clean success, so the failure and its reason stay visible.
 */
export function stageLabel(status: string, continued: readonly ContinuedStep[]): string {
  if (status !== 'succeeded' || continued.length === 0) return status;
  const n = continued.length;
  return `succeeded with ${n} failed step${n === 1 ? '' : 's'} (continued)`;
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

  onStep(stage: string, step: string, status: string, error?: string): void {
    if (status !== 'failed') return;
    const list = this.failed.get(stage) ?? [];
    list.push({ step, error: error ?? null });
    this.failed.set(stage, list);
  }

  /** `succeeded with 1 failed step (continued) — smoke: exit code 1`, or the plain status. */
  describe(stage: string, status: string): string {
    const continued = status === 'succeeded' ? (this.failed.get(stage) ?? []) : [];
    const label = stageLabel(status, continued);
    return continued.length ? `${label} — ${continuedReasons(continued)}` : label;
  }
}
