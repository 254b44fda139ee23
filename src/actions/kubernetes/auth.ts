import { basename } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { KubeConfig, User } from '@kubernetes/client-node';

type AwsCredentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/**
 * An EKS bearer token made in-process, as the aws-iam-authenticator scheme
 * defines it: a presigned STS GetCallerIdentity URL, signed with the
 * `x-k8s-aws-id: <cluster>` header, valid 60 s for the presign (the token is
 * accepted for 15 minutes), base64url without padding behind `k8s-aws-v1.`.
 * The container needs no `aws` binary for it.
 */
export async function eksToken(options: {
  cluster: string;
  region: string;
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
  now?: Date;
}): Promise<string> {
  const credentials =
    options.credentials ?? (await import('@aws-sdk/credential-providers')).fromNodeProviderChain();
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
    const exec = user.exec as { command?: string; args?: string[] } | undefined;
    const command = basename(exec?.command ?? '');
    const args = exec?.args ?? [];
    if (command === 'aws' && args.includes('get-token')) {
      const cluster = flag(args, '--cluster-name') ?? flag(args, '--cluster-id');
      const region = flag(args, '--region') ?? process.env.AWS_REGION;
      if (!cluster || !region)
        throw new Error(
          `kubeconfig user ${user.name}: aws eks get-token without --cluster-name and --region`,
        );
      users.push({ name: user.name, token: await (makers.eks ?? eksToken)({ cluster, region }) });
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
