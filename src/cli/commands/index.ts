import type { Command } from 'commander';
import { registerReplay } from './replay.js';
import { registerValidate } from './validate.js';
import { registerLab } from './lab.js';
import { registerDrill } from './drill.js';
import { registerPlan } from './plan.js';
import { registerFailover } from './failover.js';
import { registerFailback } from './failback.js';
import { registerApprove } from './approve.js';
import { registerAbort } from './abort.js';
import { registerRuns } from './runs.js';
import { registerRun } from './run.js';
import { registerScore } from './score.js';
import { registerStatus } from './status.js';
import { registerAgent } from './agent.js';
import { registerAnalyze } from './analyze.js';
import { registerChange } from './change.js';

/** Every subcommand, one module each. Adding a command touches its own file and this list. */
export const COMMANDS: Array<(program: Command) => void> = [
  registerReplay,
  registerValidate,
  registerLab,
  registerDrill,
  registerPlan,
  registerFailover,
  registerFailback,
  registerApprove,
  registerAbort,
  registerRuns,
  registerRun,
  registerScore,
  registerStatus,
  registerAgent,
  registerAnalyze,
  registerChange,
];
