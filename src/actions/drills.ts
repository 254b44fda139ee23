import type { StepType } from '../config/sections/runbooks.js';
import type { StepDrill } from './types.js';
import { commandDrill } from './command/drill.js';
import { databaseDrill } from './database/drill.js';
import { dnsDrill } from './dns/drill.js';
import { fenceDrill } from './fence/drill.js';
import { healthCheckDrill } from './health_check/drill.js';
import { helmDrill } from './helm/drill.js';
import { httpDrill } from './http/drill.js';
import { kubernetesDrill } from './kubernetes/drill.js';
import { notifyDrill } from './notify/drill.js';
import { storageSyncDrill } from './storage_sync/drill.js';
import { terraformDrill } from './terraform/drill.js';
import { verifyDrill } from './verify/drill.js';

/** How each step type rehearses in a drill; a type missing here is skipped by drills and flagged by validate. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const DRILLS: Partial<Record<StepType, StepDrill<any>>> = {
  command: commandDrill,
  database: databaseDrill,
  dns: dnsDrill,
  fence: fenceDrill,
  health_check: healthCheckDrill,
  helm: helmDrill,
  http: httpDrill,
  kubernetes: kubernetesDrill,
  notify: notifyDrill,
  storage_sync: storageSyncDrill,
  terraform: terraformDrill,
  verify: verifyDrill,
};

/** The step's drill behaviour, or why it has none (with the fix): such a step is skipped in a drill. */
export function drillFor(
  type: StepType,
  params: unknown,
): { drill: StepDrill<unknown> } | { missing: string } {
  const drill = DRILLS[type] as StepDrill<unknown> | undefined;
  if (!drill)
    return {
      missing: `step type ${type} has no drill behaviour yet: a drill skips it; rehearse it with a command step (drill: "<command>") instead`,
    };
  const missing = drill.missing?.(params);
  return missing ? { missing } : { drill };
}
