import { existsSync } from 'node:fs';
import { findExecutable, runProcess } from '../shared/process.js';
import type { PreflightCheck, StepAdapter } from '../types.js';
import { terraformParamsSchema, type TerraformParams } from './config.js';

function binaryCheck(binary: string, env: NodeJS.ProcessEnv, install: string): PreflightCheck {
  const found = findExecutable(binary, env);
  return {
    check: `${binary} present`,
    ok: Boolean(found),
    detail: found ?? `${binary} is not on PATH; ${install}`,
  };
}

export { binaryCheck };

/** plan then apply that saved plan: what is applied is what was planned (and captured). apply converges, so a repeat is safe. */
export const terraformAdapter: StepAdapter<TerraformParams> = {
  type: 'terraform',
  schema: terraformParamsSchema,
  describe: (p) => `${p.binary} apply in ${p.dir}${p.workspace ? ` (workspace ${p.workspace})` : ''}`,
  async preflight(p, ctx) {
    return [
      binaryCheck(p.binary, ctx.env, 'install Terraform or OpenTofu, or set binary'),
      {
        check: 'directory exists',
        ok: existsSync(p.dir),
        detail: existsSync(p.dir) ? p.dir : `${p.dir} does not exist; fix dir`,
      },
      ...p.var_files.map((f) => ({
        check: `var file ${f}`,
        ok: existsSync(f),
        detail: existsSync(f) ? 'present' : 'missing',
      })),
    ];
  },
  async run(p, ctx) {
    const env = { ...ctx.env, ...p.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0' };
    const tf = (args: string[]) =>
      runProcess(p.binary, [`-chdir=${p.dir}`, ...args], { signal: ctx.signal, env });
    if (p.init) {
      ctx.progress('init');
      await tf(['init', '-input=false', '-no-color']);
    }
    if (p.workspace) {
      ctx.progress(`workspace ${p.workspace}`);
      await tf(['workspace', 'select', '-or-create', p.workspace]);
    }
    const varArgs = [
      ...p.var_files.map((f) => `-var-file=${f}`),
      ...Object.entries(p.vars).map(([k, v]) => `-var=${k}=${String(v)}`),
    ];
    ctx.progress('plan');
    const plan = await tf(['plan', '-input=false', '-no-color', '-out=phoenix.tfplan', ...varArgs]);
    const summary = /Plan: .*|No changes\..*/.exec(plan.stdout)?.[0] ?? 'plan done';
    ctx.progress(summary);
    const apply = await tf(['apply', '-input=false', '-no-color', '-auto-approve', 'phoenix.tfplan']);
    const applied = /Apply complete!.*/.exec(apply.stdout)?.[0] ?? 'apply done';
    return {
      summary: `${p.binary} ${p.dir}: ${summary} → ${applied}`,
      output: { plan: plan.stdout.slice(-8000), apply: apply.stdout.slice(-4000) },
    };
  },
};
