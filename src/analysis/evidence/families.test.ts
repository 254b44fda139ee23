import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyText, type TextFamily } from './text.js';

// Each family is tested on strings written for this test in the named vendor's own vocabulary, none taken
// from a scenario. `not` lists lines of neighbouring vocabulary that must stay out of the family.
const FRESH: Record<string, { family: TextFamily; yes: string[]; not: string[] }> = {
  'AWS API error codes and 5xx from AWS endpoints': {
    family: 'aws_endpoint',
    yes: [
      'An error occurred (InternalFailure) when calling the DescribeInstances operation',
      'KinesisException: ServiceUnavailableException: Service Unavailable (Status Code: 503)',
      'POST https://secretsmanager.eu-west-3.amazonaws.com/ failed with 500',
      'ec2: Unavailable: The service is unavailable. Please try again shortly.',
      'An error occurred (InsufficientInstanceCapacity) when calling the RunInstances operation',
    ],
    not: [
      'AccessDeniedException: User is not authorized to perform: sqs:SendMessage',
      'POST https://api.example-payments.io/v1/charges failed with 500',
    ],
  },
  'Kubernetes node conditions, taints and events': {
    family: 'node_loss',
    yes: [
      'Warning  NodeNotReady  pod/web-5d8 Node is not ready',
      'taint node.kubernetes.io/unreachable:NoExecute applied to ip-10-4-1-3',
      'Node ip-10-4-1-3 status is now: NodeStatusUnknown',
    ],
    not: ['Node ip-10-4-1-3 status is now: NodeReady'],
  },
  'POSIX errno names and runtime timeout errors': {
    family: 'network_timeout',
    yes: [
      'connect EHOSTUNREACH 10.0.12.7:6379',
      'dial tcp 10.2.3.4:443: connect: network is unreachable',
      'java.net.ConnectException: Connection refused (Connection refused)',
      'read ECONNRESET',
    ],
    not: ['GET /healthz 200 in 3ms'],
  },
  'runtime exception names and stack frames': {
    family: 'code_bug',
    yes: [
      'System.NullReferenceException: Object reference not set to an instance of an object.',
      'Traceback (most recent call last): File "/app/billing/tax.py", line 41, in total',
      'java.lang.IllegalArgumentException: amount must be positive',
      'RangeError: Invalid array length',
    ],
    not: ['payment declined by issuer: insufficient funds'],
  },
  'kernel OOM killer, Kubernetes OOMKilled and runtime allocation failures': {
    family: 'memory',
    yes: [
      'Memory cgroup out of memory: Killed process 3120 (node) total-vm:2.1GB',
      'java.lang.OutOfMemoryError: Java heap space',
      'fatal error: runtime: out of memory',
      'Last State: Terminated  Reason: OOMKilled',
    ],
    not: ['cache hit ratio 0.93 for memory store'],
  },
  'TLS/x509 verification errors (Go, OpenSSL, Node, Java) and Cloudflare 525/526': {
    family: 'certificate',
    yes: [
      'x509: certificate signed by unknown authority',
      'Error: unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
      'javax.net.ssl.SSLHandshakeException: PKIX path validation failed: validity check failed',
      "ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames",
    ],
    not: ['renewed certificate for shop.example.org, valid for 90 days'],
  },
  'PostgreSQL SQLSTATE 53300, pgbouncer and JDBC/HikariCP pool errors': {
    family: 'pool_exhaustion',
    yes: [
      'FATAL: sorry, too many clients already (SQLSTATE 53300)',
      'ERROR: no more connections allowed (max_client_conn)',
      'sqlalchemy.exc.TimeoutError: QueuePool limit of size 10 overflow 20 reached',
      'timeout exceeded when trying to connect',
    ],
    not: ['connection established to orders-db'],
  },
  'PostgreSQL SQLSTATEs 40001/40P01/55P03/57014 and MySQL lock errors': {
    family: 'db_contention',
    yes: [
      'ERROR: canceling statement due to lock timeout',
      'ERROR: could not obtain lock on row in relation "orders"',
      'ERROR 1205 (HY000): Lock wait timeout exceeded; try restarting transaction',
      'SQLSTATE 40P01',
    ],
    not: ['ERROR: relation "orderz" does not exist'],
  },
  'ENOSPC and PostgreSQL SQLSTATE 53100': {
    family: 'disk_full',
    yes: [
      'ERROR: could not write to file "base/pgsql_tmp/pgsql_tmp42.1": No space left on device',
      'write /var/lib/data/seg-0001: ENOSPC',
      'PANIC: could not write to file "pg_wal/xlogtemp.71": No space left on device',
    ],
    not: ['disk usage 41% on /var/lib/data'],
  },
  'AWS access-denial error codes and Kubernetes RBAC denials': {
    family: 'permission',
    yes: [
      'AccessDeniedException: User: arn:aws:sts::1:assumed-role/app is not authorized to perform: kms:Decrypt',
      'UnrecognizedClientException: The security token included in the request is invalid',
      'pods is forbidden: User "system:serviceaccount:prod:api" cannot list resource "pods"',
    ],
    not: ['login succeeded for role app'],
  },
  'name-resolution errors (resolver, glibc, Go, Java, Cloudflare 1016)': {
    family: 'dns_own',
    yes: [
      'getaddrinfo EAI_AGAIN ledger.prod.example.net',
      'Temporary failure in name resolution: inventory.internal.example.org',
      'dig: status: NXDOMAIN for api.shop.example.com',
    ],
    not: ['resolved ledger.prod.example.net to 10.0.0.8'],
  },
  'calls to an external host failing (no vendor list)': {
    family: 'third_party',
    yes: [
      'POST https://api.example-payments.io/v1/charges failed with 502 Bad Gateway',
      'upstream provider geo.example-maps.net timed out after 10s',
      'SmsGatewayApiError: 503 from https://rest.example-sms.com/send',
    ],
    not: ['POST https://dynamodb.eu-west-3.amazonaws.com/ failed with 500'],
  },
  'Cloudflare 52x codes and CDN response markers': {
    family: 'edge',
    yes: [
      'Error 521: Web server is down (cf-ray 8a1b2c3d4e5f-FRA)',
      'HTTP 524 A timeout occurred',
      'x-amz-cf-id: 3kd9 Generated by cloudfront (CloudFront) 502 Bad Gateway',
    ],
    not: ['GET /edge-cases 200'],
  },
};

for (const [source, { family, yes, not }] of Object.entries(FRESH)) {
  test(`${family}: recognised in ${source}`, () => {
    assert.deepEqual(
      yes.filter((line) => !classifyText(line).has(family)),
      [],
    );
    assert.deepEqual(
      not.filter((line) => classifyText(line).has(family)),
      [],
    );
  });
}
