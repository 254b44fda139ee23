import { runHttpCheck } from '../shared/http.js';
import { endpointCheck, sleep } from '../shared/net.js';
import { StepError, type StepAdapter } from '../types.js';
import { verifyParamsSchema, type VerifyParams } from './config.js';

export const verifyAdapter: StepAdapter<VerifyParams> = {
  type: 'verify',
  schema: verifyParamsSchema,
  describe: (p) =>
    `wait until ${p.checks.map((c) => c.url).join(', ')} pass${p.checks.length > 1 ? '' : 'es'} ${p.consecutive}× in a row`,
  preflight: (p, ctx) => Promise.all(p.checks.map((c) => endpointCheck('DR endpoint', c.url, ctx.timeoutMs))),
  async run(p, ctx) {
    const deadline = Date.now() + p.max_wait * 1000;
    let streak = 0;
    let rounds = 0;
    let last: string[] = [];
    for (;;) {
      rounds += 1;
      const results = await Promise.all(p.checks.map((c) => runHttpCheck(c, ctx.signal)));
      last = results.filter((r) => !r.ok).map((r) => r.detail);
      streak = last.length === 0 ? streak + 1 : 0;
      ctx.progress(last.length === 0 ? `healthy ${streak}/${p.consecutive}` : `not yet: ${last[0]}`);
      if (streak >= p.consecutive) break;
      if (Date.now() + p.interval * 1000 > deadline) {
        throw new StepError(
          `the DR site was not healthy within ${p.max_wait}s: ${last.join('; ') || 'not enough consecutive passes'}`,
        );
      }
      await sleep(p.interval * 1000, ctx.signal);
    }
    return {
      summary: `DR site healthy: ${p.checks.length} checks passed ${p.consecutive}× in a row (${rounds} rounds)`,
      output: { rounds },
    };
  },
};
