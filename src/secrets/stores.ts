import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import type { TokenCredential } from '@azure/core-auth';
import type { SecretReference } from './references.js';

export interface SecretStoreOptions {
  aws?: {
    /**
     * Region for names that are not ARNs (`secrets.aws_region`, else the topology's AWS site: see
     * secretStoreOptions). Without it such a name is an error naming the fix; AWS_REGION is not read.
     */
    region?: string;
    /** Endpoint override; the SDK also reads AWS_ENDPOINT_URL_SECRETS_MANAGER. */
    endpoint?: string;
    /** Per-region endpoint overrides (VPC endpoints; local servers in tests); before `endpoint`. */
    endpoints?: Record<string, string>;
    /**
     * Regions holding replicas of the secrets (ReplicateSecretToRegions), read in turn when a secret's own
     * region does not answer: a restart during that region's outage still finds its secrets.
     */
    replicaRegions?: string[];
    credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  };
  azure?: {
    /** Default: DefaultAzureCredential (managed identity, workload identity, az login). */
    credential?: TokenCredential;
    /** Vault URL from its name (default https://VAULT.vault.azure.net); a local stand-in in tests. */
    vaultUrl?: (vault: string) => string;
    /** CA bundle for a vault URL with a private certificate. */
    caFile?: string;
  };
}

/** Reads one secret from its store through the vendor's SDK. Throws an Error naming the reference and the fix. */
export type SecretReader = (ref: SecretReference, signal: AbortSignal) => Promise<string>;

function why(error: unknown): string {
  const e = error as { name?: string; code?: string; statusCode?: number; message?: string };
  return `${e.name && e.name !== 'Error' ? `${e.name}: ` : e.code ? `${e.code}: ` : ''}${(e.message ?? String(error)).split('\n')[0]}`;
}

const ARN_REGION = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):/;

/** Replica regions learned from DescribeSecret (readiness) in this process, by secret id. */
const learnedReplicas = new Map<string, string[]>();

/**
 * Whether another region may answer where this one did not: no answer, a transport failure or a 5xx. A
 * missing secret, a refused identity or a bad request is the same in every region.
 */
function regionalFailure(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500;
  return !['ResourceNotFoundException', 'AccessDeniedException', 'CredentialsProviderError'].includes(
    e.name ?? '',
  );
}

/** Error codes and names that say which part failed: the name lookup, the connection, the identity, the secret. */
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
const AUTH_NAMES =
  /CredentialUnavailable|AuthenticationRequired|Authentication|AccessDenied|UnrecognizedClient|InvalidSignature|ExpiredToken|Forbidden|Unauthorized/i;
const NOT_FOUND_NAMES = /ResourceNotFound|SecretNotFound|NotFound/i;

/** One reason a store could not give a secret, said as what failed (DNS, network, auth, not found) and the fix. */
export function describeFailure(store: string, error: unknown): string {
  const e = error as {
    name?: string;
    code?: string;
    statusCode?: number;
    $metadata?: { httpStatusCode?: number };
  };
  const status = e.statusCode ?? e.$metadata?.httpStatusCode;
  const text = `${e.name ?? ''} ${e.code ?? ''} ${(error as Error)?.message ?? ''}`;
  const code = [...DNS_CODES, ...NETWORK_CODES].find((c) => e.code === c || text.includes(c));
  if (code && DNS_CODES.has(code))
    return `${store} could not be reached: DNS lookup of its address failed (${code}); check this host's resolver and network: ${why(error)}`;
  if (code)
    return `${store} could not be reached: the connection failed (${code}); check the network path to it: ${why(error)}`;
  // The read's deadline fired first (AbortSignal.timeout): the SDKs retry a refused or silent connection until
  // then, so the store never answered; it did not refuse.
  if (e.name === 'AbortError' || e.name === 'TimeoutError')
    return `${store} could not be reached: no answer before the read's deadline (timed out); check the network path to it and that it answers: ${why(error)}`;
  if (status === 401 || status === 403 || AUTH_NAMES.test(text))
    return `${store} refused this identity (authentication or permission): ${why(error)}; give it read access to the secret, or check its credentials`;
  if (status === 404 || NOT_FOUND_NAMES.test(text))
    return `${store} has no such secret (not found): ${why(error)}; check the name of the secret and its vault or region`;
  return `${store} refused: ${why(error)}; check the name and that this identity may read it`;
}

/**
 * The region a secret is read in: the ARN's, else the configured one. The SDK is always given it, so the
 * environment's AWS_REGION never decides where a secret is looked for.
 */
function homeRegion(secretId: string, configured: string | undefined, text: string): string {
  const region = ARN_REGION.exec(secretId)?.[1] ?? configured;
  if (!region)
    throw new Error(
      `${text}: no AWS region to read it in: write the secret's ARN (it names its region), or set secrets.aws_region`,
    );
  return region;
}

