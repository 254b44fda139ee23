/**
 * Pattern families for the text the analysis reads: probe details (written by
 * our own probes) and log lines and status-page bodies (written by others, so
 * untrusted). A match is weak evidence of a kind of failure; it never maps to
 * an action by itself, and text that reads like an instruction is a red flag.
 */

import { isInstructionLike } from './instructions.js';

export type TextFamily =
  | 'aws_endpoint'
  | 'node_loss'
  | 'network_timeout'
  | 'code_bug'
  | 'crashloop'
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

const PATTERNS: Array<[Exclude<TextFamily, 'dns_aws' | 'dns_own' | 'injection' | 'third_party'>, RegExp]> = [
  [
    'aws_endpoint',
    // AWS API error codes (the "Common Errors" of the AWS API references; EC2's Server.* and capacity codes;
    // S3's SlowDown and InternalError; DynamoDB's InternalServerError; the SDKs' *Exception names), or an AWS
    // service endpoint answering 5xx or not answering.
    /\b(?:internalfailure|internalservererror|serviceunavailableexception|insufficientinstancecapacity|requestlimitexceeded|server\.(?:internalerror|unavailable|insufficientinstancecapacity))\b|\b(?:sts|dynamodb|s3|ec2|lambda|eks|rds|ebs|sqs|sns|kinesis|cognito|elasticache|secretsmanager|kms|iam|route ?53|elb|ecr)\b[^\n]{0,80}?(?:\b50[0-4]\b|serviceunavailable|service unavailable|\bunavailable\b|internalerror|internal error|timed? ?out|throttl|slowdown|serviceexception)|amazonaws\.com[^\n]*?(?:\b5\d\d\b|timed? ?out|timeout|unavailable|refused|reset|failed|unable|internal)|(?:\b5\d\d\b|timed? ?out|timeout|unavailable|refused|reset|failed|unable)[^\n]*?amazonaws\.com/i,
  ],
  [
    'node_loss',
    // Kubernetes node lifecycle: the NodeNotReady / NodeStatusUnknown events, the not-ready and unreachable
    // taints, the kubelet's own PLEG health message, and the kernel's hung-task warning.
    /nodenotready|nodestatusunknown|kubelet stopped posting|pleg is not healthy|node\.kubernetes\.io\/(?:unreachable|not-ready)|\bnode is not ready\b|blocked for more than \d+ seconds|not ?ready \(/i,
  ],
  [
    'network_timeout',
    // POSIX errno names and their strerror texts (ETIMEDOUT, ECONNRESET, ECONNREFUSED, EHOSTUNREACH,
    // ENETUNREACH), Go's net errors, Java's socket exceptions, libpq's "timeout expired", Envoy's upstream reset.
    /\b(?:etimedout|econnreset|econnrefused|ehostunreach|enetunreach|econnaborted)\b|connect(?:ion)? timed out|connection reset|connection refused|no route to host|network is unreachable|i\/o timeout|context deadline exceeded|tls handshake timeout|timeout expired|(?:socket|connect)timeout|sockettimeoutexception|java\.net\.connectexception|opentimeout|upstream connect error/i,
  ],
  [
    'code_bug',
    // Runtime exception names of the languages we run (JavaScript, Java, .NET, Go, Python, Ruby), crash
    // signals, and stack frames that point into source files.
    /\b(?:typeerror|referenceerror|rangeerror|nullpointerexception|nullreferenceexception|classcastexception|illegalstateexception|illegalargumentexception|arrayindexoutofboundsexception|numberformatexception|argumentnullexception|indexerror|keyerror|attributeerror|zerodivisionerror|nomethoderror)\b|nil pointer dereference|\bpanic:|traceback \(most recent call last\)|object reference not set to an instance|cannot read propert(?:y|ies) of (?:undefined|null)|unhandled ?(?:promise )?(?:rejection|exception)|segmentation (?:fault|violation)|\bsigsegv\b|cannot unmarshal|undefined method|stack ?overflow|\.(?:ts|js|mjs|go|py|java|rb|kt|cs|scala):\d+|file "[^"]+\.py", line \d+/i,
  ],
  [
    'crashloop',
    // Kubernetes container states and kubelet events: CrashLoopBackOff (waiting reason) and the kubelet's
    // "Back-off restarting failed container" (event reason BackOff): our container starts and exits again.
    /crashloopbackoff|back-off restarting failed container/i,
  ],
  [
    'memory',
    // The kernel OOM killer ("Out of memory: Killed process", "invoked oom-killer", "Memory cgroup out of
    // memory"), Kubernetes' OOMKilled reason, MemoryPressure condition and eviction message, ENOMEM, and the
    // runtimes' own allocation failures (V8 heap limit, java.lang.OutOfMemoryError, Go's runtime).
    /out of memory|oom[- ]?kill|invoked oom-killer|outofmemoryerror|heap limit|memorypressure|low on resource: memory|insufficient ?memory|cannot allocate memory|\benomem\b|allocation failed|memory cgroup/i,
  ],
  [
    'certificate',
    // TLS/x509 verification errors: Go's "x509:", OpenSSL's verify messages, Node's CERT_* / ERR_TLS_* codes,
    // Java's PKIX and SSLHandshakeException, and Cloudflare's 526 (invalid certificate at the origin).
    /\bx509:|certificate (?:has )?expired|cert_has_expired|certificate verify failed|unable to verify the first certificate|unable_to_verify_leaf_signature|unable to get local issuer certificate|self[- ]signed certificate|depth_zero_self_signed_cert|self_signed_cert_in_chain|err_tls_cert_altname_invalid|does not match certificate's altnames|sslhandshakeexception|pkix path|certificateexpiredexception|certificate is not yet valid|invalid ssl certificate|\berror 526\b/i,
  ],
  [
    'pool_exhaustion',
    // PostgreSQL SQLSTATE 53300 too_many_connections and its messages, MySQL 1040, pgbouncer's
    // max_client_conn, and the pools' own messages (HikariCP, SQLAlchemy QueuePool, node-postgres).
    /connection is not available|remaining connection slots|too many (?:connections|clients)|\b53300\b|no more connections allowed|max_client_conn|max_connections|queuepool limit|timeout exceeded when trying to connect|pool (?:is )?exhausted|pool stats|waiting=\d{2,}/i,
  ],
  [
    'db_contention',
    // PostgreSQL SQLSTATEs 40001 (serialization_failure, incl. standby conflicts), 40P01 (deadlock_detected),
    // 55P03 (lock_not_available), 57014 (statement timeout) and checkpoint warnings; MySQL 1205 and 1213.
    /conflict with recovery|could not serialize access|deadlock (?:detected|found)|\b40p01\b|\b55p03\b|could not obtain lock|lock timeout|lock wait timeout|statement timeout|checkpoints are occurring too frequently/i,
  ],
  [
    'permission',
    // AWS access-denial error codes (AccessDenied[Exception], UnauthorizedOperation, AuthFailure,
    // InvalidClientTokenId, SignatureDoesNotMatch, UnrecognizedClientException), HTTP 403, Kubernetes RBAC.
    /\baccessdenied(?:exception)?\b|access denied|unauthorizedoperation|not authori[sz]ed to perform|is not authori[sz]ed|invalidclienttokenid|signaturedoesnotmatch|unrecognizedclientexception|\bauthfailure\b|\b403 forbidden\b|is forbidden: user/i,
  ],
  [
    'disk_full',
    // ENOSPC ("No space left on device"), EDQUOT, PostgreSQL SQLSTATE 53100 disk_full ("could not extend
    // file"), RDS's storage-full status, Kubernetes' DiskPressure and ephemeral-storage eviction.
    /no space left on device|\benospc\b|could not extend file|\b53100\b|disk (?:is )?full|diskfull|storage-full|out of disk|disk quota exceeded|diskpressure|low on resource: ephemeral-storage/i,
  ],
  [
    'edge',
    // Cloudflare's 52x/530 origin errors and cf-ray header, the CDNs' response markers (Fastly x-served-by,
    // CloudFront x-amz-cf-id, Azure Front Door x-azure-ref, Akamai reference numbers), and an edge by role.
    /\bcf-ray\b|\b(?:error|http|status)[ :]*5(?:2[0-5]|27|30)\b|cloudflare|origin (?:not contacted|unreachable|is unreachable)|web server is down|x-served-by: cache-|x-amz-cf-id|cloudfront|x-azure-ref|front door|fastly|akamai|reference #\d+\.|\bcdn\b|\b(?:the|shared|cdn)\s+(?:[\w-]+\s+)?edge\b/i,
  ],
];

