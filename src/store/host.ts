import { hostname } from 'node:os';

/**
 * The name this controller's host goes by in the store: in the lease holder (`host:pid:nonce`), a run's
 * owner and a step's process groups. Other controllers use it to decide whether a pid can be checked
 * (the same host) or only the lease and the heartbeat can tell (another host). `PHOENIX_HOST_ID` replaces
 * `os.hostname()` where that is not unique per machine: containers started with the same `--hostname`,
 * or several controllers on one machine that must behave as on separate hosts (tests, benches).
 */
export function hostId(): string {
  const configured = process.env.PHOENIX_HOST_ID;
  if (configured === undefined || configured === '') return hostname();
  if (!/^[A-Za-z0-9._-]{1,253}$/.test(configured))
    throw new Error(
      `PHOENIX_HOST_ID ${JSON.stringify(configured.slice(0, 80))} is not a host name: use letters, digits, '.', '_' and '-' only (no ':', which separates host, pid and nonce in the lease holder), or unset it to use the machine's hostname`,
    );
  return configured;
}
