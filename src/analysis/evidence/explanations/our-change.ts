import type { ChangeRecord, RootCauseCategory } from '../../../core/index.js';
import { formatDuration } from '../../../core/index.js';
import { finding, item, type Explanation, type Finding } from '../explanation.js';
import type { Features } from '../features.js';

/** A change to our own monitoring (prober, Phoenix itself) is our monitoring's explanation, not this one. */
export function isMonitoringChange(change: ChangeRecord): boolean {
  return (
    change.kind === 'infra' && /monitor|prober|phoenix/i.test(`${change.service ?? ''} ${change.description}`)
  );
}

const CATEGORY_OF_KIND: Record<string, RootCauseCategory> = {
  migration: 'internal_database',
  deploy: 'internal_application',
};

/**
 * Our change: a deploy, config change, migration or infra change shortly before the failure began. A
 * scaling event is not a suspect. Rolling it back without effect makes it a weak suspect.
 */
export const ourChange: Explanation = {
  name: 'our change',
  weigh(f: Features): Finding[] {
    const rolledBack = f.changes.rollbackFailed;
    const onset = f.onset ?? f.now;
    return f.changes.beforeOnset
      .filter((c) => c.kind !== 'scaling' && !isMonitoringChange(c))
      .map((change) => {
        const weight = rolledBack ? 0.5 : 3;
        const ago = formatDuration(Math.max(0, onset - change.at));
        return finding(
          CATEGORY_OF_KIND[change.kind] ?? 'internal_config',
          weight,
          `our ${change.kind} ${ago} before the failure began`,
          [
            item(
              'context:changes',
              change.description,
              -weight,
              `a ${change.kind}${change.service ? ` of ${change.service}` : ''} ${ago} before the failure began${rolledBack ? ', but rolling it back changed nothing' : ''}`,
            ),
          ],
        );
      });
  },
};
