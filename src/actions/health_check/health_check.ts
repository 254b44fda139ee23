import { runHttpCheck } from '../shared/http.js';
import { sleep } from '../shared/net.js';
import type { StepAdapter } from '../types.js';
import { healthCheckParamsSchema, type HealthCheckParams } from './config.js';

export const healthCheckAdapter: StepAdapter<HealthCheckParams> = {
  type: 'health_check',
  schema: healthCheckParamsSchema,
  describe: (p) =>
    `confirm the primary is still failing (${p.checks.map((c) => c.url).join(', ')}); end the run if it recovered`,
  // The primary is expected to be healthy in peacetime: only the check's shape can be verified before.
  preflight: async (p) => p.checks.map((c) => ({ check: 'probe configured', ok: true, detail: c.url })),
  async run(p, ctx) {
    const failures: string[] = [];
    for (let i = 0; i < p.tries; i++) {
      if (i > 0) await sleep(p.interval * 1000, ctx.signal);
      const results = await Promise.all(p.checks.map((c) => runHttpCheck(c, ctx.signal)));
      const bad = results.filter((r) => !r.ok);
      ctx.progress(`try ${i + 1}/${p.tries}: ${bad.length ? `failing (${bad[0].detail})` : 'healthy'}`);
      if (bad.length) {
        failures.push(...bad.map((r) => r.detail));
        break;
      }
    }
    if (failures.length === 0) {
      return {
        summary: `incident cleared: the primary passed every check ${p.tries}×; no failover needed`,
        endRun: { reason: 'the incident cleared before the failover started' },
        output: { cleared: true },
      };
    }
    return { summary: `incident confirmed: ${failures[0]}`, output: { cleared: false, failures } };
  },
};
