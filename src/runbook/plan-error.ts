export interface PlanIssue {
  path: string;
  message: string;
}

/** The runbooks cannot be used as written; every problem is listed with its path and the fix. */
export class PlanError extends Error {
  constructor(
    readonly source: string,
    readonly issues: PlanIssue[],
  ) {
    super(issues.map((i) => `${source}: ${i.path ? i.path + ': ' : ''}${i.message}`).join('\n'));
    this.name = 'PlanError';
  }
}
