import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** A main file whose runbooks live in their own file: dr_failover needs a secret, region_failover none. */
export function writeSecretFiles(dir: string, name: string, main: Record<string, unknown> = {}): string {
  const runbooks = join(dir, `${name}-runbooks.yaml`);
  writeFileSync(
    runbooks,
    stringify({
      dr_failover: {
        stages: [
          {
            name: 'call',
            steps: [
              {
                name: 'tell-api',
                type: 'command',
                params: { command: 'true', env: { TOKEN: '${aws-sm:prod/api}' } },
              },
            ],
          },
        ],
      },
      region_failover: {
        stages: [{ name: 'noop', steps: [{ name: 'noop', type: 'command', params: { command: 'true' } }] }],
      },
    }),
  );
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      topology: {
        primary: { cloud: 'aws', region: 'us-east-1' },
        dr: { cloud: 'azure', region: 'westeurope' },
      },
      store: { path: join(dir, `${name}.db`) },
      runbooks: { file: runbooks },
      ...main,
    }),
  );
  return file;
}
