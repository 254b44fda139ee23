import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../config/index.js';
import type { SignalSnapshot, SiteRole } from '../../core/index.js';
import { scoreSnapshot } from '../../scoring/index.js';
import type { AnalysisInput } from '../analyzer.js';
import { buildPrompt } from './prompt.js';

const config = defaultConfig();
const SIGNALS: SignalSnapshot = { external_uptime: { status: 'error', up: 0, total: 3 } };

function promptFor(site?: SiteRole) {
  const score = scoreSnapshot(SIGNALS, config.scoring);
  const input: AnalysisInput = {
    now: 1_000,
    signals: SIGNALS,
    context: {},
    topology: config.topology,
    site,
    score,
    history: [],
    decision: config.decision,
    interval_s: config.interval_s,
  };
  return buildPrompt(input, { maxChars: 100_000, nonce: 'abcdef012345' });
}

test('the prompt says which site serves, and the rules read "the primary cloud" as the serving site\'s', () => {
  assert.match(promptFor('dr').user, /"serving_site": "dr"/);
  assert.match(promptFor().user, /"serving_site": "primary"/);
  assert.match(promptFor('dr').system, /serving_site/);
});
