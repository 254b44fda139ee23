import type { SecretReader } from './stores.js';
import { referenceRegion, type SecretReference } from './references.js';

/**
 * The configuration's secret values, read once at start-up and again every
 * `refreshMs`, so a runbook in the middle of an outage uses the last value it
 * read instead of asking a store that may be down. A refresh that fails keeps
 * the previous value and records why.
 */
export class SecretCache {
  private readonly values = new Map<string, string>();
  readonly failures = new Map<string, string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly read: SecretReader,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Reads every reference (in parallel); rejects listing each one that has no value at all. */
  async load(refs: SecretReference[]): Promise<Map<string, string>> {
    await Promise.all(
      refs.map(async (ref) => {
        try {
          this.values.set(ref.text, await this.read(ref, AbortSignal.timeout(this.timeoutMs)));
          this.failures.delete(ref.text);
        } catch (error) {
          this.failures.set(ref.text, (error as Error).message);
        }
      }),
    );
    const missing = refs
      .filter((r) => !this.values.has(r.text))
      .map((r) => this.failures.get(r.text) ?? r.text);
    if (missing.length) throw new Error(missing.join('; '));
    return new Map(this.values);
  }

  get(text: string): string | undefined {
    return this.values.get(text);
  }

  /** Refreshes every `refreshMs` until `stop`; `onRefresh` hears of each round's failures. */
  start(
    refs: SecretReference[],
    refreshMs: number,
    onRefresh?: (failures: Map<string, string>) => void,
  ): void {
    this.stop();
    this.timer = setInterval(() => {
      void this.load(refs).then(
        () => onRefresh?.(new Map()),
        () => onRefresh?.(new Map(this.failures)),
      );
    }, refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * A DR runbook must not depend on a secret that lives only in the region that
 * is failing (DESIGN principle 10). `regionsOf` lists where a secret is held
 * (its own region and its replicas: Secrets Manager DescribeSecret's
 * ReplicationStatus); Key Vault secrets live in the DR cloud and pass.
 */
export async function secretsOnlyInPrimary(
  refs: SecretReference[],
  primaryRegion: string,
  regionsOf: (ref: SecretReference) => Promise<string[]>,
): Promise<string[]> {
  const warnings: string[] = [];
  for (const ref of refs) {
    if (ref.store !== 'aws-sm') continue;
    const regions = await regionsOf(ref).catch(() => [referenceRegion(ref) ?? '']);
    if (regions.every((r) => r === primaryRegion))
      warnings.push(
        `${ref.text} is held only in ${primaryRegion}, the primary region: replicate it to another region (Secrets Manager ReplicateSecretToRegions) or keep it in Key Vault`,
      );
  }
  return warnings;
}
