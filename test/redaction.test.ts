import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { createLogger } from '../src/log/index.js';
import { closedPort } from './helpers/servers.js';
import { runCli } from './helpers/paths.js';
import { DecisionLoop, READ_TOKEN, serveLoop, serverConfig, snapshot } from './server/harness.js';

// A password as people write them: `#`, `/` and `?` make the URL unparseable, so a redaction that
// needs `new URL()` to succeed printed it whole.
const PASSWORD = 'Zq9#pa/ss?wd';
const SECRET = /Zq9/;

describe('a database password that breaks URL parsing is hidden everywhere it could be printed', () => {
  let dir: string;
  let dsn: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'phoenix-redaction-'));
    dsn = `postgres://phoenix:${PASSWORD}@127.0.0.1:${await closedPort()}/app`;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, document: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, stringify(document));
    return file;
  };
  const topology = { primary: { cloud: 'aws' }, dr: { cloud: 'azure', rpo_budget_s: 300 } };

  test('phoenix plan and a runbook run (failover) name the server without its password', async () => {
    const file = write('runbook.yaml', {
      store: { path: join(dir, 'runbook.db') },
      topology,
      runbooks: {
        dr_failover: {
          stages: [
            {
              name: 'database',
              steps: [{ name: 'promote', type: 'database', params: { action: 'promote', standby: dsn } }],
            },
          ],
        },
      },
    });
    const plan = await runCli(['plan', '--config', file]);
    assert.match(plan.stdout, /phoenix:\*\*\*@127\.0\.0\.1/, plan.stdout + plan.stderr);
    assert.doesNotMatch(plan.stdout + plan.stderr, SECRET);
    const run = await runCli(['failover', '--yes', '--config', file]);
    assert.notEqual(run.code, 0);
    assert.doesNotMatch(run.stdout + run.stderr, SECRET);
    const runs = await runCli(['runs', '--config', file, '--json']);
    assert.doesNotMatch(runs.stdout + runs.stderr, SECRET);
  });

  // What a command step's tools print when they fail: a shell trace of the environment it was given, curl -v's
  // request headers, an Azure storage connection string. The journal keeps the step's error and output tails.
  test('a command step that echoes the credentials it was given (env, headers, connection strings) does not put them in the run output or journal', async () => {
    const script = [
      'echo "+ PGPASSWORD=$PGPASSWORD pg_dump -h db app" >&2',
      'echo "> Authorization: Bearer $API_TOKEN" >&2',
      'echo "DefaultEndpointsProtocol=https;AccountName=dr;AccountKey=$ACCOUNT_KEY;EndpointSuffix=core.windows.net" >&2',
      'echo "export DB_PASSWORD=$PGPASSWORD AWS_SECRET_ACCESS_KEY=$ACCOUNT_KEY"',
      'echo \'{"user":"app","password":"\'"$PGPASSWORD"\'"}\'',
      'exit 3',
    ].join('\n');
    const file = write('command.yaml', {
      store: { path: join(dir, 'command.db') },
      topology,
      runbooks: {
        dr_failover: {
          stages: [
            {
              name: 'app',
              steps: [
                {
                  name: 'dump',
                  type: 'command',
                  params: {
                    command: 'sh',
                    args: ['-c', script],
                    env: {
                      PGPASSWORD: '${PHX_TEST_PG}',
                      API_TOKEN: '${PHX_TEST_TOKEN}',
                      ACCOUNT_KEY: '${PHX_TEST_KEY}',
                    },
                  },
                },
              ],
            },
          ],
        },
      },
    });
    const env = {
      PHX_TEST_PG: 'Zq9pgSecret',
      PHX_TEST_TOKEN: 'Zq9tokenSecret',
      PHX_TEST_KEY: 'Zq9keySecret==',
    };
    const run = await runCli(['failover', '--yes', '--config', file], { env });
    assert.notEqual(run.code, 0);
    assert.match(run.stdout + run.stderr, /exited with 3/, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout + run.stderr, SECRET, 'failover output');
    const runs = await runCli(['runs', '--config', file, '--json'], { env });
    assert.doesNotMatch(runs.stdout + runs.stderr, SECRET, 'phoenix runs --json');
    assert.match(runs.stdout, /pg_dump -h db/, 'the journal keeps what the step printed');
    assert.match(runs.stdout, /Bearer \*\*\*/);
    assert.match(runs.stdout, /AccountName=dr;AccountKey=\*\*\*;EndpointSuffix/);
  });

  // The evidence report is handed to auditors as a file and printed to the terminal without --out.
  test('phoenix report, HTML and JSON, hides the credentials and escapes the control characters a step printed', async () => {
    const file = write('report.yaml', {
      store: { path: join(dir, 'report.db') },
      topology,
      runbooks: {
        dr_failover: {
          stages: [
            {
              name: 'app',
              steps: [
                {
                  name: 'dump',
                  type: 'command',
                  params: {
                    command: 'sh',
                    args: [
                      '-c',
                      'printf "done PGPASSWORD=$PGPASSWORD \\033]0;pwned\\007 \\342\\200\\256evil\\n"',
                    ],
                    env: { PGPASSWORD: '${PHX_TEST_PG}' },
                  },
                },
              ],
            },
          ],
        },
      },
    });
    const env = { PHX_TEST_PG: 'Zq9pgSecret' };
    const run = await runCli(['failover', '--yes', '--config', file], { env });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const id = /run (run-\S+)/.exec(run.stdout + run.stderr)?.[1];
    assert.ok(id, run.stdout + run.stderr);
    for (const format of ['html', 'json']) {
      const report = await runCli(['report', id, '--config', file, '--format', format], { env });
      assert.equal(report.code, 0, report.stderr);
      assert.match(report.stdout, /PGPASSWORD=\*\*\*/, format);
      assert.doesNotMatch(report.stdout, SECRET, `${format} report`);
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(report.stdout, /[\u0007\u001b\u202e]/, `${format} report: a raw control character`);
    }
    const out = join(dir, 'report.html');
    assert.equal((await runCli(['report', id, '--config', file, '--out', out], { env })).code, 0);
    assert.doesNotMatch(readFileSync(out, 'utf8'), SECRET, 'report file');
  });

  test('phoenix status on a PostgreSQL store it cannot reach names it without the password', async () => {
    const file = write('store.yaml', { topology, store: { driver: 'postgres', url: dsn } });
    const status = await runCli(['status', '--config', file]);
    assert.notEqual(status.code, 0);
    assert.match(status.stderr, /127\.0\.0\.1/);
    assert.doesNotMatch(status.stdout + status.stderr, SECRET);
  });

  test('phoenix validate never echoes what a ${VAR} resolved to', async () => {
    const file = write('vars.yaml', {
      topology,
      interval: '${PHX_TEST_SECRET_A}',
      scoring: { levels: { dr_failover: '${PHX_TEST_SECRET_B}' } },
      server: { anonymous: '${PHX_TEST_SECRET_C}' },
    });
    const env = { PHX_TEST_SECRET_A: 'Zq9-a', PHX_TEST_SECRET_B: 'Zq9-b', PHX_TEST_SECRET_C: 'Zq9-c' };
    for (const args of [
      ['validate', file],
      ['validate', file, '--json'],
    ]) {
      const validate = await runCli(args, { env });
      assert.equal(validate.code, 2, validate.stderr);
      assert.doesNotMatch(validate.stdout + validate.stderr, SECRET);
      assert.match(validate.stdout + validate.stderr, /\$\{PHX_TEST_SECRET_A\} \(resolved value not shown\)/);
      assert.match(validate.stdout + validate.stderr, /scoring\.levels\.dr_failover/);
      assert.match(validate.stdout + validate.stderr, /server\.anonymous/);
    }
  });

  test('GET /api/status hides a connection string a probe put in its detail', async () => {
    const config = serverConfig();
    const loop = new DecisionLoop(config);
    loop.next = snapshot();
    loop.next.db_replication_lag = {
      status: 'error',
      detail: `cannot connect to the standby (${dsn}); also tried host=10.0.0.5 password=${PASSWORD} dbname=app`,
    };
    await loop.cycle();
    const server = await serveLoop(config, loop);
    try {
      const answer = await fetch(`${server.url}/api/status`, {
        headers: { authorization: `Bearer ${READ_TOKEN}` },
      });
      const text = await answer.text();
      assert.equal(answer.status, 200, text);
      assert.doesNotMatch(text, SECRET);
      assert.match(text, /phoenix:\*\*\*@127\.0\.0\.1/);
      assert.match(text, /password=\*\*\* dbname=app/);
    } finally {
      await server.close();
    }
  });

  test('the log hides it in messages, fields and errors, and a human-readable log escapes control characters', () => {
    for (const pretty of [false, true]) {
      let out = '';
      const destination = new Writable({
        write(chunk, _encoding, done) {
          out += String(chunk);
          done();
        },
      });
      const log = createLogger({ pretty, destination });
      log.error(
        { err: new Error(`cannot connect to ${dsn}`), target: `host=db password=${PASSWORD}` },
        `probe failed: ${dsn} \u001b[2J`,
      );
      assert.doesNotMatch(out, SECRET, out);
      assert.match(out, /phoenix:\*\*\*@127\.0\.0\.1/);
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(out, /\u001b\[2J/, 'the raw escape reached the log');
    }
  });
});
