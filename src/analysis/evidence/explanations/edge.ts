import { count, errorRateNormal, finding, item, type Explanation, type Finding } from '../explanation.js';
import type { Features } from '../features.js';

/**
 * Our own names do not resolve from outside, and nothing of ours changed in DNS: the authoritative DNS service
 * in front of the sites is failing (resolver SERVFAIL, getaddrinfo EAI_AGAIN, "could not resolve host").
 */
export function edgeDnsFailing(f: Features): boolean {
  return f.edgeDeclared && (f.details.tally.get('dns_own') ?? 0) > 0 && !dnsChangeOfOurs(f);
}

export function dnsChangeOfOurs(f: Features): boolean {
  return f.changes.beforeOnset.some((c) =>
    /dns|route ?53|record|zone/i.test(`${c.service ?? ''} ${c.description}`),
  );
}

function edgeNamed(f: Features): boolean {
  return (
    f.edgeIncidents.length > 0 ||
    f.health.edgeIssues.length > 0 ||
    f.edgeFeedDown ||
    (f.details.tally.get('edge') ?? 0) > 0 ||
    (f.edgeProvider.length > 2 && f.details.text.toLowerCase().includes(f.edgeProvider)) ||
    edgeDnsFailing(f)
  );
}

/**
 * The edge (CDN or DNS provider) in front of the origin: users get errors, or cannot resolve our names, while
 * the origin sees few errors and less traffic, and the edge is named (its feed, AWS Health for an AWS edge
 * service, its own error pages, its name in our probes' details, our names failing to resolve).
 */
export const edge: Explanation = {
  name: 'the edge',
  weigh(f: Features, cloud): Finding[] {
    const traffic = f.metrics.trafficRatio;
    const trafficDropped = traffic !== undefined && traffic <= 0.5;
    const shaped =
      f.external.allDown && errorRateNormal(f) && (trafficDropped || f.metrics.requestRate === undefined);
    if (!shaped || !edgeNamed(f) || cloud.strength > 2 || count(f, 'certificate') > 0) return [];
    const dns = edgeDnsFailing(f);
    const evidence = [
      item(
        'signal:external_uptime',
        f.external.status,
        -3,
        dns
          ? 'our names do not resolve from outside while the origin’s own error rate is normal and its traffic dropped'
          : 'users get errors from the edge while the origin’s own error rate is normal and its traffic dropped',
      ),
    ];
    if (f.edgeIncidents[0])
      evidence.push(
        item('context:cloudflare', f.edgeIncidents[0].name, -3, 'the edge provider reports a major incident'),
      );
    const health = f.health.edgeIssues[0];
    if (health)
      evidence.push(
        item(
          'context:aws_health',
          health.eventTypeCode,
          -3,
          `AWS Health reports an open issue of the edge service (${health.service})`,
        ),
      );
    const reported = f.edgeIncidents.length > 0 || f.health.edgeIssues.length > 0;
    const strength = 3 + (reported ? 3 : f.edgeFeedDown ? 1 : 0);
    return [
      finding(
        'cloudflare_infrastructure',
        strength,
        dns
          ? 'an outage of the DNS provider in front of the site'
          : 'an outage of the edge provider in front of the site',
        evidence,
      ),
    ];
  },
};
