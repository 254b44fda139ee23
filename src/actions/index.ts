import type { StepType } from '../config/sections/runbooks.js';
import type { StepAdapter } from './types.js';
import { commandAdapter } from './command/command.js';
import { databaseAdapter } from './database/database.js';
import { dnsAdapter } from './dns/dns.js';
import { fenceAdapter } from './fence/fence.js';
import { helmAdapter } from './helm/helm.js';
import { healthCheckAdapter } from './health_check/health_check.js';
import { httpAdapter } from './http/http.js';
import { notifyAdapter } from './notify/notify.js';
import { verifyAdapter } from './verify/verify.js';
import { terraformAdapter } from './terraform/terraform.js';
import { kubernetesAdapter } from './kubernetes/kubernetes.js';
import { storageSyncAdapter } from './storage_sync/storage_sync.js';

export type {
  StepAdapter,
  StepContext,
  StepState,
  StepResult,
  PreflightCheck,
  PreflightContext,
  StepDrill,
  DrillContext,
  CleanupResult,
} from './types.js';
export { drillFor } from './drills.js';
export { StepError } from './types.js';
export { probeOldPrimary, type OldPrimaryProbe } from './fence/probe.js';
export {
  trackProcessGroups,
  killProcessGroup,
  processGroupAlive,
  type ProcessGroupTracker,
} from './shared/process.js';

/** Every step type, one folder each. Adding a type touches its folder and this list. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ADAPTERS: Partial<Record<StepType, StepAdapter<any>>> = {
  command: commandAdapter,
  database: databaseAdapter,
  dns: dnsAdapter,
  fence: fenceAdapter,
  health_check: healthCheckAdapter,
  helm: helmAdapter,
  terraform: terraformAdapter,
  http: httpAdapter,
  notify: notifyAdapter,
  verify: verifyAdapter,
  kubernetes: kubernetesAdapter,
  storage_sync: storageSyncAdapter,
};

export function getAdapter(type: StepType): StepAdapter<unknown> {
  const adapter = ADAPTERS[type];
  if (!adapter) throw new Error(`step type ${type} has no adapter in this build`);
  return adapter as StepAdapter<unknown>;
}

export function stepTypes(): StepType[] {
  return Object.keys(ADAPTERS) as StepType[];
}
export { transientState } from './shared/transient-state.js';
