import type { Command } from 'commander';
import { DEFAULT_LAB_DIR, labDown, labStatus, labUp, type LabStatus } from '../../lab/index.js';
import { UserError } from '../errors.js';

function printStatus(status: LabStatus): void {
  if (!status.exists) {
    process.stdout.write(`no lab in ${status.dir} (start one with \`phoenix lab up\`)\n`);
    return;
  }
  process.stdout.write(`lab in ${status.dir}, zone ${status.zone}\n`);
  const width = Math.max(...status.components.map((c) => c.name.length));
  for (const component of status.components) {
    process.stdout.write(
      `  ${component.up ? 'up  ' : 'DOWN'}  ${component.name.padEnd(width)}  ${component.detail}\n`,
    );
  }
}

export function registerLab(program: Command): void {
  const lab = program
    .command('lab')
    .description(
      'a local two-site lab (PostgreSQL primary + logical subscriber or standby, S3 + Azure Blob, BIND, sample app)',
    );

  lab
    .command('up')
    .description('build and start the lab; its state lives in --dir')
    .option('--dir <path>', 'lab directory', DEFAULT_LAB_DIR)
    .option(
      '--replication <mode>',
      'the DR database: logical (subscriber, as RDS → Azure) | physical (streaming standby)',
      'logical',
    )
    .option('--json', 'print the lab state as JSON')
    .action(async (options: { dir: string; json?: boolean; replication: string }) => {
      if (options.replication !== 'logical' && options.replication !== 'physical')
        throw new UserError(`unknown --replication "${options.replication}"; use logical or physical`);
      const state = await labUp({
        dir: options.dir,
        replication: options.replication,
        progress: (message) => {
          if (!options.json) process.stderr.write(`lab: starting ${message}\n`);
        },
      }).catch((error: Error) => {
        throw new UserError(`lab up failed: ${error.message}`);
      });
      if (options.json) {
        process.stdout.write(JSON.stringify(await labStatus({ dir: state.dir })) + '\n');
      } else {
        printStatus(await labStatus({ dir: state.dir }));
        process.stdout.write(
          `stop it with: phoenix lab down${options.dir === DEFAULT_LAB_DIR ? '' : ` --dir ${options.dir}`}\n`,
        );
      }
    });

  lab
    .command('down')
    .description('stop everything the lab started and remove its directory (safe to repeat)')
    .option('--dir <path>', 'lab directory', DEFAULT_LAB_DIR)
    .option('--json', 'print what was stopped as JSON')
    .action(async (options: { dir: string; json?: boolean }) => {
      const result = await labDown({ dir: options.dir }).catch((error: Error) => {
        throw new UserError(`lab down failed: ${error.message}`);
      });
      if (options.json) process.stdout.write(JSON.stringify(result) + '\n');
      else
        process.stdout.write(
          result.stopped.length
            ? `stopped ${result.stopped.join(', ')}; removed ${result.dir}\n`
            : `nothing was running; removed ${result.dir}\n`,
        );
    });

  lab
    .command('status')
    .description('show each lab component and whether it is up')
    .option('--dir <path>', 'lab directory', DEFAULT_LAB_DIR)
    .option('--json', 'print the status as JSON')
    .action(async (options: { dir: string; json?: boolean }) => {
      const status = await labStatus({ dir: options.dir });
      if (options.json) process.stdout.write(JSON.stringify(status) + '\n');
      else printStatus(status);
    });
}
