// Leader takeover under SIGKILL (`phoenix run`, the built product; build first: npm run build).
//   npm run bench:ha [-- --kills N --ttl S --store sqlite|postgres --json]
//     kills the leader inside a step held open by the bench, between its journal writes (bench/ha-between-steps.ts)
//   npm run bench:ha -- --kill-anywhere [--kills N --ttl S --seed N --json]
//     kills it at uniformly random instants over runbooks of every step type the stand-ins host, and
//     compares what the steps did with a run never killed (bench/ha-kill-anywhere.ts)
if (process.argv.includes('--kill-anywhere')) await import('./ha-kill-anywhere.js');
else await import('./ha-between-steps.js');
