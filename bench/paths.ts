import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root, found by walking up from this file: the benchmarks run both from
 * `bench/` (tsx) and compiled under `.bench/bench/`, so a fixed `..` would miss it in one of them.
 */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'tsconfig.bench.json'))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('cannot find the repository root (tsconfig.bench.json) above the benchmark');
    dir = parent;
  }
  return dir;
}

/** The built CLI the benchmarks drive, as users run it. */
export const BUILT_CLI = join(repoRoot(), 'dist', 'cli', 'main.js');
