import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needTool } from '../../../test/helpers/tools.js';
import { findExecutable } from '../shared/process.js';
import { stepContext } from '../shared/test-context.js';
import { terraformParamsSchema } from './config.js';
import { terraformDrill } from './drill.js';

const binary = findExecutable('terraform', process.env);
const skip = needTool(
  !binary,
  'terraform',
  'install Terraform (https://developer.hashicorp.com/terraform/install)',
);

/** A real Terraform configuration that needs no provider download: the built-in terraform_data resource. */
const STACK = `variable "node_count" { default = 3 }
variable "name_suffix" { default = "" }
resource "terraform_data" "dr_cluster" { input = "aks-dr\${var.name_suffix}-\${var.node_count}-\${terraform.workspace}" }
output "cluster" { value = terraform_data.dr_cluster.output }
`;

function tf(dir: string, ...args: string[]): string {
  const r = spawnSync(binary!, [`-chdir=${dir}`, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test(
  'the terraform rehearsal applies in a drill workspace and cleanup destroys and deletes it; the live workspace and the selection are untouched',
  { skip },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phoenix-tf-drill-'));
    writeFileSync(join(dir, 'main.tf'), STACK);
    const params = terraformParamsSchema.parse({
      dir,
      binary,
      workspace: 'dr',
      vars: { node_count: 6 },
      drill: { vars: { name_suffix: '-drill' } },
    });
    // The live workspace already holds the real DR cluster.
    tf(dir, 'init', '-input=false', '-no-color');
    tf(dir, 'workspace', 'new', 'dr');
    tf(dir, 'apply', '-input=false', '-no-color', '-auto-approve', '-var=node_count=6');
    const liveState = tf(dir, 'state', 'pull');
    tf(dir, 'workspace', 'select', 'default');

    const ctx = stepContext({ runId: 'drill-tf-1' });
    const result = await terraformDrill.rehearse(params, { ...ctx, rehearsed: {} });
    assert.match(
      result.summary,
      /^drill: workspace dr-drill: .*Plan: 1 to add, 0 to change, 0 to destroy\. → Apply complete!/,
    );
    assert.equal(tf(dir, 'workspace', 'show').trim(), 'default', 'the selection is set back');
    tf(dir, 'workspace', 'select', 'dr-drill');
    assert.match(tf(dir, 'output', '-raw', 'cluster'), /^aks-dr-drill-6-dr-drill$/);
    tf(dir, 'workspace', 'select', 'dr');
    assert.equal(tf(dir, 'state', 'pull'), liveState, 'the live state is untouched');
    tf(dir, 'workspace', 'select', 'default');

    const cleaned = await terraformDrill.cleanup!(params, ctx);
    assert.deepEqual(cleaned.left, []);
    assert.match(
      cleaned.summary,
      /Destroy complete! Resources: 1 destroyed\. in workspace dr-drill; deleted the workspace, terraform no longer lists it/,
    );
    assert.doesNotMatch(tf(dir, 'workspace', 'list'), /dr-drill/);
    assert.equal(tf(dir, 'workspace', 'show').trim(), 'default');
    tf(dir, 'workspace', 'select', 'dr');
    assert.equal(tf(dir, 'state', 'pull'), liveState, 'the live state is untouched by the cleanup too');
    assert.deepEqual(await terraformDrill.cleanup!(params, ctx), {
      summary: 'workspace dr-drill does not exist: nothing to destroy',
      left: [],
    });
    await assert.rejects(
      terraformDrill.rehearse({ ...params, drill: { workspace: 'dr', vars: {} } }, { ...ctx, rehearsed: {} }),
      /the drill workspace dr is the live workspace; set drill.workspace/,
    );
  },
);