async function awsReader(options: SecretStoreOptions['aws'] = {}) {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const clients = new Map<string, InstanceType<typeof SecretsManagerClient>>();
  const clientFor = (region: string) => {
    let client = clients.get(region);
    if (!client) {
      client = new SecretsManagerClient({
        region,
        endpoint: options.endpoints?.[region] ?? options.endpoint,
        credentials: options.credentials,
        maxAttempts: 2,
      });
      clients.set(region, client);
    }
    return client;
  };
  const read = async (ref: Extract<SecretReference, { store: 'aws-sm' }>, signal: AbortSignal) => {
    // An ARN names its region: the secret is read where it lives, then from its replicas (a replica has the
    // same name, and the same ARN but for its region).
    const home = homeRegion(ref.secretId, options.region, ref.text);
    const replicas = [
      ...new Set([...(learnedReplicas.get(ref.secretId) ?? []), ...(options.replicaRegions ?? [])]),
    ];
    const failures: string[] = [];
    for (const region of [home, ...replicas.filter((r) => r !== home)]) {
      const secretId =
        region === home
          ? ref.secretId
          : ref.secretId.replace(ARN_REGION, (m, r: string) => m.replace(r, region));
      try {
        return await clientFor(region).send(new GetSecretValueCommand({ SecretId: secretId }), {
          abortSignal: signal,
        });
      } catch (error) {
        // With no replica to ask, the store's own error says best what failed (DNS, network, identity).
        if (signal.aborted || !regionalFailure(error) || replicas.length === 0) throw error;
        failures.push(describeFailure(`Secrets Manager in ${region}`, error));
      }
    }
    throw new Error(`${ref.text}: no region holding it answered: ${failures.join('; ')}`);
  };
  return async (ref: Extract<SecretReference, { store: 'aws-sm' }>, signal: AbortSignal): Promise<string> => {
    const out = await read(ref, signal);
    const text = out.SecretString;
    if (text === undefined) throw new Error(`${ref.text}: the secret holds binary data, not a SecretString`);
    if (!ref.key) return text;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(
        `${ref.text}: the SecretString is not JSON, so it has no key "${ref.key}"; drop #${ref.key}`,
      );
    }
    const value = (parsed as Record<string, unknown>)?.[ref.key];
    if (value === undefined || value === null)
      throw new Error(
        `${ref.text}: the secret has no key "${ref.key}"; keys: ${Object.keys(parsed as object).join(', ')}`,
      );
    return typeof value === 'string' ? value : JSON.stringify(value);
  };
}

async function azureReader(options: SecretStoreOptions['azure'] = {}) {
  const { SecretClient } = await import('@azure/keyvault-secrets');
  const credential = options.credential ?? new (await import('@azure/identity')).DefaultAzureCredential();
  const agent = options.caFile ? new Agent({ ca: readFileSync(options.caFile), keepAlive: true }) : undefined;
  const clients = new Map<string, InstanceType<typeof SecretClient>>();
  return async (
    ref: Extract<SecretReference, { store: 'azure-kv' }>,
    signal: AbortSignal,
  ): Promise<string> => {
    let client = clients.get(ref.vault);
    if (!client) {
      const url = options.vaultUrl?.(ref.vault) ?? `https://${ref.vault}.vault.azure.net`;
      // A stand-in on this host is not *.vault.azure.net and may speak plain HTTP; any other vault's
      // challenge is verified, over TLS.
      const local = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(url);
      client = new SecretClient(url, credential, {
        disableChallengeResourceVerification: local,
        allowInsecureConnection: local,
        ...(agent
          ? {
              additionalPolicies: [
                {
                  position: 'perCall' as const,
                  policy: { name: 'phoenix-ca', sendRequest: (r, next) => next(Object.assign(r, { agent })) },
                },
              ],
            }
          : {}),
      });
      clients.set(ref.vault, client);
    }
    const secret = await client.getSecret(ref.name, { abortSignal: signal });
    if (secret.value === undefined) throw new Error(`${ref.text}: the secret has no value`);
    return secret.value;
  };
}

/** One reader for both stores; each SDK is loaded only when a reference to its store appears. */
export function secretReader(options: SecretStoreOptions = {}): SecretReader {
  let aws: ReturnType<typeof awsReader> | undefined;
  let azure: ReturnType<typeof azureReader> | undefined;
  return async (ref, signal) => {
    try {
      if (ref.store === 'aws-sm') return await (await (aws ??= awsReader(options.aws)))(ref, signal);
      return await (
        await (azure ??= azureReader(options.azure))
      )(ref, signal);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith(ref.text)) throw error;
      const store = ref.store === 'aws-sm' ? 'Secrets Manager' : 'Key Vault';
      throw new Error(`${ref.text}: ${describeFailure(store, error)}`);
    }
  };
}

/** Where a Secrets Manager secret is held: its primary region and its replicas (DescribeSecret). */
export function secretRegions(options: SecretStoreOptions['aws'] = {}, timeoutMs = 5000) {
  return async (ref: SecretReference): Promise<string[]> => {
    if (ref.store !== 'aws-sm') return [];
    const { SecretsManagerClient, DescribeSecretCommand } = await import('@aws-sdk/client-secrets-manager');
    const region = homeRegion(ref.secretId, options.region, ref.text);
    const client = new SecretsManagerClient({
      region,
      endpoint: options.endpoints?.[region] ?? options.endpoint,
      credentials: options.credentials,
      maxAttempts: 2,
    });
    try {
      // A readiness pass must not hang on a region that does not answer.
      const out = await client.send(new DescribeSecretCommand({ SecretId: ref.secretId }), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
      const home = out.PrimaryRegion ?? region;
      const replicas = (out.ReplicationStatus ?? []).map((r) => r.Region ?? '').filter(Boolean);
      // The reader tries these when the home region stops answering.
      learnedReplicas.set(ref.secretId, replicas);
      return [home, ...replicas].filter(Boolean);
    } finally {
      client.destroy();
    }
  };
}
