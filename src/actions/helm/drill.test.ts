import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scratchDatabase } from '../database/drill.js';
import { FakeDeploymentApi } from '../../stand-ins/kubernetes/apiserver.js';
import { DRILL_LABEL } from '../kubernetes/drill.js';
import { drillTag } from '../shared/drill.js';
import { drillAfterDatabase, stepContext } from '../shared/test-context.js';
import { helmParamsSchema } from './config.js';
import { helmDrill } from './drill.js';

/**
 * Helm is not on this machine: this stand-in keeps its releases in a file and answers as Helm 3 does
 * (release names per namespace; an install into a namespace the API server does not know fails
 * without --create-namespace; uninstall and status of an unknown release: "release: not found").
 * It asks the fake API server (from the kubeconfig) whether the namespace exists.
 */
const FAKE_HELM = `#!/usr/bin/env node
const fs = require('node:fs');
const [cmd, ...rest] = process.argv.slice(2);
const dir = __dirname;
fs.appendFileSync(dir + '/helm.calls', [cmd, ...rest].join(' ') + '\\n');
const opt = (name) => { const i = rest.indexOf(name); return i < 0 ? undefined : rest[i + 1]; };
const ns = opt('--namespace') || 'default';
const file = dir + '/releases.json';
const releases = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
const save = () => fs.writeFileSync(file, JSON.stringify(releases));
const fail = (m) => { process.stderr.write('Error: ' + m + '\\n'); process.exit(1); };
(async () => {
  if (cmd === 'upgrade') {
    const release = rest[1];
    const kc = fs.readFileSync(opt('--kubeconfig'), 'utf8');
    const server = /server: (\\S+)/.exec(kc)[1], token = /token: (\\S+)/.exec(kc)[1];
    const res = await fetch(server + '/api/v1/namespaces/' + ns, { headers: { authorization: 'Bearer ' + token } });
    if (res.status === 404 && !rest.includes('--create-namespace'))
      fail('create: failed to create: namespaces "' + ns + '" not found');
    const set = {};
    rest.forEach((a, i) => { if (a === '--set') { const [k, ...v] = rest[i + 1].split('='); set[k] = v.join('='); } });
    const key = ns + '/' + release;
    const revision = (releases[key]?.revision ?? 0) + 1;
    releases[key] = { revision, set };
    save();
    console.log('Release "' + release + '" has been upgraded. Happy Helming!\\nNAME: ' + release + '\\nNAMESPACE: ' + ns + '\\nSTATUS: deployed\\nREVISION: ' + revision);
  } else if (cmd === 'uninstall' || cmd === 'status') {
    const key = ns + '/' + rest[0];
    if (!releases[key]) fail((cmd === 'uninstall' ? 'uninstall: Release not loaded: ' + rest[0] + ': ' : '') + 'release: not found');
    if (cmd === 'uninstall') { delete releases[key]; save(); console.log('release "' + rest[0] + '" uninstalled'); }
    else console.log('NAME: ' + rest[0] + '\\nSTATUS: deployed');
  } else fail('unknown command "' + cmd + '" for "helm"');
})();
`;

let api: FakeDeploymentApi;
let dir: string;
let kubeconfig: string;
let helm: string;

before(async () => {
  api = await new FakeDeploymentApi([{ namespace: 'shop', name: 'web', replicas: 2 }], 100).start();
  dir = mkdtempSync(join(tmpdir(), 'phoenix-helm-drill-'));
  helm = join(dir, 'helm');
  writeFileSync(helm, FAKE_HELM);
  chmodSync(helm, 0o755);
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfig('dr-aks'));
});

after(() => api.stop());

const SERVER = 'postgresql://shop:***@dr-db.postgres.database.azure.com:5432/shop';
const LIVE_URL = 'postgresql://shop:s3cret@dr-db.postgres.database.azure.com:5432/shop?sslmode=require';

const params = (extra: Record<string, unknown> = {}) =>
  helmParamsSchema.parse({
    release: 'shop',
    chart: 'oci://registry.example.com/charts/shop',
    namespace: 'shop',
    set: { 'image.tag': 'v42', 'db.url': LIVE_URL },
    kubeconfig,
    kube_context: 'dr-aks',
    binary: helm,
    drill: { database_value: 'db.url' },
    ...extra,
  });

const releases = () =>
  existsSync(join(dir, 'releases.json'))
    ? (JSON.parse(readFileSync(join(dir, 'releases.json'), 'utf8')) as Record<
        string,
        { set: Record<string, string> }
      >)
    : {};

test('the helm rehearsal installs the release into a labelled drill namespace on the scratch database; cleanup uninstalls it, deletes the namespace and checks both are gone', async () => {
  const runId = 'drill-helm-1';
  const ctx = drillAfterDatabase(runId, SERVER);
  const result = await helmDrill.rehearse(params(), ctx);
  assert.equal(
    result.summary,
    `drill: release shop in shop-drill: deployed, revision 1 on the scratch database ${scratchDatabase(runId)}; release shop in shop untouched`,
  );
  assert.equal(api.namespaces.get('shop-drill')?.labels[DRILL_LABEL], drillTag(runId));
  assert.deepEqual(Object.keys(releases()), ['shop-drill/shop']);
  assert.equal(
    releases()['shop-drill/shop'].set['db.url'],
    `postgresql://shop:s3cret@dr-db.postgres.database.azure.com:5432/${scratchDatabase(runId)}?sslmode=require`,
  );
  assert.doesNotMatch(JSON.stringify(result.output), /s3cret/, 'the journal never holds the password');
  const install = readFileSync(join(dir, 'helm.calls'), 'utf8').trim().split('\n')[0];
  assert.match(
    install,
    /^upgrade --install shop oci:\/\/registry.example.com\/charts\/shop --namespace shop-drill --kube-context dr-aks/,
  );
  assert.doesNotMatch(install, /--create-namespace/, 'the drill makes the namespace itself, with its label');

  const cleaned = await helmDrill.cleanup!(params(), ctx);
  assert.deepEqual(cleaned.left, []);
  assert.match(
    cleaned.summary,
    /uninstalled shop from shop-drill \(helm no longer knows it\); deleted namespace shop-drill/,
  );
  assert.deepEqual(releases(), {});
  assert.equal(api.namespaces.has('shop-drill'), false);
  assert.deepEqual((await helmDrill.cleanup!(params(), ctx)).left, [], 'a repeated cleanup finds nothing');
});

test('a release whose database value is unknown or has no scratch copy to use is refused before anything is made', async () => {
  await assert.rejects(
    helmDrill.rehearse(params({ drill: {} }), drillAfterDatabase('drill-helm-2', SERVER)),
    /set drill.database_value to the key of set holding the database URL/,
  );
  await assert.rejects(
    helmDrill.rehearse(params(), { ...stepContext({ runId: 'drill-helm-2' }), rehearsed: {} }),
    /db.url would reach the DR database and no database step made a scratch copy/,
  );
  await assert.rejects(
    helmDrill.rehearse(
      params({ drill: { database_value: 'database.url' } }),
      drillAfterDatabase('drill-helm-2', SERVER),
    ),
    /set has no database.url/,
  );
  assert.equal(api.namespaces.has('shop-drill'), false);
  assert.deepEqual(releases(), {});
});
