import { haScenarios } from './helpers/ha-world.js';

// Three real `phoenix run` processes share a scratch schema of the PostgreSQL on
// 127.0.0.1:5432 (store.driver postgres, store.url given as ${PHX_PG_URL}); the same
// scenarios run on a SQLite file in ha.controllers.test.ts.
haScenarios('postgres');
