import { failbackDrillTest } from './helpers/failback-drill.js';

// An old publisher with a newer subscriber: RDS and Azure each offer PostgreSQL 13-17.
failbackDrillTest(13, 17);
