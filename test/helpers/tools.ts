import { existsSync } from 'node:fs';

/**
 * The `skip` option for a test that needs an outside tool: skipped with the install hint on a
 * developer's machine, but under CI=true a missing tool throws, so the run fails instead of
 * passing without the test.
 */
export function needTool(missing: boolean, what: string, install: string): string | false {
  if (!missing) return false;
  const message = `${what} is missing; ${install}`;
  if (process.env.CI === 'true') throw new Error(`CI=true: ${message}`);
  return message;
}

/** needTool for executables found by path. */
export function needFiles(paths: string[], install: string): string | false {
  const absent = paths.filter((path) => !existsSync(path));
  return needTool(absent.length > 0, absent.join(', '), install);
}
