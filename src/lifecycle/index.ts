export {
  INITIAL_STATE,
  LifecycleRefusal,
  SITE_STATES,
  nextAction,
  refusalFor,
  servingState,
  transition,
  type Cause,
  type FenceState,
  type OldPrimary,
  type Site,
  type SiteEvent,
  type SiteState,
  type SiteStateName,
} from './state.js';
export { activePause, pauseRefusal, type Pause } from './pause.js';
export { SiteStateStore, LIFECYCLE_MIGRATIONS, type SiteEventRecord } from './store.js';
