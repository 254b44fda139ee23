import { secretsOnlyInPrimary } from './cache.js';
import { findReferences, type SecretReference } from './references.js';

/** Runbooks as written in the `runbooks:` section: every key holding `stages` is one. */
function runbookSections(written: unknown): Array<[string, unknown]> {
  if (!written || typeof written !== 'object') return [];
  return Object.entries(written).filter(
    ([, v]) => v !== null && typeof v === 'object' && 'stages' in (v as object),
  );
}

/**
 * For each runbook, the secrets it depends on that are held only in the
 * primary region: exactly what the runbook cannot read when that region is
 * down. `written` is the `runbooks:` section before the references are
 * resolved (`loadConfig(file).raw.runbooks`).
 */
export async function runbookSecretsOnlyInPrimary(
  written: unknown,
  primaryRegion: string | undefined,
  regionsOf: (ref: SecretReference) => Promise<string[]>,
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (!primaryRegion) return out;
  for (const [name, section] of runbookSections(written)) {
    const refs = [...findReferences(section).values()].filter(
      (r): r is SecretReference => typeof r !== 'string',
    );
    const warnings = await secretsOnlyInPrimary(refs, primaryRegion, regionsOf);
    if (warnings.length) out.set(name, warnings);
  }
  return out;
}

/** Adds each runbook's primary-only secrets to its readiness as problems: the runbook is not ready for DR. */
export function withSecretResidency<T extends { runbook: string; ok: boolean; problems: string[] }>(
  readiness: T[],
  warnings: Map<string, string[]>,
): T[] {
  return readiness.map((r) => {
    const found = warnings.get(r.runbook);
    return found ? { ...r, ok: false, problems: [...r.problems, ...found] } : r;
  });
}
