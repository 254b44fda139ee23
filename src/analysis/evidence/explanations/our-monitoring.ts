import { finding, item, type Explanation, type Finding } from '../explanation.js';
import type { Features } from '../features.js';
import { isMonitoringChange } from './our-change.js';

/** Our monitoring: a change to the prober or to Phoenix itself right before the probes failed. */
export const ourMonitoring: Explanation = {
  name: 'our monitoring',
  weigh(f: Features): Finding[] {
    return f.changes.beforeOnset
      .filter(isMonitoringChange)
      .map((change) =>
        finding('monitoring_fault', 2, 'a change to our own monitoring', [
          item(
            'context:changes',
            change.description,
            -2,
            'our monitoring changed right before the probes failed',
          ),
        ]),
      );
  },
};