// Resolver failures: NXDOMAIN/SERVFAIL, getaddrinfo's ENOTFOUND/EAI_NONAME/EAI_AGAIN and glibc texts, Go's
// "no such host", Java's UnknownHostException, curl's "could not resolve", Cloudflare 1016 (origin DNS error).
const DNS_FAILURE =
  /\bnxdomain\b|\bservfail\b|\benotfound\b|eai_(?:noname|again)|unknownhostexception|no such host|name or service not known|temporary failure in name resolution|could not resolve|does not resolve|origin dns error|\berror 1016\b/i;
const HOSTNAME = /\b(?:[a-z0-9-]+\.)+[a-z]{2,}\b/gi;
const AWS_REGIONAL_NAME = /\b[a-z0-9]+\.(?:us|eu|ap|sa|ca|me|af|il)-[a-z]+-\d\b/i;
const AWS_SERVICE_NAME = /\b(?:dynamodb|sts|s3|ec2|lambda|sqs|sns|kms|iam|rds|elasticache|route ?53)\b/i;

// A failing call to a host outside our network and outside AWS: the shape of a third-party dependency failing,
// whoever the vendor is. Hosts are taken from URLs and host:port pairs; internal suffixes are ours.
const EXTERNAL_CALL_HOST = /https?:\/\/([a-z0-9.-]+\.[a-z]{2,})|\b((?:[a-z0-9-]+\.)+[a-z]{2,}):\d{2,5}\b/gi;
const OURS_OR_AWS =
  /(?:\.internal|\.local|\.svc|\.cluster\.local|\.lan|\.corp|amazonaws\.com|\.amazon\.com)$/i;
