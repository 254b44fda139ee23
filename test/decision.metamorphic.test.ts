import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allScenarioFiles, loadDoc, replayDoc } from './helpers/scenario-variants.js';
import { VARIANTS } from './helpers/metamorphic.js';

// Each variant rewrites a scenario without changing what happened: the outcome must not change.
const files = allScenarioFiles();

for (const [variant, transform] of Object.entries(VARIANTS)) {
  test(`${variant}: every scenario keeps its outcome`, async () => {
    const failures: string[] = [];
    for (const file of files) {
      const doc = loadDoc(file);
      const result = await replayDoc(transform(doc), file);
      if (!result.met) failures.push(`${doc.name}: ${result.problems.join('; ')}`);
    }
    assert.deepEqual(failures, [], `${failures.length} of ${files.length} scenarios changed outcome`);
  });
}
