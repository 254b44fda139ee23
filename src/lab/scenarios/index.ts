import { badDeploy } from './bad-deploy.js';
import { controlPlaneDown } from './control-plane-down.js';
import { failback } from './failback.js';
import { primaryReturns } from './primary-returns.js';
import { regionalOutage } from './regional-outage.js';
import type { DrillScenarioModule } from './types.js';

export type { DrillScenarioModule, ScenarioOutcome, ScenarioLimits, ScenarioStage } from './types.js';

/** Every lab drill scenario, one module each. */
export const SCENARIOS = {
  'regional-outage': regionalOutage,
  'bad-deploy': badDeploy,
  'control-plane-down': controlPlaneDown,
  failback,
  'primary-returns': primaryReturns,
} satisfies Record<string, DrillScenarioModule>;
