import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parseConfig } from '../../config/index.js';
import type { Signal } from '../../core/index.js';
import { eksTokenCheck, FakeKubernetes } from '../../stand-ins/kubernetes/eks-nodes.js';
import { FakeSts } from '../../stand-ins/aws/sts.js';
import { createSignalSource } from '../../signals/index.js';
import { eksToken, withInProcessTokens } from './auth.js';
import type { ClusterParams } from './config.js';
import { kubeConfig } from './kubernetes.js';

const CREDS = { accessKeyId: 'AKIDEKS', secretAccessKey: 'eks-secret' };
const NOW = new Date('2026-12-01T12:00:00Z');

test('an EKS token is a presigned STS GetCallerIdentity URL bound to the cluster, base64url behind k8s-aws-v1.', async () => {
  const token = await eksToken({ cluster: 'shop-prod', region: 'us-east-1', credentials: CREDS, now: NOW });
  assert.match(token, /^k8s-aws-v1\.[A-Za-z0-9_-]+$/, 'base64url without padding');
  const url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString());
  assert.equal(url.host, 'sts.us-east-1.amazonaws.com');
  const q = url.searchParams;
  assert.equal(q.get('Action'), 'GetCallerIdentity');
  assert.equal(q.get('Version'), '2011-06-15');
  assert.equal(q.get('X-Amz-Expires'), '60');
  assert.equal(q.get('X-Amz-Credential'), 'AKIDEKS/20261201/us-east-1/sts/aws4_request');
  assert.equal(q.get('X-Amz-SignedHeaders'), 'host;x-k8s-aws-id');
  // What STS does with the URL: sign the same request itself and compare; another cluster name does not match.
  const fresh = await eksToken({ cluster: 'shop-prod', region: 'us-east-1', credentials: CREDS });
  assert.equal(await eksTokenCheck('shop-prod', 'us-east-1', CREDS)(fresh), true);
  assert.equal(await eksTokenCheck('other-cluster', 'us-east-1', CREDS)(fresh), false);
  assert.equal(
    await eksTokenCheck('shop-prod', 'us-east-1', { ...CREDS, secretAccessKey: 'x' })(fresh),
    false,
  );
  assert.equal(await eksTokenCheck('shop-prod', 'us-east-1', CREDS)(token), false, 'past its presign window');
});

test('an EKS token honours the kubeconfig exec’s --role-arn and AWS_PROFILE: signed as the assumed role, not the base identity', async () => {
  const ROLE = 'arn:aws:iam::111122223333:role/phoenix-eks-admin';
  const ROLE_CREDS = {
    accessKeyId: 'ASIAROLE',
    secretAccessKey: 'role-secret',
    sessionToken: 'role-session',
  };
  const sts = await new FakeSts(
    new Map([[ROLE, { trusts: [CREDS.accessKeyId], issues: ROLE_CREDS }]]),
  ).start();
  try {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'eks', server: 'https://eks.example' }],
      users: [
        {
          name: 'eks-admin',
          exec: {
            command: 'aws',
            args: [
              '--region',
              'us-east-1',
              'eks',
              'get-token',
              '--cluster-name',
              'shop-prod',
              '--role-arn',
              ROLE,
            ],
            env: [{ name: 'AWS_PROFILE', value: 'prod-admin' }],
          },
        },
      ],
      contexts: [{ name: 'eks', cluster: 'eks', user: 'eks-admin' }],
      currentContext: 'eks',
    });
    const seen: unknown[] = [];
    await withInProcessTokens(kc, {
      eks: (o) => {
        seen.push({ profile: o.profile, roleArn: o.roleArn });
        return eksToken({ ...o, credentials: CREDS, stsEndpoint: sts.url });
      },
    });
    assert.deepEqual(seen, [{ profile: 'prod-admin', roleArn: ROLE }]);
    const token = kc.users[0]!.token!;
    assert.equal(
      await eksTokenCheck('shop-prod', 'us-east-1', ROLE_CREDS)(token),
      true,
      'signed as the role',
    );
    assert.equal(
      await eksTokenCheck('shop-prod', 'us-east-1', CREDS)(token),
      false,
      'not as the base identity',
    );
    assert.deepEqual(
      sts.assumed.map((a) => [a.roleArn, a.caller]),
      [[ROLE, CREDS.accessKeyId]],
    );
    await assert.rejects(
      eksToken({
        cluster: 'shop-prod',
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIAOTHER', secretAccessKey: 'x' },
        roleArn: ROLE,
        stsEndpoint: sts.url,
      }),
      /not authorized to perform: sts:AssumeRole/,
    );
  } finally {
    await sts.close();
  }
});

