import type { StepDrill } from '../types.js';
import type { HealthCheckParams } from './config.js';
import { healthCheckAdapter } from './health_check.js';

/** Probes the primary as the real step does, but a healthy primary never ends a drill early. */
export const healthCheckDrill: StepDrill<HealthCheckParams> = {
  describe: (p) => `probe ${p.checks.map((c) => c.url).join(', ')} and record the answer (read-only)`,
  async rehearse(p, ctx) {
    const result = await healthCheckAdapter.run(p, ctx);
    const { endRun, ...kept } = result;
    return endRun
      ? { ...kept, summary: `drill: primary healthy (a real run would end here: ${endRun.reason})` }
      : { ...kept, summary: `drill: ${result.summary}` };
  },
};
