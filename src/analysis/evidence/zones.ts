import type { ZoneNodeCount } from '../../core/index.js';

/**
 * How widely a failure spreads over the Availability Zones of the primary region. AWS names a zone two ways:
 * the account's zone name (`us-east-1a`) and the zone ID that is the same in every account (`use1-az1`).
 * Structured per-zone counts are read first; text is the fallback and understands both schemes.
 */
export type ZoneSpread = 'single' | 'multi';

/** A zone counts as hit when at least this share of its nodes is NotReady; a stray node is not a zone loss. */
const ZONE_HIT_SHARE = 0.25;

/** Zone spread from per-zone node counts (`eks_nodes.zones`), keyed by zone name or zone ID alike. */
export function spreadFromZones(zones: Record<string, ZoneNodeCount> | undefined): ZoneSpread | undefined {
  if (!zones) return undefined;
  const counts = Object.values(zones).filter((z) => z && Number.isFinite(z.ready) && z.total > 0);
  const hit = counts.filter((z) => (z.total - z.ready) / z.total >= ZONE_HIT_SHARE).length;
  if (hit === 0) return undefined;
  if (hit >= 2) return 'multi';
  // One zone hit is confined only when the others are known and hold up.
  return counts.length >= 2 ? 'single' : undefined;
}

// A zone name (`us-east-1c`, `eu-central-1a`), a zone ID (`use1-az4`, `euc1-az2`), or a short form after a
// zone name (`us-east-1a and 1b`).
const ZONE_NAME = String.raw`(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d[a-z]`;
const ZONE_ID = String.raw`[a-z]{2}[a-z]{1,2}\d-az\d+`;
const ZONE = new RegExp(
  String.raw`\b(?:${ZONE_NAME}|${ZONE_ID})\b(?:\s*\((?:${ZONE_NAME}|${ZONE_ID})\))?|\b\d[a-f]\b`,
  'gi',
);
// The EC2 probe's own format (signals/ec2.ts): "region: zone state, zone state", states from DescribeAvailabilityZones.
const EC2_PROBE = new RegExp(
  String.raw`^\s*[a-z]{2}-[a-z]+-\d:\s*((?:(?:${ZONE_NAME}|${ZONE_ID})\s+(?:impaired|unavailable|constrained)(?:,\s*)?)+)\s*$`,
  'i',
);
const HEALTHY_WORDS =
  /\b(?:healthy|ok|ready|available|unaffected|not affected|normal|fine|joining|new nodes?|serving)\b/i;
const FAILING_WORDS =
  /not ?ready|\b(?:down|impaired|unavailable|lost|failing|fails?|failed|power|offline|unreachable|degraded|outage|evicted|terminated)\b/i;
const CONFINED = /\b(?:all in|only in|only|confined to|isolated to|single|one)\b/i;

/** Zone tokens a clause names; "us-east-1c (use1-az4)" is one zone. */
function zonesIn(clause: string): string[] {
  return [...new Set((clause.match(ZONE) ?? []).map((z) => z.toLowerCase().replace(/\s*\(.*\)$/, '')))];
}

// Probe details repeat cycle after cycle and the history is read every cycle: read each distinct text once.
const CACHE_LIMIT = 4096;
const spreads = new Map<string, ZoneSpread | undefined>();

/** Zone spread from free text (probe details, status bodies). Undefined when the text says neither. */
export function zoneSpread(text: string): ZoneSpread | undefined {
  if (spreads.has(text)) return spreads.get(text);
  if (spreads.size >= CACHE_LIMIT) spreads.clear();
  const spread = readSpread(text);
  spreads.set(text, spread);
  return spread;
}

function readSpread(text: string): ZoneSpread | undefined {
  const probe = EC2_PROBE.exec(text);
  if (probe) return probe[1].split(',').filter((p) => p.trim()).length >= 2 ? 'multi' : 'single';
  const lower = text.toLowerCase();
  if (
    /\b(?:single|one) (?:availability zone|az|zone)\b|other (?:availability )?zones?[^.;]*not affected/.test(
      lower,
    )
  )
    return 'single';
  if (
    /\b(?:all|every|multiple|several|two|three|four|2|3|4)\s+(?:of the\s+)?(?:the\s+)?(?:azs|availability zones|zones)\b|\bacross (?:all )?(?:azs|zones|availability zones)\b|\bin all three\b/.test(
      lower,
    )
  )
    return 'multi';
  const failing = new Set<string>();
  let healthyNamed = false;
  for (const clause of lower.split(/[;.]\s*|\s+while\s+|\s+but\s+/)) {
    const zones = zonesIn(clause);
    if (zones.length === 0) continue;
    if (HEALTHY_WORDS.test(clause) && !FAILING_WORDS.test(clause)) healthyNamed = true;
    else if (FAILING_WORDS.test(clause)) zones.forEach((z) => failing.add(z));
  }
  if (failing.size >= 2) return 'multi';
  if (failing.size === 1 && (healthyNamed || CONFINED.test(lower))) return 'single';
  return undefined;
}
