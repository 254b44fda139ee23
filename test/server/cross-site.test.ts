import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { DecisionLoop, OPERATE_TOKEN, serveLoop, serverConfig } from './harness.js';

// The lab's API is `anonymous: operate`: a page on any other site the operator visits could post a
// form to it (no preflight for a form) unless the server checks where a browser request comes from.
test('with anonymous operate, a cross-site browser POST is refused; same-origin pages, tokens and non-browser clients still work', async () => {
  const config = serverConfig({ anonymous: 'operate' });
  const loop = new DecisionLoop(config);
  const server = await serveLoop(config, loop);
  const cycle = (headers: Record<string, string>) =>
    fetch(`${server.url}/api/cycle`, { method: 'POST', headers });
  try {
    // <form enctype="text/plain" method="post">: a simple request, sent without a preflight.
    const form = await cycle({
      origin: 'http://evil.example',
      'sec-fetch-site': 'cross-site',
      'content-type': 'text/plain',
    });
    assert.equal(form.status, 403);
    assert.match(((await form.json()) as { error: string }).error, /another site \(http:\/\/evil\.example\)/);
    // An older browser that sends only Origin.
    assert.equal((await cycle({ origin: 'http://evil.example' })).status, 403);
    assert.equal((await cycle({ 'sec-fetch-site': 'same-site' })).status, 403);
    // A sandboxed frame or a file: page says Origin: null.
    assert.equal((await cycle({ origin: 'null' })).status, 403);
    assert.equal((await cycle({ origin: 'null', 'sec-fetch-site': 'cross-site' })).status, 403);

    assert.equal((await cycle({ origin: server.url, 'sec-fetch-site': 'same-origin' })).status, 202);
    assert.equal((await cycle({ origin: server.url })).status, 202);
    assert.equal((await cycle({})).status, 202, 'the CLI, curl and Alertmanager send no Origin');
    const withToken = await cycle({
      origin: 'http://evil.example',
      authorization: `Bearer ${OPERATE_TOKEN}`,
    });
    assert.equal(withToken.status, 202, 'a bearer token is not something another site can add');
    const read = await fetch(`${server.url}/api/status`, { headers: { origin: 'http://evil.example' } });
    assert.equal(read.status, 200, 'reads are not changed (CORS keeps their answers from other sites)');
    await loop.idle();
  } finally {
    await server.close();
  }
});

/** A request with a chosen Host header (fetch will not send one), as a browser sends it after DNS rebinding. */
function requestAs(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}${path}`, { method, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

// DNS rebinding: a page at http://evil.example:PORT re-resolves its own name to 127.0.0.1, and from then on
// its requests to the lab's API are same-origin for the browser (Origin and Host both evil.example:PORT,
// Sec-Fetch-Site: same-origin), so neither an Origin check nor CORS stops them. Only the Host header
// tells a name the server does not answer to.
test('with anonymous access, a request for a host name the server does not answer to (DNS rebinding) is refused; loopback names and addresses still work', async () => {
  const config = serverConfig({ anonymous: 'operate' });
  const loop = new DecisionLoop(config);
  const server = await serveLoop(config, loop);
  const port = new URL(server.url).port;
  const rebound = {
    host: `evil.example:${port}`,
    origin: `http://evil.example:${port}`,
    'sec-fetch-site': 'same-origin',
  };
  try {
    const cycle = await requestAs(server.url, 'POST', '/api/cycle', rebound);
    assert.equal(cycle.status, 403, `a rebound page started a cycle: ${cycle.status} ${cycle.body}`);
    assert.match(cycle.body, /evil\.example/);
    const read = await requestAs(server.url, 'GET', '/api/status', rebound);
    assert.equal(
      read.status,
      403,
      'a rebound page may not read the status either (it is same-origin to CORS)',
    );

    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      const own = { host, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' };
      assert.equal((await requestAs(server.url, 'GET', '/api/status', own)).status, 200, host);
    }
    const ownCycle = await requestAs(server.url, 'POST', '/api/cycle', {
      host: `localhost:${port}`,
      origin: `http://localhost:${port}`,
      'sec-fetch-site': 'same-origin',
    });
    assert.equal(ownCycle.status, 202, ownCycle.body);
    const withToken = await requestAs(server.url, 'POST', '/api/cycle', {
      ...rebound,
      authorization: `Bearer ${OPERATE_TOKEN}`,
    });
    assert.equal(withToken.status, 202, 'a token holder may use any name (a proxy, an ingress)');
    await loop.idle();
  } finally {
    await server.close();
  }
});
