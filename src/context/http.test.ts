import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchText } from './http.js';

let server: Server;
let base = '';

before(async () => {
  server = createServer((request, response) => {
    if (request.url === '/endless') {
      // A body that never ends: only a cap counted while streaming can stop reading it.
      response.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once('drain', pump);
      };
      pump();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
    response.end('0123456789');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

test('a body past the cap is cut off while it streams, not after it is buffered', async () => {
  await assert.rejects(
    fetchText(`${base}/endless`, {
      signal: AbortSignal.timeout(20_000),
      source: 'feed',
      maxBytes: 256 * 1024,
    }),
    /^SourceError: feed: answer larger than 262144 bytes$/,
  );
});

test('a declared Content-Length past the cap is refused before reading; a body within it is returned', async () => {
  await assert.rejects(
    fetchText(`${base}/small`, { signal: AbortSignal.timeout(5000), source: 'feed', maxBytes: 5 }),
    /answer larger than 5 bytes \(Content-Length 10\)/,
  );
  assert.equal(
    await fetchText(`${base}/small`, { signal: AbortSignal.timeout(5000), source: 'feed' }),
    '0123456789',
  );
});
