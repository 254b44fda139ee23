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
