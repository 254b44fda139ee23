import type { Explanation } from '../explanation.js';
import { capacity } from './capacity.js';
import { dependency } from './dependency.js';
import { edge } from './edge.js';
import { maintenance } from './maintenance.js';
import { ourChange } from './our-change.js';
import { ourCode } from './our-code.js';
import { ourConfig } from './our-config.js';
import { ourData } from './our-data.js';
import { ourMonitoring } from './our-monitoring.js';

export { primaryCloud } from './primary-cloud.js';
export { drReadiness, type Readiness } from './dr-readiness.js';

/**
 * Every rival of the primary-cloud explanation, in the order their findings are merged. To add one, write a
 * module that implements `Explanation` and list it here.
 */
export const RIVALS: readonly Explanation[] = [
  ourChange,
  ourMonitoring,
  ourCode,
  ourConfig,
  dependency,
  capacity,
  ourData,
  maintenance,
  edge,
];
