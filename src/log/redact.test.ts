import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redact, redactDeep, redactText, redactUrl } from './redact.js';

test('a URL keeps only its origin; path, query, fragment and credentials are hidden', () => {
  assert.equal(
    redactUrl('https://hooks.slack.com/services/T000/B000/XXXXXXXX?t=secret#x'),
    'https://hooks.slack.com/[redacted]',
  );
  assert.equal(
    redactUrl('https://user:pass@jenkins.example:8443/job?token=t'),
    'https://jenkins.example:8443/[redacted]',
  );
  assert.equal(redactUrl('http://127.0.0.1:9000/'), 'http://127.0.0.1:9000');
  assert.equal(redactUrl('not a url'), '[redacted url]');
});

test('every URL inside a message is redacted, the rest of the message kept', () => {
  assert.equal(
    redactText('POST https://hooks.example/abc?sig=1 failed: see "http://h.example/p/q"'),
    'POST https://hooks.example/[redacted] failed: see "http://h.example/[redacted]"',
  );
});

test('a URL password is hidden even when the URL does not parse (#, /, ? or @ in it)', () => {
  for (const password of ['p#ss', 'a/b', 'wh?t', 'x@y', '123/4', 'p#a/s?s@w']) {
    const url = `postgres://phoenix:${password}@db.example:5432/app?sslmode=require`;
    assert.equal(redact(url), 'postgres://phoenix:***@db.example:5432/app?sslmode=require', url);
    assert.equal(
      redact(`cannot connect to the primary (${url}): refused`),
      'cannot connect to the primary (postgres://phoenix:***@db.example:5432/app?sslmode=require): refused',
    );
  }
  assert.equal(redact('postgresql://db/app'), 'postgresql://db/app');
  assert.equal(redact('postgresql://u@db/app'), 'postgresql://u@db/app');
});

test('key=value connection strings and secret query parameters are hidden, quoted values whole', () => {
  assert.equal(redact('host=db password=pw user=u'), 'host=db password=*** user=u');
  assert.equal(redact("host=db password='a b\\' c' user=u"), 'host=db password=*** user=u');
  assert.equal(redact('dbname=app PASSWORD = s3cr#t/?x port=5432'), 'dbname=app PASSWORD = *** port=5432');
  assert.equal(redact('https://h.example/x?sig=abc&keep=1'), 'https://h.example/x?sig=***&keep=1');
  assert.equal(redact('{"detail":"password=hunter2"}'), '{"detail":"password=***"}');
});

test('every string of a nested value is redacted, its shape kept', () => {
  assert.deepEqual(redactDeep({ a: ['postgres://u:p/w@h/d', 3], b: { c: 'password=x' }, n: null }), {
    a: ['postgres://u:***@h/d', 3],
    b: { c: 'password=***' },
    n: null,
  });
});

test('credentials in environment assignments, JSON, headers and SDK parameters are hidden, whatever prefixes their name', () => {
  const cases: [string, string][] = [
    ['+ PGPASSWORD=pw pg_dump -h db', '+ PGPASSWORD=*** pg_dump -h db'],
    ["PGPASSWORD='a b c' psql", 'PGPASSWORD=*** psql'],
    ['export DB_PASSWORD=pw AWS_SECRET_ACCESS_KEY=k', 'export DB_PASSWORD=*** AWS_SECRET_ACCESS_KEY=***'],
    [
      'AccountName=dr;AccountKey=a+b/c==;EndpointSuffix=core.windows.net',
      'AccountName=dr;AccountKey=***;EndpointSuffix=core.windows.net',
    ],
    [
      'Endpoint=sb://x/;SharedAccessKeyName=n;SharedAccessKey=k=',
      'Endpoint=sb://x/;SharedAccessKeyName=n;SharedAccessKey=***',
    ],
    ['> Authorization: Bearer eyJ.a.b', '> Authorization: Bearer ***'],
    ['authorization=SharedKey dr:c2ln', 'authorization=SharedKey ***'],
    ['x-api-key: sk-live-1', 'x-api-key: ***'],
    ['refused (Bearer abcdefgh12345678)', 'refused (Bearer ***)'],
    ['{"user":"app","password":"a \\" b","port":5432}', '{"user":"app","password":"***","port":5432}'],
    ['{\\"client_secret\\":\\"s3\\"}', '{\\"client_secret\\":\\"***\\"}'],
    [
      '?X-Amz-Credential=AKIA/x&X-Amz-Security-Token=t&X-Amz-Signature=0a',
      '?X-Amz-Credential=AKIA/x&X-Amz-Security-Token=***&X-Amz-Signature=***',
    ],
  ];
  for (const [text, expected] of cases) assert.equal(redact(text), expected, text);
  // Words that only end like a secret's name, and messages about tokens, are kept.
  for (const kept of [
    'PHOENIX_IDEMPOTENCY_KEY=run-1/step/1',
    'the bearer token is not one of server.tokens',
    'the Authorization header must be "Bearer <token>"',
    'design=blue',
  ])
    assert.equal(redact(kept), kept);
});
