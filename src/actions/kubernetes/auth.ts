import { basename } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { KubeConfig, User } from '@kubernetes/client-node';

type AwsCredentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

export interface EksTokenOptions {
  cluster: string;
  region: string;
  /** Base credentials; default the SDK's chain (with `profile`, that profile). */
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
  /** The kubeconfig exec's `--profile` or `env: AWS_PROFILE`. */
  profile?: string;
  /** The kubeconfig exec's `--role-arn`: the token is signed as that role (STS AssumeRole first). */
  roleArn?: string;
  /** STS endpoint for AssumeRole (a VPC endpoint; a local server in tests). */
  stsEndpoint?: string;
  now?: Date;
}

/**
 * The identity that signs the token, as `aws eks get-token` would have it: the profile the kubeconfig's exec
 * names (flag or env), then the role it names, assumed from there. Signed as another identity, the API
 * server answers 401 or maps the caller to another user.
 */
async function eksCredentials(o: EksTokenOptions): Promise<AwsCredentials | (() => Promise<AwsCredentials>)> {
  const providers = await import('@aws-sdk/credential-providers');
  const base = o.credentials ?? providers.fromNodeProviderChain(o.profile ? { profile: o.profile } : {});
  if (!o.roleArn) return base;
  return providers.fromTemporaryCredentials({
    masterCredentials: base,
    params: { RoleArn: o.roleArn, RoleSessionName: 'cloudphoenix' },
    clientConfig: { region: o.region, ...(o.stsEndpoint ? { endpoint: o.stsEndpoint } : {}) },
  });
}

/**
 * An EKS bearer token made in-process, as the aws-iam-authenticator scheme
 * defines it: a presigned STS GetCallerIdentity URL, signed with the
 * `x-k8s-aws-id: <cluster>` header, valid 60 s for the presign (the token is
 * accepted for 15 minutes), base64url without padding behind `k8s-aws-v1.`.
 * The container needs no `aws` binary for it.
 */
export async function eksToken(options: EksTokenOptions): Promise<string> {
  const credentials = await eksCredentials(options);
  const signer = new SignatureV4({ service: 'sts', region: options.region, credentials, sha256: Sha256 });
  const host = `sts.${options.region}.amazonaws.com`;
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname: host,
      path: '/',
      headers: { host, 'x-k8s-aws-id': options.cluster },
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    },
    { expiresIn: 60, signingDate: options.now },
  );
  const query = new URLSearchParams(signed.query as Record<string, string>).toString();
  const url = `https://${host}/?${query}`;
  return `k8s-aws-v1.${Buffer.from(url).toString('base64url')}`;
}

/** The AKS Microsoft Entra server application; its `.default` scope gets a token the API server accepts. */
export const AKS_SCOPE = '6dae42f8-4368-4678-94ff-3960e28e3630/.default';

/** An AKS bearer token from @azure/identity (managed identity, workload identity...), instead of kubelogin. */
export async function aksToken(): Promise<string> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  const token = await new DefaultAzureCredential().getToken(AKS_SCOPE);
  if (!token)
    throw new Error('no Microsoft Entra token for AKS; give the controller a managed or workload identity');
  return token.token;
}

/** `--name value` from an exec plugin's arguments. */
function flag(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

/**
 * Replaces kubeconfig users that run `aws eks get-token` or `kubelogin` with
 * tokens made in-process, so the controller's image needs neither binary.
 */
export async function withInProcessTokens(
  kc: KubeConfig,
  makers: { eks?: typeof eksToken; aks?: typeof aksToken } = {},
): Promise<KubeConfig> {
  const users: User[] = [];
  let changed = false;
  for (const user of kc.users) {
    const exec = user.exec as
      { command?: string; args?: string[]; env?: Array<{ name: string; value: string }> | null } | undefined;
    const command = basename(exec?.command ?? '');
    const args = exec?.args ?? [];
    if (command === 'aws' && args.includes('get-token')) {
      const env = Object.fromEntries((exec?.env ?? []).map((e) => [e.name, e.value]));
      const cluster = flag(args, '--cluster-name') ?? flag(args, '--cluster-id');
      const region = flag(args, '--region') ?? env.AWS_REGION ?? process.env.AWS_REGION;
      if (!cluster || !region)
        throw new Error(
          `kubeconfig user ${user.name}: aws eks get-token without --cluster-name and --region`,
        );
      const profile = flag(args, '--profile') ?? env.AWS_PROFILE;
      const roleArn = flag(args, '--role-arn');
      users.push({
        name: user.name,
        token: await (makers.eks ?? eksToken)({ cluster, region, profile, roleArn }),
      });
      changed = true;
    } else if (command === 'kubelogin') {
      users.push({ name: user.name, token: await (makers.aks ?? aksToken)() });
      changed = true;
    } else users.push(user);
  }
  if (!changed) return kc;
  kc.loadFromOptions({
    clusters: kc.clusters,
    users,
    contexts: kc.contexts,
    currentContext: kc.getCurrentContext(),
  });
  return kc;
}

/** Inside a pod: the service account's token and CA, as the actions already use. */
export function inCluster(): boolean {
  return Boolean(process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT);
}

/**
 * A cluster's client configuration without external binaries: a kubeconfig
 * file (or, without one, $KUBECONFIG / ~/.kube/config, else the pod's own
 * service account), with `aws eks get-token` and `kubelogin` users given
 * tokens made in-process. EKS tokens last 15 minutes: build it again before.
 */
export async function loadKubeConfig(source: { kubeconfig?: string; context?: string }): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    if (source.kubeconfig) kc.loadFromFile(source.kubeconfig);
    else if (inCluster()) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (error) {
    throw new Error(
      `cannot read the kubeconfig ${source.kubeconfig ?? '(default)'}: ${(error as Error).message}; check the path`,
    );
  }
  if (source.context) {
    if (!kc.getContexts().some((c) => c.name === source.context))
      throw new Error(`kube context ${source.context} is not in the kubeconfig; check the context name`);
    kc.setCurrentContext(source.context);
  }
  return withInProcessTokens(kc);
}

/** How long a configuration with in-process tokens is used before it is built again (EKS tokens last 15 min). */
export const KUBE_TOKEN_REUSE_MS = 10 * 60_000;
