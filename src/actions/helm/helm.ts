import { existsSync } from 'node:fs';
import { binaryCheck } from '../terraform/terraform.js';
import { runProcess } from '../shared/process.js';
import type { PreflightCheck, StepAdapter } from '../types.js';
import { helmParamsSchema, type HelmParams } from './config.js';

const isLocalChart = (chart: string) => chart.startsWith('.') || chart.startsWith('/');

/** upgrade --install converges on the requested release: a repeat is safe. */
export const helmAdapter: StepAdapter<HelmParams> = {
  type: 'helm',
  schema: helmParamsSchema,
  describe: (p) =>
    `helm upgrade --install ${p.release} ${p.chart} -n ${p.namespace}${p.kube_context ? ` (context ${p.kube_context})` : ''}`,
  async preflight(p, ctx) {
    const checks: PreflightCheck[] = [binaryCheck(p.binary, ctx.env, 'install Helm 3, or set binary')];
    if (isLocalChart(p.chart))
      checks.push({
        check: 'chart present',
        ok: existsSync(p.chart),
        detail: existsSync(p.chart) ? p.chart : `${p.chart} does not exist`,
      });
    for (const f of p.values_files)
      checks.push({
        check: `values file ${f}`,
        ok: existsSync(f),
        detail: existsSync(f) ? 'present' : 'missing',
      });
    return checks;
  },
  async run(p, ctx) {
    const args = ['upgrade', '--install', p.release, p.chart, '--namespace', p.namespace];
    if (p.create_namespace) args.push('--create-namespace');
    if (p.kube_context) args.push('--kube-context', p.kube_context);
    if (p.kubeconfig) args.push('--kubeconfig', p.kubeconfig);
    if (p.version) args.push('--version', p.version);
    for (const f of p.values_files) args.push('--values', f);
    for (const [k, v] of Object.entries(p.set)) args.push('--set', `${k}=${String(v)}`);
    if (p.wait) args.push('--wait', '--timeout', `${Math.ceil(p.wait_timeout)}s`);
    ctx.progress(`helm ${args.slice(0, 4).join(' ')}`);
    const result = await runProcess(p.binary, args, { signal: ctx.signal });
    const revision = /REVISION: (\d+)/.exec(result.stdout)?.[1];
    const status = /STATUS: (\S+)/.exec(result.stdout)?.[1];
    return {
      summary: `release ${p.release} in ${p.namespace}: ${status ?? 'deployed'}${revision ? `, revision ${revision}` : ''}`,
      output: {
        revision: revision ? Number(revision) : null,
        status: status ?? null,
        stdout: result.stdout.slice(-4000),
      },
    };
  },
};
