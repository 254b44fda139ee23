import { test } from 'node:test';
import assert from 'node:assert/strict';
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