test('kubeconfig users running aws eks get-token or kubelogin get in-process tokens; others stay', async () => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: 'eks', server: 'https://eks.example' },
      { name: 'aks', server: 'https://aks.example' },
    ],
    users: [
      {
        name: 'eks-user',
        exec: {
          command: '/usr/local/bin/aws',
          args: ['eks', 'get-token', '--cluster-name', 'shop-prod', '--region', 'us-east-1'],
        },
      },
      { name: 'aks-user', exec: { command: 'kubelogin', args: ['get-token', '--login', 'msi'] } },
      { name: 'plain', token: 'static' },
    ],
    contexts: [{ name: 'eks', cluster: 'eks', user: 'eks-user' }],
    currentContext: 'eks',
  });
  const asked: string[] = [];
  await withInProcessTokens(kc, {
    eks: async (o) => (asked.push(`${o.cluster}@${o.region}`), 'k8s-aws-v1.eks'),
    aks: async () => 'aad-token',
  });
  assert.deepEqual(asked, ['shop-prod@us-east-1']);
  assert.deepEqual(
    kc.users.map((u) => [u.name, u.token, Boolean(u.exec)]),
    [
      ['eks-user', 'k8s-aws-v1.eks', false],
      ['aks-user', 'aad-token', false],
      ['plain', 'static', false],
    ],
  );
  assert.equal(kc.getCurrentContext(), 'eks');
});

describe('no aws binary: actions and the node probe reach an EKS API server with in-process tokens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-eks-'));
  let kube: FakeKubernetes;
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  const kubeconfig = (cluster: string): string => {
    const file = join(dir, `${cluster}.yaml`);
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{ name: eks, cluster: { server: "${kube.url}", insecure-skip-tls-verify: true } }]`,
        'users:',
        '- name: eks',
        '  user:',
        '    exec:',
        '      apiVersion: client.authentication.k8s.io/v1beta1',
        '      command: aws',
        `      args: [eks, get-token, --cluster-name, ${cluster}, --region, us-east-1]`,
        'contexts: [{ name: eks, context: { cluster: eks, user: eks } }]',
        'current-context: eks',
        '',
      ].join('\n'),
    );
    return file;
  };
  before(async () => {
    // The SDK's default credential chain reads these, as it reads a pod's IRSA or instance role.
    process.env.AWS_ACCESS_KEY_ID = CREDS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = CREDS.secretAccessKey;
    kube = await FakeKubernetes.start('static-token-not-used', {
      nodes: [{ name: 'ip-10-0-1-1', ready: true, zone: 'us-east-1a' }],
    });
    kube.accepts = eksTokenCheck('shop-prod', 'us-east-1', CREDS);
  });
  after(async () => {
    await kube.close();
    rmSync(dir, { recursive: true, force: true });
    for (const [key, value] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const)
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
  });

  const nodes = async (file: string): Promise<Signal> => {
    const source = createSignalSource(
      parseConfig({
        probes: { timeout: '3s', signals: { eks_nodes: { type: 'kubernetes_nodes', kubeconfig: file } } },
        decision: { analyzer: 'threshold' },
      }),
    );
    try {
      return (await source.collect(Date.now() / 1000)).eks_nodes!;
    } finally {
      await source.close();
    }
  };

  test('the kubernetes_nodes probe: the API server accepts the token for its cluster, refuses another', async () => {
    const ok = await nodes(kubeconfig('shop-prod'));
    assert.equal(ok.status, 'ok', String(ok.detail));
    assert.equal(ok.ready, 1);
    const other = await nodes(kubeconfig('other-cluster'));
    assert.equal(other.status, 'error');
    assert.match(String(other.detail), /401/);
  });

  test('the kubernetes actions: the same kubeconfig gives a client the API server accepts', async () => {
    const kc = await kubeConfig({ kubeconfig: kubeconfig('shop-prod') } as ClusterParams);
    const list = await kc.makeApiClient(CoreV1Api).listNode({});
    assert.deepEqual(
      list.items.map((n) => n.metadata?.name),
      ['ip-10-0-1-1'],
    );
    assert.equal(kc.getCurrentUser()?.exec, undefined, 'no exec plugin left to run');
  });
});
