import { startLabApp } from '../lab.js';
import type { DrillScenarioModule } from './types.js';

/** A broken release of our own app; infrastructure stays healthy: the controller must decline DR. */
export const badDeploy: DrillScenarioModule = {
  countsLoss: false,
  async inject(session) {
    session.progress(
      'FAULT: release "broken" is deployed to the primary app (a bug in our own code; infrastructure healthy)',
    );
    await session.changes.record({
      at: Date.now() / 1000,
      kind: 'deploy',
      service: 'app',
      description: 'app release broken rolled out to the primary site',
      source: 'drill',
    });
    session.state.apps!.primary = await startLabApp(session.state, 'primary', 'broken');
  },
  async watch(session, limits) {
    const watch = limits.watchCycles;
    await session.waitFor(
      () => session.after().length >= watch,
      (watch + 4) * session.interval * 1000,
      `${watch} cycles after the fault`,
    );
    return { rtoS: null };
  },
};
