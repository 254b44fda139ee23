import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The node arguments that start one of the lab's daemons (`daemon.ts <role>`): from dist when this code
 * runs from dist, from source through tsx when it runs from source (tests, `npm run dev`).
 */
export function daemonArgs(role: string, marker: string[]): string[] {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const entry = join(dirname(here), fromSource ? 'daemon.ts' : 'daemon.js');
  const prefix = fromSource ? ['--import', import.meta.resolve('tsx')] : [];
  return [...prefix, entry, role, ...marker];
}
