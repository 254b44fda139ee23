import { readFileSync, statSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError } from './errors.js';

/**
 * The largest configuration or runbooks file read. The biggest real one is a few tens of kilobytes; a
 * file of megabytes is a mistake (a log or a dump passed by accident) and validating it would take
 * seconds and gigabytes before saying anything useful.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** The yaml library's own default: plenty for anchors shared between runbooks, far below an alias bomb. */
const MAX_ALIAS_COUNT = 100;

function unreadable(file: string, error: unknown, notFound: string): ConfigError {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? notFound
      : code === 'EACCES'
        ? 'permission denied; make the file readable by this user'
        : code === 'EISDIR'
          ? 'is a directory; pass the YAML file inside it'
          : `cannot read (${code ?? String(error)})`;
  return new ConfigError(file, [{ path: '', message: why }]);
}

function readText(file: string, notFound: string): string {
  try {
    const size = statSync(file).size;
    if (size > MAX_CONFIG_BYTES)
      throw new ConfigError(file, [
        {
          path: '',
          message: `${size} bytes is more than a configuration file holds (at most ${MAX_CONFIG_BYTES}); pass the YAML configuration, not another file`,
        },
      ]);
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw unreadable(file, error, notFound);
  }
}

/**
 * Reads and parses one YAML file of the configuration (the main file or `runbooks.file`). An empty file
 * is refused: starting on nothing but defaults is never what was meant.
 */
export function readConfigDocument(
  file: string,
  notFound = 'file not found; check the path (examples/phoenix.yaml is a commented starting point)',
): unknown {
  const text = readText(file, notFound);
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const where = pos ? `line ${pos.line}, column ${pos.col}` : '';
        return {
          path: where,
          message: `YAML syntax error: ${e.message.split('\n')[0]}; fix the syntax there`,
        };
      }),
    );
  }
  let document: unknown;
  try {
    document = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // The yaml library counts alias expansions and stops a "billion laughs" document before it fills memory.
    if (!(error instanceof ReferenceError)) throw error;
    throw new ConfigError(file, [
      {
        path: '',
        message: `YAML aliases expand too far (${error.message}); write the repeated values out or use fewer aliases (at most ${MAX_ALIAS_COUNT})`,
      },
    ]);
  }
  if (document === null || document === undefined)
    throw new ConfigError(file, [
      {
        path: '',
        message:
          'the file is empty (or holds only comments); write the configuration (examples/phoenix.yaml is a commented starting point)',
      },
    ]);
  return document;
}
