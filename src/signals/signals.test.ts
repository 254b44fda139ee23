import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../config/index.js';
import { createSignalSource, startAgentServer } from './index.js';
import { FakeKubernetes } from '../stand-ins/kubernetes/eks-nodes.js';
import { closedPort, dnsServer, httpServer, tcpServer } from '../../test/helpers/servers.js';

type Closer = () => Promise<void>;
const closers: Closer[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

/** Builds the probes from a YAML-shaped probes section (validated like a config file) and runs them once. */
async function collect(signals: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const config = parseConfig({
    probes: { timeout: '2s', ...extra, signals },
    decision: { analyzer: 'threshold' },
  });
  const source = createSignalSource(config);
  try {
    return await source.collect(Date.now() / 1000);
  } finally {
    await source.close();
  }
}

let app: Awaited<ReturnType<typeof httpServer>>;
/** By URL: called when the server sees a request to /hang?... end without an answer (the client let go). */
const hangClosed = new Map<string, () => void>();
before(async () => {
  app = await httpServer((req, res) => {
    if (req.url === '/healthz') return void res.end('{"status":"ok"}');
    if (req.url === '/down') {
      res.statusCode = 503;
      return void res.end('unavailable');
    }
    if (req.url === '/slow') return void setTimeout(() => res.end('ok'), 300);
    // Never answers.
    if (req.url?.startsWith('/hang')) return void res.on('close', () => hangClosed.get(req.url!)?.());
    if (req.url === '/wrong-body') return void res.end('<html>maintenance</html>');
    res.statusCode = 404;
    res.end();
  });
  closers.push(app.close);
});

test('http_checks counts healthy services and names the failing ones with the reason', async () => {
  const snapshot = await collect({
    internal_services: {
      type: 'http_checks',
      targets: [
        { name: 'api', url: `${app.url}/healthz`, body_match: '"status":"ok"' },
        { name: 'orders', url: `${app.url}/healthz` },
        { name: 'payments', url: `${app.url}/down` },
        { name: 'search', url: `${app.url}/wrong-body`, body_match: 'ok' },
      ],
      degraded_share: 0,
      error_share: 0.75,
    },
  });
  const s = snapshot.internal_services;
  assert.equal(s.status, 'degraded');
  assert.equal(s.healthy, 2);
  assert.equal(s.total, 4);
  assert.deepEqual(s.failing, [
    { name: 'payments', reason: 'HTTP 503' },
    { name: 'search', reason: 'unexpected body' },
  ]);
  assert.match(String(s.detail), /payments \(status 503, expected 200-399\)/);
  assert.match(String(s.detail), /search \(body does not match/);
});

test('http_checks is error when the failing share reaches error_share; a slow service counts as failing', async () => {
  const snapshot = await collect({
    internal_services: {
      type: 'http_checks',
      targets: [
        { name: 'a', url: `${app.url}/down` },
        { name: 'b', url: `${app.url}/slow`, max_latency: 0.05 },
        { name: 'c', url: `${app.url}/healthz` },
      ],
      error_share: 0.5,
    },
  });
  assert.equal(snapshot.internal_services.status, 'error');
  assert.equal(snapshot.internal_services.healthy, 1);
  assert.match(String(snapshot.internal_services.detail), /b \(slow: \d+(\.\d)? ms > 50 ms\)/);
});

test('a target that never answers fails after target_timeout; the probe still reports in time', async () => {
  const snapshot = await collect({
    dr_site: {
      type: 'http_checks',
      timeout: '3s',
      target_timeout: 0.3,
      targets: [
        { name: 'frozen', url: `${app.url}/hang` },
        { name: 'fine', url: `${app.url}/healthz` },
      ],
    },
  });
  assert.equal(snapshot.dr_site.status, 'error');
  assert.match(String(snapshot.dr_site.detail), /frozen \(no answer within 300 ms\)/);
});

test('a probe slower than its timeout is unknown at its own deadline, and its request is abandoned', async () => {
  const abandoned = new Promise<void>((resolve) => hangClosed.set('/hang?deadline', resolve));
  const snapshot = await collect({
    hanging: { type: 'http', url: `${app.url}/hang?deadline`, timeout: 0.4 },
    fine: { type: 'http', url: `${app.url}/healthz` },
  });
  // Its own 0.4 s deadline answered, not the 2 s default: the cycle did not wait for it.
  assert.deepEqual(snapshot.hanging, { status: 'unknown', detail: 'probe timed out after 0.4s' });
  assert.equal(snapshot.fine.status, 'ok');
  // The server sees the hung request's connection dropped: the probe let go of it.
  await abandoned;
});

test('http_checks names each failing service with a short reason: HTTP status, timeout, connection refused', async () => {
  const refused = await closedPort();
  const s = (
    await collect({
      internal_services: {
        type: 'http_checks',
        target_timeout: 0.3,
        targets: [
          { name: 'basket', url: `${app.url}/hang` },
          { name: 'loyalty', url: `${app.url}/down` },
          { name: 'ledger', url: `http://127.0.0.1:${refused}/` },
          { name: 'catalog', url: `${app.url}/healthz` },
        ],
      },
    })
  ).internal_services;
  assert.equal(s.status, 'error');
  assert.equal(s.healthy, 1);
  assert.deepEqual(s.failing, [
    { name: 'basket', reason: 'timeout' },
    { name: 'loyalty', reason: 'HTTP 503' },
    { name: 'ledger', reason: 'connection refused' },
  ]);
  // The detail stays for people, with the addresses and expectations.
  assert.match(String(s.detail), new RegExp(`ledger \\(connection refused by 127\\.0\\.0\\.1:${refused}\\)`));
});

test('an http probe against a server answering garbage, or refusing, is error with a clear detail', async () => {
  const garbage = await tcpServer('garbage that is not HTTP\r\n\r\n');
  closers.push(garbage.close);
  const refused = await closedPort();
  const snapshot = await collect({
    garbage: { type: 'http', url: `http://127.0.0.1:${garbage.port}/` },
    refused: { type: 'http', url: `http://127.0.0.1:${refused}/` },
  });
  assert.equal(snapshot.garbage.status, 'error');
  assert.match(String(snapshot.garbage.detail), /answer is not valid HTTP/);
  assert.equal(snapshot.refused.status, 'error');
  assert.match(
    String(snapshot.refused.detail),
    new RegExp(`connection refused by 127\\.0\\.0\\.1:${refused}`),
  );
});

test('tcp: an open port is ok, a closed one is error', async () => {
  const open = await tcpServer();
  closers.push(open.close);
  const closed = await closedPort();
  const snapshot = await collect({
    db_port: { type: 'tcp', host: '127.0.0.1', port: open.port },
    gone: { type: 'tcp', host: '127.0.0.1', port: closed },
  });
  assert.equal(snapshot.db_port.status, 'ok');
  assert.equal(typeof snapshot.db_port.latency_ms, 'number');
  assert.equal(snapshot.gone.status, 'error');
  assert.match(String(snapshot.gone.detail), /connection refused/);
});

test('dns: the answer must contain the expected values; NXDOMAIN and garbage are errors', async () => {
  const dns = await dnsServer({ 'app.example.test': ['192.0.2.10', '192.0.2.11'] });
  closers.push(dns.close);
  const garbage = await dnsServer({}, { garbage: true });
  closers.push(garbage.close);
  const snapshot = await collect({
    dns_ok: { type: 'dns', name: 'app.example.test', server: dns.server, expect: ['192.0.2.10'] },
    dns_moved: { type: 'dns', name: 'app.example.test', server: dns.server, expect: ['198.51.100.7'] },
    dns_missing: { type: 'dns', name: 'nope.example.test', server: dns.server },
    dns_garbage: { type: 'dns', name: 'app.example.test', server: garbage.server, timeout: '1s' },
  });
  assert.equal(snapshot.dns_ok.status, 'ok');
  assert.deepEqual(snapshot.dns_ok.answers, ['192.0.2.10', '192.0.2.11']);
  assert.equal(snapshot.dns_moved.status, 'error');
  assert.match(String(snapshot.dns_moved.detail), /expected 198\.51\.100\.7/);
  assert.equal(snapshot.dns_missing.status, 'error');
  assert.match(String(snapshot.dns_missing.detail), /NXDOMAIN/);
  assert.notEqual(snapshot.dns_garbage.status, 'ok');
});

test('tls: days until the certificate expires set the status', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '5',
      '-subj',
      '/CN=localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const server = createHttpsServer(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    (_req, res) => res.end('ok'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const port = (server.address() as AddressInfo).port;
  const snapshot = await collect({
    cert_default: { type: 'tls', host: '127.0.0.1', port },
    cert_strict: { type: 'tls', host: '127.0.0.1', port, degraded_days: 30, error_days: 10 },
    https_insecure: { type: 'http', url: `https://127.0.0.1:${port}/`, insecure: true },
    https_verified: { type: 'http', url: `https://127.0.0.1:${port}/` },
  });
  assert.equal(snapshot.cert_default.status, 'degraded');
  assert.ok(Number(snapshot.cert_default.days_left) > 4 && Number(snapshot.cert_default.days_left) <= 5);
  assert.equal(snapshot.cert_default.authorized, false);
  assert.equal(snapshot.cert_strict.status, 'error');
  assert.equal(snapshot.https_insecure.status, 'ok');
  assert.equal(snapshot.https_verified.status, 'error');
  assert.match(String(snapshot.https_verified.detail), /self-signed/);
});

test('external_uptime: down only when the quorum of vantage points agree', async () => {
  let publicUp = true;
  const site = await httpServer((_req, res) => {
    res.statusCode = publicUp ? 200 : 502;
    res.end(publicUp ? 'ok' : 'bad gateway');
  });
  closers.push(site.close);
  // Two remote agents check the same public endpoint, as agents in other networks would.
  const agentConfig = parseConfig({
    probes: { signals: { public_endpoint: { type: 'http', url: site.url } } },
  });
  const agents: Array<{ name: string; url: string; token: string; signal: string }> = [];
  for (const name of ['eu', 'ap']) {
    const source = createSignalSource(agentConfig);
    const agent = await startAgentServer({ name, source, token: `secret-${name}` });
    closers.push(async () => {
      await agent.close();
      await source.close();
    });
    agents.push({ name, url: agent.url, token: `secret-${name}`, signal: 'public_endpoint' });
  }
  const unreachable = await closedPort();
  const uptime = (local: boolean, list = agents) => ({
    external_uptime: { type: 'external_uptime', url: site.url, local, agents: list, quorum: 2 },
  });

  let s = (await collect(uptime(true))).external_uptime;
  assert.equal(s.status, 'ok');
  assert.equal(s.up, 3);
  assert.equal(s.total, 3);
  assert.deepEqual(s.vantages, [
    { name: 'eu', up: true },
    { name: 'ap', up: true },
    { name: 'local', up: true },
  ]);

  publicUp = false;
  s = (await collect(uptime(true))).external_uptime;
  assert.equal(s.status, 'error');
  assert.equal(s.down, 3);
  // Each vantage point's own result, with what it saw.
  assert.deepEqual(
    (s.vantages as Array<{ name: string; up: boolean; detail?: string }>).map((v) => [v.name, v.up]),
    [
      ['eu', false],
      ['ap', false],
      ['local', false],
    ],
  );
  for (const v of s.vantages as Array<{ detail?: string }>) assert.match(String(v.detail), /502/);

  // Only this process sees the outage (its own network); the agents do not: not an outage.
  publicUp = true;
  const brokenLocal = {
    type: 'external_uptime',
    url: `http://127.0.0.1:${unreachable}/`,
    local: true,
    agents: [],
    quorum: 2,
  };
  s = (await collect({ external_uptime: { ...brokenLocal, agents } })).external_uptime;
  // The local vantage checks a URL nobody serves; agents check their own configured endpoint.
  assert.equal(s.status, 'degraded');
  assert.equal(s.down, 1);
  assert.equal(s.up, 2);

  // A wrong token and an unreachable agent are unknown vantage points, not down ones.
  const bad = [
    { ...agents[0], token: 'wrong' },
    { name: 'gone', url: `http://127.0.0.1:${unreachable}`, token: 'x', signal: 'public_endpoint' },
  ];
  s = (await collect(uptime(false, bad))).external_uptime;
  assert.equal(s.status, 'unknown');
  // Vantage points that could not tell are no fact about the endpoint.
  assert.deepEqual(s.vantages, []);
  assert.match(String(s.detail), /eu: agent refused the token \(401\)/);
  assert.match(String(s.detail), /gone: agent unreachable: connection refused/);
});

test('an agent answering garbage is an unknown vantage point with the reason', async () => {
  const garbage = await httpServer((_req, res) => res.end('<<<not json>>>'));
  closers.push(garbage.close);
  const s = (
    await collect({
      external_uptime: {
        type: 'external_uptime',
        url: `${app.url}/healthz`,
        agents: [{ name: 'weird', url: garbage.url, token: 't' }],
      },
    })
  ).external_uptime;
  assert.equal(s.status, 'ok');
  assert.equal(s.up, 1);
  assert.match(String(s.detail), /weird: agent answered something that is not JSON/);
});

test('kubernetes_nodes reads Ready nodes and CrashLoopBackOff pods through @kubernetes/client-node', async () => {
  const kube = await FakeKubernetes.start('k8s-token', {
    nodes: [
      { name: 'ip-10-0-1-1', ready: true },
      { name: 'ip-10-0-1-2', ready: true },
      { name: 'ip-10-0-1-3', ready: false },
      { name: 'ip-10-0-1-4', ready: true },
    ],
    pods: [
      { namespace: 'shop', name: 'checkout-7d9f', waiting: 'CrashLoopBackOff' },
      { namespace: 'shop', name: 'cart-5c2a' },
    ],
  });
  closers.push(() => kube.close());
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-kube-'));
  writeFileSync(join(dir, 'kubeconfig'), kube.kubeconfig());

  let s = (
    await collect({
      eks_nodes: { type: 'kubernetes_nodes', kubeconfig: join(dir, 'kubeconfig'), crashloop: true },
    })
  ).eks_nodes;
  assert.equal(s.status, 'degraded');
  assert.equal(s.ready, 3);
  assert.equal(s.total, 4);
  assert.deepEqual(s.not_ready, ['ip-10-0-1-3']);
  assert.equal(s.crashloop_pods, 1);
  assert.deepEqual(s.crashloop, ['shop/checkout-7d9f']);

  kube.setNodes([
    { name: 'a', ready: false },
    { name: 'b', ready: false },
    { name: 'c', ready: true },
  ]);
  s = (
    await collect({
      eks_nodes: { type: 'kubernetes_nodes', cluster: { server: kube.url, token: 'k8s-token' } },
    })
  ).eks_nodes;
  assert.equal(s.status, 'error');
  assert.equal(s.ready, 1);

  s = (
    await collect({ eks_nodes: { type: 'kubernetes_nodes', cluster: { server: kube.url, token: 'wrong' } } })
  ).eks_nodes;
  assert.equal(s.status, 'error');
  assert.match(String(s.detail), /401.*check the token/);

  kube.setMode('garbage');
  s = (
    await collect({
      eks_nodes: { type: 'kubernetes_nodes', cluster: { server: kube.url, token: 'k8s-token' } },
    })
  ).eks_nodes;
  assert.equal(s.status, 'error');
  assert.match(String(s.detail), /listing nodes: /);

  kube.setMode('hang');
  s = (
    await collect({
      eks_nodes: {
        type: 'kubernetes_nodes',
        timeout: 0.5,
        cluster: { server: kube.url, token: 'k8s-token' },
      },
    })
  ).eks_nodes;
  assert.deepEqual(s, { status: 'unknown', detail: 'probe timed out after 0.5s' });
});

test('kubernetes_nodes counts Ready nodes per zone, by zone ID when every node has one, else by zone name', async () => {
  const kube = await FakeKubernetes.start('k8s-token', {
    nodes: [
      { name: 'n1', ready: false, zone: 'us-east-1a', zoneId: 'use1-az4' },
      { name: 'n2', ready: false, zone: 'us-east-1a', zoneId: 'use1-az4' },
      { name: 'n3', ready: true, zone: 'us-east-1b', zoneId: 'use1-az6' },
      { name: 'n4', ready: true, zone: 'us-east-1b', zoneId: 'use1-az6' },
      { name: 'n5', ready: true, zone: 'us-east-1c', zoneId: 'use1-az1' },
      { name: 'n6', ready: true, zone: 'us-east-1c', zoneId: 'use1-az1' },
    ],
    pods: [
      // On a Ready node: our code. On a lost node, or not scheduled: nothing new.
      { namespace: 'shop', name: 'checkout-1', waiting: 'CrashLoopBackOff', node: 'n3' },
      { namespace: 'shop', name: 'checkout-2', waiting: 'CrashLoopBackOff', node: 'n5' },
      { namespace: 'shop', name: 'checkout-3', waiting: 'CrashLoopBackOff', node: 'n1' },
      { namespace: 'shop', name: 'cart-1', node: 'n4' },
    ],
  });
  closers.push(() => kube.close());
  const probe = {
    eks_nodes: {
      type: 'kubernetes_nodes',
      cluster: { server: kube.url, token: 'k8s-token' },
      crashloop: true,
      error_share: 0.5,
    },
  };
  let s = (await collect(probe)).eks_nodes;
  assert.equal(s.status, 'degraded');
  assert.deepEqual(s.zones, {
    'use1-az4': { ready: 0, total: 2 },
    'use1-az6': { ready: 2, total: 2 },
    'use1-az1': { ready: 2, total: 2 },
  });
  assert.equal(s.crashlooping, 2);
  assert.equal(s.crashloop_pods, 3);
  assert.match(String(s.detail), /2\/6 nodes not Ready: n1, n2/);

  // One node without a zone ID: the map falls back to zone names rather than mixing both schemes.
  kube.setNodes([
    { name: 'a', ready: true, zone: 'eu-west-1a', zoneId: 'euw1-az3' },
    { name: 'b', ready: false, zone: 'eu-west-1b' },
    { name: 'c', ready: true, zone: 'eu-west-1b', zoneId: 'euw1-az1' },
    { name: 'd', ready: true },
  ]);
  kube.setPods([]);
  s = (await collect(probe)).eks_nodes;
  assert.deepEqual(s.zones, {
    'eu-west-1a': { ready: 1, total: 1 },
    'eu-west-1b': { ready: 1, total: 2 },
  });
  assert.equal(s.crashlooping, 0);

  // Nodes with no zone label at all: no zones fact rather than an invented one.
  kube.setNodes([{ name: 'x', ready: true }]);
  s = (await collect(probe)).eks_nodes;
  assert.equal(s.status, 'ok');
  assert.equal(s.zones, undefined);
});

test('kubernetes_nodes: an empty cluster (0 of 0 nodes) is an error, never "every node is Ready"', async () => {
  const kube = await FakeKubernetes.start('k8s-token', { nodes: [] });
  closers.push(() => kube.close());
  const s = (
    await collect({
      eks_nodes: { type: 'kubernetes_nodes', cluster: { server: kube.url, token: 'k8s-token' } },
    })
  ).eks_nodes;
  assert.equal(s.status, 'error');
  assert.equal(s.ready, 0);
  assert.equal(s.total, 0);
  assert.equal(s.zones, undefined);
  assert.match(String(s.detail), /the cluster lists no nodes/);
});

test('probe configuration is strict: typos, keys of another type and missing keys are reported', () => {
  assert.throws(
    () =>
      parseConfig({ probes: { signals: { x: { type: 'http', url: 'http://127.0.0.1/', tiemout: '1s' } } } }),
    /probes\.signals\.x\.tiemout.*did you mean "timeout"/,
  );
  assert.throws(
    () =>
      parseConfig({
        probes: { signals: { x: { type: 'tcp', host: 'h', port: 1, targets: [{ url: 'http://a/' }] } } },
      }),
    /"targets" does not apply to a tcp probe/,
  );
  assert.throws(
    () => parseConfig({ probes: { signals: { x: { type: 'tcp', host: 'h' } } } }),
    /needs "port"/,
  );
  assert.throws(
    () =>
      parseConfig({
        probes: { signals: { x: { type: 'postgres_replication', degraded_lag: '5m', error_lag: '1m' } } },
      }),
    /needs "primary", "standby" or both[\s\S]*error_lag \(60\) must not be below degraded_lag \(300\)/,
  );
});
