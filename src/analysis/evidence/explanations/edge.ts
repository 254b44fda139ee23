import { count, errorRateNormal, finding, item, type Explanation, type Finding } from '../explanation.js';
import type { Features } from '../features.js';

/**
 * The edge (CDN/DNS provider) in front of the origin: users get errors while the origin sees few of them and
 * less traffic, and the edge is named (its feed, its own error pages, its name in our probes' details).
 */
export const edge: Explanation = {
  name: 'the edge',
  weigh(f: Features, cloud): Finding[] {
    const traffic = f.metrics.trafficRatio;
    const trafficDropped = traffic !== undefined && traffic <= 0.5;
    const shaped =
      f.external.allDown && errorRateNormal(f) && (trafficDropped || f.metrics.requestRate === undefined);
    const named =
      f.edgeIncidents.length > 0 ||
      f.edgeFeedDown ||
      (f.details.tally.get('edge') ?? 0) > 0 ||
      (f.edgeProvider.length > 2 && f.details.text.toLowerCase().includes(f.edgeProvider));
    if (!shaped || !named || cloud.strength > 2 || count(f, 'certificate') > 0) return [];
    const evidence = [
      item(
        'signal:external_uptime',
        f.external.status,
        -3,
        'users get errors from the edge while the origin’s own error rate is normal and its traffic dropped',
      ),
    ];
    if (f.edgeIncidents[0])
      evidence.push(
        item('context:cloudflare', f.edgeIncidents[0].name, -3, 'the edge provider reports a major incident'),
      );
    const strength = 3 + (f.edgeIncidents.length ? 3 : f.edgeFeedDown ? 1 : 0);
    return [
      finding(
        'cloudflare_infrastructure',
        strength,
        'an outage of the edge provider in front of the site',
        evidence,
      ),
    ];
  },
};
