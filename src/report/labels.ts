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
