import type { StepDrill } from '../types.js';
import { commandAdapter } from './command.js';
import type { CommandParams } from './config.js';

/** `drill: skip` does nothing, `run` runs the command itself, any other text runs that through sh. */
export const commandDrill: StepDrill<CommandParams> = {
  missing: (p) =>
    p.drill === undefined
      ? `a command step says what it does in a drill: add drill: skip | run | "<command>" to its params`
      : undefined,
  describe: (p) =>
    p.drill === 'skip' || p.drill === undefined
      ? 'skipped in a drill'
      : p.drill === 'run'
        ? `run ${p.command} with PHOENIX_DRILL=1`
        : `run ${p.drill.slice(0, 120)} (sh) with PHOENIX_DRILL=1`,
  async rehearse(p, ctx) {
    if (p.drill === 'skip' || p.drill === undefined)
      return { summary: 'drill: skipped (drill: skip)', output: { skipped: true } };
    const env = { ...p.env, PHOENIX_DRILL: '1' };
    const params: CommandParams =
      p.drill === 'run' ? { ...p, env } : { ...p, command: 'sh', args: ['-c', p.drill], env };
    const result = await commandAdapter.run(params, ctx);
    return { ...result, summary: `drill: ${result.summary}` };
  },
};
