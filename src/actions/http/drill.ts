import { checksContext, rehearsalByChecks } from '../shared/drill.js';
import type { StepDrill } from '../types.js';
import type { HttpParams } from './config.js';
import { httpAdapter } from './http.js';

/** A webhook may start anything (a Jenkins job): a drill checks it is reachable and never calls it. */
export const httpDrill: StepDrill<HttpParams> = {
  describe: (p) => `check ${p.method} ${p.url} is reachable; not called`,
  rehearse: async (p, ctx) =>
    rehearsalByChecks(await httpAdapter.preflight(p, checksContext(ctx)), `call ${p.url}`),
};
