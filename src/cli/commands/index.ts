import type { Command } from 'commander';

export type RegisterCommand = (program: Command) => void;

/**
 * Every subcommand by name, one module each, loaded on demand: `phoenix replay` should not pay for
 * the cloud SDKs that `phoenix failover` needs. Adding a command touches its own file and this list.
 */
export const COMMAND_LOADERS: Record<string, () => Promise<RegisterCommand>> = {
  replay: async () => (await import('./replay.js')).registerReplay,
  validate: async () => (await import('./validate.js')).registerValidate,
  lab: async () => (await import('./lab.js')).registerLab,
  drill: async () => (await import('./drill.js')).registerDrill,
  plan: async () => (await import('./plan.js')).registerPlan,
  failover: async () => (await import('./failover.js')).registerFailover,
  failback: async () => (await import('./failback.js')).registerFailback,
  reprotect: async () => (await import('./reprotect.js')).registerReprotect,
  approve: async () => (await import('./approve.js')).registerApprove,
  abort: async () => (await import('./abort.js')).registerAbort,
  runs: async () => (await import('./runs.js')).registerRuns,
  report: async () => (await import('./report.js')).registerReport,
  run: async () => (await import('./run.js')).registerRun,
  score: async () => (await import('./score.js')).registerScore,
  status: async () => (await import('./status.js')).registerStatus,
  site: async () => (await import('./site.js')).registerSite,
  pause: async () => (await import('./site.js')).registerPause,
  resume: async () => (await import('./site.js')).registerResume,
  agent: async () => (await import('./agent.js')).registerAgent,
  analyze: async () => (await import('./analyze.js')).registerAnalyze,
  change: async () => (await import('./change.js')).registerChange,
  'export-scenario': async () => (await import('./export-scenario.js')).registerExportScenario,
};

/** The commands to register: only the one asked for, or all of them for help and unknown names. */
export async function loadCommands(requested: string | undefined): Promise<RegisterCommand[]> {
  const names = requested && requested in COMMAND_LOADERS ? [requested] : Object.keys(COMMAND_LOADERS);
  return Promise.all(names.map((name) => COMMAND_LOADERS[name]()));
}
