import { formatDuration } from '../core/index.js';
import type { Scenario } from './scenario.js';

export interface Evaluation {
  met: boolean;
  problems: string[];
  /** Which of FORMAT.md's failure rules fired, for the summary line. */
  failures: {
    false_positive_dr: boolean;
    missed_dr: boolean;
    premature_dr: boolean;
    false_region_failover: boolean;
    missed_region_failover: boolean;
  };
  category_matched?: boolean;
}

/** Judges the decided actions against the scenario's expectation, by FORMAT.md's failure rules. */
export function evaluate(
  scenario: Scenario,
  decisions: Array<{ at: number; action: string; category: string }>,
): Evaluation {
  const { expect } = scenario;
  const problems: string[] = [];
  const failures = {
    false_positive_dr: false,
    missed_dr: false,
    premature_dr: false,
    false_region_failover: false,
    missed_region_failover: false,
  };
  const notBefore = expect.not_before ?? 0;
  const by = expect.by ?? Infinity;
  const within = (at: number): boolean => at >= notBefore && at <= by;
  const drs = decisions.filter((d) => d.action === 'dr_failover');
  const regions = decisions.filter((d) => d.action === 'region_failover');

  if (expect.action !== 'dr_failover' && drs.length > 0) {
    failures.false_positive_dr = true;
    problems.push(`false-positive DR at ${formatDuration(drs[0].at)}: expected ${expect.action}`);
  }
  // A premature DR is a failover that already happened: a later one inside the window does not undo it.
  const early = expect.action === 'dr_failover' ? drs.find((d) => d.at < notBefore) : undefined;
  if (early && drs.some((d) => within(d.at))) {
    failures.premature_dr = true;
    problems.push(`premature DR at ${formatDuration(early.at)}: not before ${formatDuration(notBefore)}`);
  }
  if (expect.action === 'dr_failover' && !drs.some((d) => within(d.at))) {
    if (early) {
      failures.premature_dr = true;
      problems.push(`premature DR at ${formatDuration(early.at)}: not before ${formatDuration(notBefore)}`);
    } else {
      failures.missed_dr = true;
      const late = drs.find((d) => d.at > by);
      problems.push(
        late
          ? `late DR at ${formatDuration(late.at)}: expected by ${formatDuration(by)}`
          : `missed DR: none decided${Number.isFinite(by) ? ` by ${formatDuration(by)}` : ''}`,
      );
    }
  }
  if ((expect.action === 'none' || expect.action === 'self_heal') && regions.length > 0) {
    failures.false_region_failover = true;
    problems.push(`false region failover at ${formatDuration(regions[0].at)}: expected ${expect.action}`);
  }
  if (expect.action === 'region_failover' && !regions.some((d) => within(d.at))) {
    failures.missed_region_failover = true;
    problems.push(
      regions.length
        ? `region failover at ${formatDuration(regions[0].at)} outside ${formatDuration(notBefore)}..${Number.isFinite(by) ? formatDuration(by) : 'end'}`
        : 'missed region failover: none decided',
    );
  }
  let category_matched: boolean | undefined;
  if (expect.category) {
    const drastic =
      expect.action === 'dr_failover' ? drs[0] : expect.action === 'region_failover' ? regions[0] : undefined;
    if (drastic) category_matched = drastic.category === expect.category;
  }
  return { met: problems.length === 0, problems, failures, category_matched };
}
