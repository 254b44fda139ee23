// Started by test/bench.cpu-burners.test.ts: spins `argv[2]` burners, prints their PIDs, then waits to be signalled.
import { startCpuBurners } from '../../bench/cpu-burners.js';

const burners = startCpuBurners(Number(process.argv[2]));
process.stdout.write(`${JSON.stringify(burners.pids)}\n`);
setInterval(() => undefined, 1000);
