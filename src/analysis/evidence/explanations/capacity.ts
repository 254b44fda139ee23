import { count, finding, item, type Explanation, type Finding } from '../explanation.js';
import type { Features } from '../features.js';

/** Capacity: a traffic surge beyond what we run, often with our connection pools exhausted. */
export const capacity: Explanation = {
  name: 'capacity',
  weigh(f: Features): Finding[] {
    const traffic = f.metrics.trafficRatio;
    if (traffic === undefined || traffic < 2) return [];
    return [
      finding(
        'capacity',
        3 + (count(f, 'pool_exhaustion') > 0 ? 1 : 0),
        'a traffic surge beyond our capacity',
        [
          item(
            'context:metrics',
            `request_rate x${traffic.toFixed(1)}`,
            -3,
            `requests are ${traffic.toFixed(1)} times the baseline`,
          ),
        ],
      ),
    ];
  },
};
