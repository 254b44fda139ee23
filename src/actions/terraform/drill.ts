import { runProcess } from '../shared/process.js';
import { StepError, type CleanupResult, type StepContext, type StepDrill } from '../types.js';
import type { TerraformParams } from './config.js';
import { terraformAdapter } from './terraform.js';

/** The workspace the step uses for real: its own, else the one terraform calls `default`. */
const liveWorkspace = (p: TerraformParams) => p.workspace ?? 'default';

/** The drill's workspace: `drill.workspace`, else `<workspace>-drill`; never the live one. */
export function drillWorkspace(p: TerraformParams): string {
  const name = p.drill?.workspace ?? `${liveWorkspace(p)}-drill`;
  if (name === liveWorkspace(p))
    throw new StepError(
      `drill: the drill workspace ${name} is the live workspace; set drill.workspace to another one`,
    );
  return name;
}

const drillVars = (p: TerraformParams) => ({ ...p.vars, ...p.drill?.vars });

function terraform(p: TerraformParams, ctx: StepContext) {
  const env = { ...ctx.env, ...p.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0' };
  return (args: string[], allowFailure = false) =>
    runProcess(p.binary, [`-chdir=${p.dir}`, ...args], { signal: ctx.signal, env, allowFailure });
}

/** The workspaces of the directory's backend, and the one selected. */
async function workspaces(tf: ReturnType<typeof terraform>): Promise<{ all: string[]; selected?: string }> {
  const listed = await tf(['workspace', 'list']);
  const lines = listed.stdout.split('\n').filter((l) => l.trim());
  return {
    all: lines.map((l) => l.replace(/^\*/, '').trim()),
    selected: lines
      .find((l) => l.startsWith('*'))
      ?.slice(1)
      .trim(),
  };
}

/**
 * Plans and applies the step's configuration in a drill workspace (its own state on the same
 * backend), with the drill vars on top; the live workspace's state is never touched, and the
 * directory's selected workspace is set back afterwards. Cleanup destroys everything in the drill
 * workspace, deletes it, and checks it is gone.
 */
export const terraformDrill: StepDrill<TerraformParams> = {
  describe: (p) =>
    `${p.binary} apply in ${p.dir}, workspace ${p.drill?.workspace ?? `${liveWorkspace(p)}-drill`}; destroyed afterwards`,
  async rehearse(p, ctx) {
    const workspace = drillWorkspace(p);
    const tf = terraform(p, ctx);
    if (p.init) await tf(['init', '-input=false', '-no-color']);
    const { selected } = await workspaces(tf);
    try {
      const result = await terraformAdapter.run({ ...p, init: false, workspace, vars: drillVars(p) }, ctx);
      return {
        summary: `drill: workspace ${workspace}: ${result.summary}`,
        output: { ...result.output, drill_workspace: workspace },
      };
    } finally {
      // A later real run without `workspace` uses the selected one: never leave it on the drill's.
      if (selected && selected !== workspace) await tf(['workspace', 'select', selected], true);
    }
  },
  async cleanup(p, ctx): Promise<CleanupResult> {
    const workspace = drillWorkspace(p);
    const tf = terraform(p, ctx);
    if (p.init) await tf(['init', '-input=false', '-no-color']);
    const before = await workspaces(tf);
    if (!before.all.includes(workspace))
      return { summary: `workspace ${workspace} does not exist: nothing to destroy`, left: [] };
    const back = before.all.includes(liveWorkspace(p)) ? liveWorkspace(p) : 'default';
    const varArgs = [
      ...p.var_files.map((f) => `-var-file=${f}`),
      ...Object.entries(drillVars(p)).map(([k, v]) => `-var=${k}=${String(v)}`),
    ];
    await tf(['workspace', 'select', workspace]);
    let state: string[];
    let destroyed: string;
    try {
      ctx.progress(`destroy in ${workspace}`);
      const destroy = await tf(['destroy', '-input=false', '-no-color', '-auto-approve', ...varArgs]);
      destroyed = /Destroy complete!.*/.exec(destroy.stdout)?.[0] ?? 'destroy done';
      state = (await tf(['state', 'list'])).stdout.split('\n').filter((l) => l.trim());
    } finally {
      await tf(['workspace', 'select', before.selected === workspace ? back : (before.selected ?? back)]);
    }
    if (state.length)
      return {
        summary: `destroyed in ${workspace}, but its state still holds ${state.length} resources`,
        left: state.map((r) => `${r} in workspace ${workspace}`),
      };
    await tf(['workspace', 'delete', workspace]);
    const after = await workspaces(tf);
    return {
      summary: `${destroyed} in workspace ${workspace}; deleted the workspace${after.all.includes(workspace) ? '' : ', terraform no longer lists it'}`,
      left: after.all.includes(workspace) ? [`terraform workspace ${workspace} in ${p.dir}`] : [],
    };
  },
};
