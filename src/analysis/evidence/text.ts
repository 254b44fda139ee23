/**
 * Pattern families for the text the analysis reads: probe details (written by
 * our own probes) and log lines and status-page bodies (written by others, so
 * untrusted). A match is weak evidence of a kind of failure; it never maps to
 * an action by itself, and text that reads like an instruction is a red flag.
 */

export type TextFamily =
  | 'aws_endpoint'
  | 'node_loss'
  | 'network_timeout'
  | 'code_bug'
  | 'memory'
  | 'certificate'
  | 'dns_aws'
  | 'dns_own'
  | 'third_party'
  | 'pool_exhaustion'
  | 'db_contention'
  | 'disk_full'
  | 'permission'
  | 'edge'
  | 'injection';

const PATTERNS: Array<[Exclude<TextFamily, 'dns_aws' | 'dns_own'>, RegExp]> = [
  [
    'aws_endpoint',
    /amazonaws\.com|\b(?:sts|dynamodb|s3|ec2|lambda|eks|rds|ebs|sqs|secretsmanager|kms|iam)\b[^\n]{0,80}?(?:\b50[0-4]\b|serviceunavailable|service unavailable|internalerror|internal error|timed? ?out|throttl|slowdown|serviceexception)|insufficientinstancecapacity|server\.internalerror|requestlimitexceeded/i,
  ],
  [
    'node_loss',
    /nodenotready|kubelet stopped posting|pleg is not healthy|blocked for more than \d+ seconds|not ?ready \(/i,
  ],
  [
    'network_timeout',
    /i\/o timeout|connect(?:ion)? timed out|etimedout|connecttimeout|sockettimeoutexception|no route to host|econnreset|connection reset|tls handshake timeout|context deadline exceeded|timeout expired|opentimeout|connection refused/i,
  ],
  [
    'code_bug',
    /typeerror|referenceerror|nullpointerexception|nil pointer dereference|\bpanic:|cannot read propert(?:y|ies) of (?:undefined|null)|unhandled (?:rejection|exception)|segmentation (?:fault|violation)|cannot unmarshal|\b(?:indexerror|keyerror|attributeerror|classcastexception|illegalstateexception|nomethoderror)\b|undefined method|stack ?overflow|\.(?:ts|js|go|py|java|rb|kt):\d+/i,
  ],
  [
    'memory',
    /out of memory|oomkill|oom[- ]?kill|heap limit|memorypressure|low on resource: memory|insufficientmemory|allocation failed|memory cgroup/i,
  ],
  [
    'certificate',
    /x509|certificate (?:has )?expired|cert_has_expired|sslhandshakeexception|pkix path|certificate verify failed|invalid ssl certificate|\berror 526\b|certificate is not yet valid/i,
  ],
  [
    'third_party',
    /\b(?:stripe|twilio|sendgrid|paypal|braintree|adyen|auth0|okta|plaid|shopify|mailgun|algolia|zendesk|salesforce|hubspot)/i,
  ],
  [
    'pool_exhaustion',
    /connection is not available|pool stats|remaining connection slots|too many (?:connections|clients)|max_connections|pool exhausted|waiting=\d{2,}/i,
  ],
  [
    'db_contention',
    /conflict with recovery|lock timeout|deadlock detected|checkpoints are occurring too frequently|lock wait timeout/i,
  ],
  [
    'permission',
    /accessdenied|access denied|unauthorizedoperation|not authori[sz]ed to perform|is not authori[sz]ed|invalidclienttokenid|signaturedoesnotmatch|\b403 forbidden\b/i,
  ],
  [
    'disk_full',
    /no space left on device|could not extend file|disk (?:is )?full|diskfull|storage-full|out of disk/i,
  ],
  ['edge', /cloudflare|cf-ray|\bedge\b|origin not contacted|front door|\bcdn\b/i],
  [
    'injection',
    /system (?:override|notice|prompt)|assistant instruction|\bai (?:operations )?(?:agent|assistant)\b|ignore (?:all |any )?(?:previous|prior|above) instructions|initiate (?:a |the )?(?:disaster recovery|dr\b|failover)|fail ?over (?:now|immediately)|trigger (?:the |a )?(?:dr|failover|disaster recovery)|this is authori[sz]ed|\[\[.*(?:override|instruction).*\]\]/i,
  ],
];

const DNS_FAILURE =
  /nxdomain|enotfound|unknownhostexception|no such host|name or service not known|could not resolve|does not resolve|origin dns error|\berror 1016\b/i;
const HOSTNAME = /\b(?:[a-z0-9-]+\.)+[a-z]{2,}\b/gi;
const AWS_REGIONAL_NAME = /\b[a-z0-9]+\.(?:us|eu|ap|sa|ca|me|af|il)-[a-z]+-\d\b/i;
const AWS_SERVICE_NAME = /\b(?:dynamodb|sts|s3|ec2|lambda|sqs|sns|kms|iam|rds|elasticache|route ?53)\b/i;

/** Every family a piece of text belongs to. */
export function classifyText(text: string): Set<TextFamily> {
  const families = new Set<TextFamily>();
  for (const [family, pattern] of PATTERNS) if (pattern.test(text)) families.add(family);
  // An AWS endpoint that answers "access denied" works; our own permissions are what fails.
  if (families.has('permission')) families.delete('aws_endpoint');
  if (DNS_FAILURE.test(text)) {
    const hosts = (text.match(HOSTNAME) ?? []).map((h) => h.toLowerCase());
    const aws =
      hosts.some((h) => h.endsWith('amazonaws.com')) ||
      AWS_REGIONAL_NAME.test(text) ||
      (hosts.length === 0 && AWS_SERVICE_NAME.test(text));
    if (aws) families.add('dns_aws');
    else if (hosts.length > 0) families.add('dns_own');
  }
  return families;
}

/** Counts of each family over many lines; a line counts once per family. */
export function tallyText(lines: string[]): Map<TextFamily, number> {
  const tally = new Map<TextFamily, number>();
  for (const line of lines) {
    for (const family of classifyText(line)) tally.set(family, (tally.get(family) ?? 0) + 1);
  }
  return tally;
}

/** The first line of a family, trimmed, for an evidence item. */
export function firstOf(lines: string[], family: TextFamily, width = 140): string | undefined {
  const line = lines.find((l) => classifyText(l).has(family));
  if (!line) return undefined;
  const flat = line.replace(/\s+/g, ' ').trim();
  return flat.length > width ? flat.slice(0, width - 1) + '…' : flat;
}

/**
 * Whether a text says a failure is confined to one Availability Zone or spans
 * several. Returns undefined when it says neither.
 */
export function zoneSpread(text: string): 'single' | 'multi' | undefined {
  const lower = text.toLowerCase();
  if (
    /single availability zone|single az\b|one availability zone|\ball in (?:one az|a single az|[a-z]{2}-[a-z]+-\d[a-f])|other availability zones[^.]*not affected|(?:1[a-f]|-\d[a-f]) and (?:1[a-f]|[a-z]{2}-[a-z]+-\d[a-f]) healthy/.test(
      lower,
    )
  ) {
    return 'single';
  }
  if (
    /all (?:three |3 |the )?(?:azs|availability zones)|across all azs|in all three|multiple availability zones|(?:two|three|2|3) (?:azs|availability zones)|across (?:us|eu|ap)-[a-z]+-\d[a-f],/.test(
      lower,
    )
  ) {
    return 'multi';
  }
  // "NotReady in us-east-1a, 1b and 1c" or "NotReady (us-east-1a, us-east-1d)": a list of zones.
  if (/notready[^;.]*?\b(?:in|across)\s+[a-z0-9-]+(?:,\s*|,?\s+and\s+)[a-z0-9-]+/.test(lower)) return 'multi';
  if (/notready\s*\([^)]*,[^)]*\)/.test(lower)) return 'multi';
  return undefined;
}

/** Lower-case letters and digits only, so "East US 2" matches "eastus2". */
export function squash(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]/g, '');
}
