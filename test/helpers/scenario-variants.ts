import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { createAnalyzer } from '../../src/analysis/index.js';
import { defaultConfig, type PhoenixConfig } from '../../src/config/index.js';
import {
  findScenarioFiles,
  parseScenario,
  replayScenario,
  type ReplayResult,
} from '../../src/replay/index.js';
import { OWN_SCENARIOS, PUBLIC_CORPUS } from './paths.js';

/** A scenario document as read from YAML, loose enough for the tests to rewrite. */
export interface ScenarioDoc {
  name: string;
  interval?: string | number;
  topology?: Record<string, Record<string, unknown> | undefined>;
  steps: Array<{
    at: string | number;
    signals?: Record<string, Record<string, unknown>>;
    context?: Record<string, unknown> & { logs?: Array<{ line?: string; service?: string; level?: string }> };
  }>;
  expect: Record<string, unknown>;
}

/** Every scenario the decision tests cover: the public corpus and ours (held-out ones included). */
export function allScenarioFiles(): string[] {
  return findScenarioFiles([PUBLIC_CORPUS, OWN_SCENARIOS]);
}

export function loadDoc(file: string): ScenarioDoc {
  return parse(readFileSync(file, 'utf8')) as ScenarioDoc;
}

export async function replayDoc(
  doc: ScenarioDoc,
  file: string,
  config: PhoenixConfig = defaultConfig(),
): Promise<ReplayResult> {
  return replayScenario(parseScenario(structuredClone(doc), file), {
    config,
    analyzer: () => createAnalyzer('evidence', config),
  });
}
