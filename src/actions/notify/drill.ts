import { checksContext, rehearsalByChecks } from '../shared/drill.js';
import type { StepDrill } from '../types.js';
import type { NotifyParams } from './config.js';
import { notifyAdapter } from './notify.js';

/** A drill must not page anyone: it checks the channel is configured and reachable, and sends nothing. */
export const notifyDrill: StepDrill<NotifyParams> = {
  describe: (p) => `check the ${p.channel} channel is reachable; nothing sent`,
  rehearse: async (p, ctx) =>
    rehearsalByChecks(await notifyAdapter.preflight(p, checksContext(ctx)), `notify via ${p.channel}`),
};
