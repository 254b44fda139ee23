import { finding, item, type Explanation, type Finding } from '../explanation.js';
import type { Features } from '../features.js';

/** How close to the failure's onset a scheduled change must start to explain it. */
const COINCIDENCE_S = 600;

/** Planned maintenance: an AWS scheduled change, in progress or starting when the failure began. */
export const maintenance: Explanation = {
  name: 'planned maintenance',
  weigh(f: Features): Finding[] {
    const onset = f.onset ?? f.now;
    return f.health.maintenance
      .filter(
        (e) =>
          e.statusCode === 'open' ||
          (e.startTime !== undefined && Math.abs(onset - e.startTime) <= COINCIDENCE_S),
      )
      .map((event) =>
        finding('planned_maintenance', 5, `planned ${event.service} maintenance`, [
          item(
            'context:aws_health',
            event.eventTypeCode,
            -5,
            `the failure coincides with scheduled ${event.service} maintenance`,
          ),
        ]),
      );
  },
};
