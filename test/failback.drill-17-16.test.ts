import { failbackDrillTest } from './helpers/failback-drill.js';

// A new publisher with an older subscriber: the way back then replicates from 16 into 17.
failbackDrillTest(17, 16);
