// Runs one reprotect step in its own process, so a test can SIGKILL it mid-way and resume it.
// argv: params JSON, work directory. Progress lines go to stdout as they happen.
import { databaseAdapter } from '../../src/actions/database/database.js';
import { databaseParamsSchema } from '../../src/actions/database/config.js';
import { stepContext } from '../../src/actions/shared/test-context.js';

const [params, workDir] = process.argv.slice(2);
const ctx = stepContext({ workDir, progress: (m) => process.stdout.write(`${m}\n`) });
await databaseAdapter.run(databaseParamsSchema.parse(JSON.parse(params)), ctx);
process.stdout.write('done\n');
