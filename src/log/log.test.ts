import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger, prettyFromFormat } from './index.js';

function capture(pretty: boolean): { logger: ReturnType<typeof createLogger>; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c));
  return { logger: createLogger({ level: 'info', pretty, destination: stream }), text: () => text };
}

test('logs are JSON lines by default and human-readable in pretty mode', () => {
  const json = capture(false);
  json.logger.info({ score: 5 }, 'cycle done');
  json.logger.debug('hidden below the level');
  const line = JSON.parse(json.text().trim());
  assert.equal(line.msg, 'cycle done');
  assert.equal(line.score, 5);
  assert.equal(line.level, 30);

  const pretty = capture(true);
  pretty.logger.warn({ action: 'dr_failover' }, 'decision');
  assert.match(pretty.text(), /WARN.*decision/);
  assert.match(pretty.text(), /action: "dr_failover"/);
  assert.throws(() => JSON.parse(pretty.text()));
});

test('--log-format maps to the pretty setting and rejects unknown formats', () => {
  assert.equal(prettyFromFormat('json'), false);
  assert.equal(prettyFromFormat('pretty'), true);
  assert.equal(prettyFromFormat(undefined), 'auto');
  assert.throws(() => prettyFromFormat('xml'), /--log-format "xml" is not known/);
});
