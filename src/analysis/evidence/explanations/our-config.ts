import { count, example, finding, item, whenSeen, type Explanation, type Finding } from '../explanation.js';
import type { Features } from '../features.js';
import { dnsChangeOfOurs, edgeDnsFailing } from './edge.js';

/**
 * Our own names stopped resolving; stronger right after a change to our DNS, weaker where a DNS or CDN provider
 * we declared fronts the sites and we changed nothing (the edge explanation weighs that provider).
 */
function ownDns(f: Features): Finding[] {
  if (count(f, 'dns_own') === 0 || count(f, 'dns_aws') > 0) return [];
  const dnsChange = dnsChangeOfOurs(f);
  const weight = dnsChange ? 5 : edgeDnsFailing(f) ? 1 : 3;
  const says = `our own names do not resolve${dnsChange ? ' right after a change to our DNS' : ''}`;
  return [
    finding('internal_config', weight, 'our own DNS names stopped resolving', [
      item('context:logs', example(f, 'dns_own'), -weight, says),
    ]),
  ];
}

/** Our configuration: certificates, our own DNS names, our credentials and policies. */
export const ourConfig: Explanation = {
  name: 'our configuration',
  weigh(f: Features): Finding[] {
    return [
      ...whenSeen(
        f,
        'certificate',
        'internal_config',
        6,
        'an invalid or expired TLS certificate',
        'TLS certificate validation fails; the DR site serves the same certificate',
      ),
      ...ownDns(f),
      ...whenSeen(
        f,
        'permission',
        'internal_config',
        3,
        'our credentials or permissions are refused',
        'AWS answers "access denied": our own credentials or policies fail, not the cloud',
      ),
    ];
  },
};
