import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactText, redactUrl } from './redact.js';

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
