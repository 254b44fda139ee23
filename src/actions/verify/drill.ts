import type { StepDrill } from '../types.js';
import type { VerifyParams } from './config.js';
import { verifyAdapter } from './verify.js';

/** Checks the drill endpoint (`drill.checks`), else the DR checks themselves: HTTP reads change nothing. */
export const verifyDrill: StepDrill<VerifyParams> = {
  describe: (p) => `check ${(p.drill?.checks ?? p.checks).map((c) => c.url).join(', ')}`,
  async rehearse(p, ctx) {
    const result = await verifyAdapter.run({ ...p, checks: p.drill?.checks ?? p.checks }, ctx);
    return { ...result, summary: `drill: ${result.summary}` };
  },
};
