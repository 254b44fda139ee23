import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatSeconds, parseDuration } from './duration.js';

test('parses numbers and duration strings to seconds', () => {
  assert.equal(parseDuration(45), 45);
  assert.equal(parseDuration('45s'), 45);
  assert.equal(parseDuration('5m'), 300);
  assert.equal(parseDuration('1h30m'), 5400);
  assert.equal(parseDuration('-2m'), -120);
  assert.equal(parseDuration('7d'), 604800);
  assert.equal(parseDuration('90'), 90);
});

test('rejects text that is not a duration, naming the accepted forms', () => {
  assert.throws(() => parseDuration('soon'), /not a duration.*45s/);
  assert.throws(() => parseDuration(''), /not a duration/);
  assert.throws(() => parseDuration('5 minutes'), /not a duration/);
});

test('formats seconds compactly', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(270), '4m30s');
  assert.equal(formatDuration(3600), '1h');
  assert.equal(formatDuration(-90), '-1m30s');
});

test('seconds for people: the precision under 10 s, a duration from 10 s on', () => {
  assert.equal(formatSeconds(0.25), '0.25s');
  assert.equal(formatSeconds(3.44), '3.4s');
  assert.equal(formatSeconds(5), '5s');
  assert.equal(formatSeconds(12.4), '12s');
  assert.equal(formatSeconds(65), '1m5s');
});
