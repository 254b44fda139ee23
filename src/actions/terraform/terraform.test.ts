import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helmAdapter } from '../helm/helm.js';
import { preflightContext, stepContext } from '../shared/test-context.js';
import { terraformAdapter } from './terraform.js';

/**
 * Terraform and Helm are the user's binaries and are not on this machine: these stand-ins
 * record their arguments and answer as the real ones do, so the test checks the exact
 * command lines, the captured plan and the failure path.
 */
function standIn(dir: string, name: string, script: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\necho "$@" >> "${dir}/${name}.calls"\n${script}\n`);
  chmodSync(path, 0o755);
  return path;
}

test('terraform runs init, workspace, plan with vars and applies the saved plan; the plan output is captured', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-tf-'));
  const stack = join(dir, 'dr-stack');
  mkdirSync(stack);
  const binary = standIn(
    dir,
    'terraform',
    `case "$2" in
  plan) echo "azurerm_kubernetes_cluster.dr will be updated in-place"; echo "Plan: 0 to add, 1 to change, 0 to destroy." ;;
  apply) echo "Apply complete! Resources: 0 added, 1 changed, 0 destroyed." ;;
  *) echo ok ;;
esac`,
  );
  const params = terraformAdapter.schema.parse({
    dir: stack,
    binary,
    workspace: 'dr',
    vars: { node_count: 6, region: 'eastus2' },
  });
  assert.ok((await terraformAdapter.preflight(params, preflightContext())).every((c) => c.ok));
  const result = await terraformAdapter.run(params, stepContext());
  assert.equal(
    result.summary,
    `${binary} ${stack}: Plan: 0 to add, 1 to change, 0 to destroy. → Apply complete! Resources: 0 added, 1 changed, 0 destroyed.`,
  );
  assert.match(String(result.output?.plan), /azurerm_kubernetes_cluster\.dr will be updated/);
  assert.deepEqual(readFileSync(join(dir, 'terraform.calls'), 'utf8').trim().split('\n'), [
    `-chdir=${stack} init -input=false -no-color`,
    `-chdir=${stack} workspace select -or-create dr`,
    `-chdir=${stack} plan -input=false -no-color -out=phoenix.tfplan -var=node_count=6 -var=region=eastus2`,
    `-chdir=${stack} apply -input=false -no-color -auto-approve phoenix.tfplan`,
  ]);
});

test('a missing terraform binary is a clear pre-flight error; a failing apply carries its last words', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-tf-'));
  const missing = terraformAdapter.schema.parse({ dir, binary: 'tofu-not-installed' });
  const checks = await terraformAdapter.preflight(missing, preflightContext());
  assert.deepEqual(checks[0], {
    check: 'tofu-not-installed present',
    ok: false,
    detail: 'tofu-not-installed is not on PATH; install Terraform or OpenTofu, or set binary',
  });
  await assert.rejects(
    terraformAdapter.run(missing, stepContext()),
    /tofu-not-installed: executable not found; install it or put it on PATH/,
  );
  const failing = standIn(
    dir,
    'tofu',
    `[ "$2" = apply ] && { echo "Error: creating AKS node pool: quota exceeded" >&2; exit 1; }; echo ok`,
  );
  await assert.rejects(
    terraformAdapter.run(terraformAdapter.schema.parse({ dir, binary: failing, init: false }), stepContext()),
    /exited with 1: Error: creating AKS node pool: quota exceeded/,
  );
});

test('helm runs upgrade --install with context, values and --wait, and reports the revision', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-helm-'));
  const values = join(dir, 'dr-values.yaml');
  writeFileSync(values, 'replicaCount: 3\n');
  const binary = standIn(
    dir,
    'helm',
    `echo "Release \\"shop\\" has been upgraded. Happy Helming!"; echo "NAME: shop"; echo "STATUS: deployed"; echo "REVISION: 4"`,
  );
  const params = helmAdapter.schema.parse({
    release: 'shop',
    chart: 'oci://registry.example.com/charts/shop',
    namespace: 'prod',
    version: '1.8.2',
    values_files: [values],
    set: { 'image.tag': 'v42', 'db.host': 'dr-db.postgres.database.azure.com' },
    kube_context: 'dr-aks',
    wait_timeout: '10m',
    binary,
  });
  assert.ok((await helmAdapter.preflight(params, preflightContext())).every((c) => c.ok));
  const result = await helmAdapter.run(params, stepContext());
  assert.equal(result.summary, 'release shop in prod: deployed, revision 4');
  assert.equal(
    readFileSync(join(dir, 'helm.calls'), 'utf8').trim(),
    `upgrade --install shop oci://registry.example.com/charts/shop --namespace prod --create-namespace --kube-context dr-aks --version 1.8.2 --values ${values} --set image.tag=v42 --set db.host=dr-db.postgres.database.azure.com --wait --timeout 600s`,
  );
  const missing = await helmAdapter.preflight(
    { ...params, binary: 'helm-not-installed' },
    preflightContext(),
  );
  assert.equal(missing[0].ok, false);
});
