import type { Command } from 'commander';
// The lab's own modules, not its barrel: that also exports the in-process object stores and sync.
import {
  DEFAULT_LAB_DIR,
  labDown,
  labStatus,
  labUp,
  type LabPostgresVersions,
  type LabStatus,
} from '../../lab/lab.js';
import { readLabState, type LabState } from '../../lab/state.js';
import { LAB_FAULTS, labFault, type LabFault } from '../../lab/faults.js';
import { UserError } from '../errors.js';
import { print, printErr } from '../output.js';

function printStatus(status: LabStatus): void {
  if (!status.exists) {
    print(`no lab in ${status.dir} (start one with \`phoenix lab up\`)\n`);
    return;
  }
  print(`lab in ${status.dir}, zone ${status.zone}\n`);
  const width = Math.max(...status.components.map((c) => c.name.length));
  for (const component of status.components) {
    print(`  ${component.up ? 'up  ' : 'DOWN'}  ${component.name.padEnd(width)}  ${component.detail}\n`);
  }
}

interface LabUpFlags {
  dir: string;
  json?: boolean;
  replication: string;
  postgres?: string;
  drPostgres?: string;
}

/** `--postgres N` and `--dr-postgres N` as majors; the lab refuses one it cannot run, naming the fix. */
export function postgresVersions(flags: { postgres?: string; drPostgres?: string }): LabPostgresVersions {
  const major = (flag: string, value?: string) => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value))
      throw new UserError(`${flag} takes a PostgreSQL major version (13 to 17), not "${value}"`);
    return Number(value);
  };
  return { primary: major('--postgres', flags.postgres), dr: major('--dr-postgres', flags.drPostgres) };
}

/** What `lab up` prints: the controller to run, the dashboard to open, the faults to try. */
function tour(state: LabState, dirFlag: string): string {
  return [
    '',
    'Watch a decision form (two terminals):',
    `  1. phoenix run --config ${state.configFile}`,
    `  2. phoenix lab fault regional-outage${dirFlag}    (or bad-deploy, zone-loss; then: phoenix lab fault heal${dirFlag})`,
    `Open the dashboard: http://127.0.0.1:${state.dashboardPort}/`,
    `A failover waits for your approval there (or phoenix approve RUN_ID --config ${state.configFile}).`,
    `Stop it all with: phoenix lab down${dirFlag}`,
    '',
  ].join('\n');
}

/** `phoenix lab fault NAME`: a reversible fault in the running lab (src/lab/faults.ts). */
function registerLabFault(lab: Command): void {
  lab
    .command('fault')
    .description('inject a fault into the running lab while a controller watches it; heal clears it')
    .argument('<fault>', LAB_FAULTS.join(' | '))
    .option('--dir <path>', 'lab directory', DEFAULT_LAB_DIR)
    .action(async (fault: string, options: { dir: string }) => {
      if (!LAB_FAULTS.includes(fault as LabFault))
        throw new UserError(`unknown fault "${fault}"; use one of ${LAB_FAULTS.join(', ')}`);
      const state = readLabState(options.dir);
      if (!state) throw new UserError(`no lab in ${options.dir}; start one with \`phoenix lab up\``);
      const done = await labFault(state, fault as LabFault).catch((error: Error) => {
        throw new UserError(`lab fault ${fault} failed: ${error.message}`);
      });
      print(`${done}\n`);
    });
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
    .option('--postgres <major>', "the primary's PostgreSQL: 13, 14, 15, 16 or 17 (default: Debian's)")
    .option('--dr-postgres <major>', "the DR database's PostgreSQL (logical replication only)")
    .option('--json', 'print the lab state as JSON')
    .action(async (options: LabUpFlags) => {
      if (options.replication !== 'logical' && options.replication !== 'physical')
        throw new UserError(`unknown --replication "${options.replication}"; use logical or physical`);
      const state = await labUp({
        dir: options.dir,
        replication: options.replication,
        postgres: postgresVersions(options),
        progress: (message) => {
          if (!options.json) printErr(`lab: starting ${message}\n`);
        },
      }).catch((error: Error) => {
        throw new UserError(`lab up failed: ${error.message}`);
      });
      if (options.json) {
        print(JSON.stringify(await labStatus({ dir: state.dir })) + '\n');
      } else {
        printStatus(await labStatus({ dir: state.dir }));
        print(tour(state, options.dir === DEFAULT_LAB_DIR ? '' : ` --dir ${options.dir}`));
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
      if (options.json) print(JSON.stringify(result) + '\n');
      else
        print(
          result.stopped.length
            ? `stopped ${result.stopped.join(', ')}; removed ${result.dir}\n`
            : `nothing was running; removed ${result.dir}\n`,
        );
    });

  registerLabFault(lab);

  lab
    .command('status')
    .description('show each lab component and whether it is up')
    .option('--dir <path>', 'lab directory', DEFAULT_LAB_DIR)
    .option('--json', 'print the status as JSON')
    .action(async (options: { dir: string; json?: boolean }) => {
      const status = await labStatus({ dir: options.dir });
      if (options.json) print(JSON.stringify(status) + '\n');
      else printStatus(status);
    });
}
