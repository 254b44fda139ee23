import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeStatuspageServer } from '../src/stand-ins/statuspage/status-page.js';
import { runCli } from './helpers/paths.js';

// Clears the screen, retitles the window and hides what follows: what a hostile status page or
// change record could do to the operator's terminal if it were printed raw.
const HOSTILE = '\u001b[2J\u001b]0;pwned\u0007\u001b[8mhidden\u009b31m\u202eevil';
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/;

describe('untrusted text in human-readable CLI output', () => {
  const statuspage = new FakeStatuspageServer('Cloudflare');
  let dir: string;
  let configFile: string;
  before(async () => {
    await statuspage.start();
    statuspage.setIncidents([
      { name: `Degraded ${HOSTILE}`, status: 'investigating', impact: 'major', body: `update ${HOSTILE}` },
    ]);
    dir = mkdtempSync(join(tmpdir(), 'phoenix-escapes-'));
    configFile = join(dir, 'phoenix.yaml');
    writeFileSync(
      configFile,
      `topology:
  primary: { cloud: aws, region: us-east-1 }
  dr: { cloud: azure, region: eastus2 }
store: { path: ${join(dir, 'phoenix.db')} }
context:
  timeout: 2s
  cloudflare: { url: ${statuspage.url} }
  changes: { since: 1h }
`,
    );
  });
  after(async () => {
    await statuspage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('phoenix change and phoenix analyze print control characters escaped, never raw', async () => {
    const change = await runCli([
      'change',
      '--config',
      configFile,
      '--kind',
      'deploy',
      '--description',
      `v2 ${HOSTILE}`,
    ]);
    assert.equal(change.code, 0, change.stderr);
    assert.doesNotMatch(change.stdout, RAW_CONTROL);
    assert.match(change.stdout, /v2 \\x1b\[2J\\x1b\]0;pwned\\x07/);

    const analyzed = await runCli(['analyze', '--config', configFile], {
      env: { AWS_EC2_METADATA_DISABLED: 'true', AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'x' },
    });
    assert.equal(analyzed.code, 0, analyzed.stderr);
    assert.doesNotMatch(analyzed.stdout, RAW_CONTROL, 'a raw control character reached the terminal');
    assert.match(analyzed.stdout, /Degraded \\x1b\[2J/);
    assert.match(analyzed.stdout, /v2 \\x1b\[2J/);
    assert.match(analyzed.stdout, /\\u202eevil/);
    // --json stays data: JSON escapes them itself, and the text is kept exactly.
    const json = await runCli(['analyze', '--config', configFile, '--json'], {
      env: { AWS_EC2_METADATA_DISABLED: 'true', AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'x' },
    });
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout) as { context: { changes: Array<{ description: string }> } };
    assert.equal(out.context.changes[0].description, `v2 ${HOSTILE}`);
  });

  // The site journal's reasons are free text from whoever paused automation or moved the site (another
  // operator, a run's reason quoting an alert), shown to everyone who runs phoenix site.
  test('phoenix site prints the pause and event reasons with control characters escaped', async () => {
    const pause = await runCli([
      'pause',
      '--config',
      configFile,
      '--for',
      '1h',
      '--reason',
      `db migration ${HOSTILE}`,
    ]);
    assert.equal(pause.code, 0, pause.stderr);
    const site = await runCli(['site', '--config', configFile]);
    assert.equal(site.code, 0, site.stderr);
    assert.match(site.stdout, /PAUSED until/, site.stdout);
    assert.doesNotMatch(site.stdout, RAW_CONTROL, 'a raw control character reached the terminal');
    assert.match(site.stdout, /db migration \\x1b\[2J/);
  });
});
