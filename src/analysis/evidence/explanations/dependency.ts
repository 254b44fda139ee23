import { whenSeen, type Explanation, type Finding } from '../explanation.js';
import type { Features } from '../features.js';

/** A third-party API we call (payments, identity, messaging, ...) failing, while the cloud looks healthy. */
export const dependency: Explanation = {
  name: 'a dependency',
  weigh(f: Features, cloud): Finding[] {
    if (cloud.strength > 2) return [];
    return whenSeen(
      f,
      'third_party',
      'internal_application',
      3,
      'a third-party API we depend on is failing',
      'only the paths that call a third-party API fail; DR uses the same provider',
    );
  },
};
