import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sha256 } from '@aws-crypto/sha256-js';
import { KubeConfig } from '@kubernetes/client-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { eksToken, withInProcessTokens } from './auth.js';

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
  const verify = async (cluster: string): Promise<string> => {
    const signer = new SignatureV4({
      service: 'sts',
      region: 'us-east-1',
      credentials: CREDS,
      sha256: Sha256,
    });
    const again = await signer.presign(
      {
        method: 'GET',
        protocol: 'https:',
        hostname: url.host,
        path: '/',
        headers: { host: url.host, 'x-k8s-aws-id': cluster },
        query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      },
      { expiresIn: 60, signingDate: NOW },
    );
    return String(again.query?.['X-Amz-Signature']);
  };
  assert.equal(q.get('X-Amz-Signature'), await verify('shop-prod'));
  assert.notEqual(q.get('X-Amz-Signature'), await verify('other-cluster'));
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
