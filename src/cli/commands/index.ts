import type { Command } from 'commander';
import { registerReplay } from './replay.js';
import { registerValidate } from './validate.js';
import { registerLab } from './lab.js';

/** Every subcommand, one module each. Adding a command touches its own file and this list. */
export const COMMANDS: Array<(program: Command) => void> = [registerReplay, registerValidate, registerLab];
