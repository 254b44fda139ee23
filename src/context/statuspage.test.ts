import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gatherStatusPage } from './statuspage.js';

let server: Server;
let url = '';
let feed = '';

before(async () => {
  server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/rss+xml' });
    response.end(feed);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/feed.rss`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const read = () => gatherStatusPage({ url, format: 'rss' }, AbortSignal.timeout(5000), 'azure_status');

test('RSS items decode CDATA, character references and XML entities as a feed reader does', async () => {
  feed = `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Azure status</title>
  <item>
    <title>Storage &#8211; West Europe&#x2019;s accounts &amp; Caf&#233; API</title>
    <description><![CDATA[Customers <i>may</i> see 503 & timeouts]]></description>
    <pubDate>Tue, 01 Dec 2026 10:00:00 GMT</pubDate>
  </item>
  <item><title type="text">Front Door</title><description>&lt;b&gt;degraded&lt;/b&gt;</description></item>
</channel></rss>`;
  const status = await read();
  assert.equal(status.available, true);
  assert.deepEqual(
    status.incidents!.map((i) => [i.name, i.body, i.started]),
    [
      [
        'Storage \u2013 West Europe\u2019s accounts & Caf\u00e9 API',
        'Customers <i>may</i> see 503 & timeouts',
        Date.parse('2026-12-01T10:00:00Z') / 1000,
      ],
      ['Front Door', '<b>degraded</b>', undefined],
    ],
  );
});

test('a feed that is not well-formed XML, or not RSS, is a source error naming the problem', async () => {
  feed = '<rss><channel><item><title>open</channel></rss>';
  await assert.rejects(read(), /azure_status: the answer is not well-formed XML/);
  feed = '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>';
  await assert.rejects(read(), /not an RSS feed/);
});