const CALL_FAILED =
  /\b5\d\d\b|timed? ?out|timeout|deadline exceeded|unavailable|refused|reset|bad gateway|failed|unable to/i;
/** A client error class named after a remote API (`SomeVendorAPIError`, `...ConnectionError`), or an upstream named as such. */
const REMOTE_API_ERROR =
  /\b[A-Z][a-z]+[A-Za-z]*(?:API|Api|Rest)(?:Error|Exception)\b|\b[A-Z][a-z]+ConnectionError\b|\b(?:upstream|external|third[- ]party|partner|vendor)\s+(?:api|service|provider|dependency)\b|\bdependency\s+[\w.-]+\s*[=:]\s*(?:down|failing|error|unavailable)\b/;

/** The hosts outside our network and outside AWS that a line calls. */
function externalHosts(text: string): string[] {
  const hosts: string[] = [];
  for (const match of text.matchAll(EXTERNAL_CALL_HOST)) {
    const host = (match[1] ?? match[2] ?? '').toLowerCase();
    if (host && !OURS_OR_AWS.test(host)) hosts.push(host);
  }
  return hosts;
}

/** The registrable domain of a host (shop-example.com for api.shop-example.com; example.co.uk kept whole). */
export function registrableDomain(host: string): string {
  const labels = host.toLowerCase().replace(/\.$/, '').split('.');
  const secondLevel =
    labels.length >= 3 &&
    labels.at(-1)!.length === 2 &&
    /^(?:co|com|net|org|gov|ac|edu)$/.test(labels.at(-2)!);
  return labels.slice(secondLevel ? -3 : -2).join('.');
}

/** Registrable domains named by URLs in a text: what our own probes of our public endpoints call. */
export function domainsIn(text: string): Set<string> {
  return new Set(externalHosts(text).map(registrableDomain));
}

function callsExternalHostFailing(text: string): boolean {
  if (REMOTE_API_ERROR.test(text)) return true;
  if (!CALL_FAILED.test(text)) return false;
  return externalHosts(text).length > 0;
}

// The same log lines and details come back cycle after cycle: classify each distinct text once.
const CACHE_LIMIT = 4096;
const classified = new Map<string, ReadonlySet<TextFamily>>();

/** Every family a piece of text belongs to. */
export function classifyText(text: string): ReadonlySet<TextFamily> {
  let families = classified.get(text);
  if (!families) {
    if (classified.size >= CACHE_LIMIT) classified.clear();
    families = classifyUncached(text);
    classified.set(text, families);
  }
  return families;
}

function classifyUncached(text: string): Set<TextFamily> {
  const families = new Set<TextFamily>();
  for (const [family, pattern] of PATTERNS) if (pattern.test(text)) families.add(family);
  // An AWS endpoint that answers "access denied" works; our own permissions are what fails.
  if (families.has('permission')) families.delete('aws_endpoint');
  if (isInstructionLike(text)) families.add('injection');
  if (DNS_FAILURE.test(text)) {
    const hosts = (text.match(HOSTNAME) ?? []).map((h) => h.toLowerCase());
    const aws =
      hosts.some((h) => h.endsWith('amazonaws.com')) ||
      AWS_REGIONAL_NAME.test(text) ||
      (hosts.length === 0 && AWS_SERVICE_NAME.test(text));
    if (aws) families.add('dns_aws');
    else if (hosts.length > 0) families.add('dns_own');
    // An error page served by the edge names our own host behind it: the edge's family, not a third party's.
  } else if (!families.has('edge') && callsExternalHostFailing(text)) families.add('third_party');
  return families;
}

/**
 * Counts of each family over many lines; a line counts once per family. A failing call whose every host is in
 * one of our own domains (`own`: what our probes of the public endpoints call) is ours, not a third party's.
 */
export function tallyText(lines: string[], own: ReadonlySet<string> = new Set()): Map<TextFamily, number> {
  const tally = new Map<TextFamily, number>();
  for (const line of lines) {
    for (const family of classifyText(line)) {
      if (family === 'third_party' && callsOnlyOwnHosts(line, own)) continue;
      tally.set(family, (tally.get(family) ?? 0) + 1);
    }
  }
  return tally;
}

function callsOnlyOwnHosts(line: string, own: ReadonlySet<string>): boolean {
  if (own.size === 0 || REMOTE_API_ERROR.test(line)) return false;
  const hosts = externalHosts(line);
  return hosts.length > 0 && hosts.every((h) => own.has(registrableDomain(h)));
}

/** The first line of a family, trimmed, for an evidence item. */
export function firstOf(lines: string[], family: TextFamily, width = 140): string | undefined {
  const line = lines.find((l) => classifyText(l).has(family));
  if (!line) return undefined;
  const flat = line.replace(/\s+/g, ' ').trim();
  return flat.length > width ? flat.slice(0, width - 1) + '…' : flat;
}

/** Lower-case letters and digits only, so "East US 2" matches "eastus2". */
export function squash(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]/g, '');
}
