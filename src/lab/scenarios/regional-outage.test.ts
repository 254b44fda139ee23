import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { appTakesWrites } from './regional-outage.js';

// Under load the app's headers can arrive in time and its body after the deadline: the drill polls this
// every 200 ms while it measures RTO, so a throw there ended whole drills ("The operation was aborted due
// to timeout") instead of counting one poll as "not serving yet".
test('an app whose health body arrives after the deadline does not serve yet, and the poll does not throw', async () => {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    // The body is held until the client gives up and closes the connection.
    req.socket.once('close', () => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    assert.equal(await appTakesWrites(`http://127.0.0.1:${port}`, 300), false);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('an app that answers writable in time serves', async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', writable: true }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    assert.equal(await appTakesWrites(`http://127.0.0.1:${port}`, 5000), true);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
