import type { CommandSpec } from '../args.js';
import type { Context } from '../context.js';

export const accessCommands: ReadonlyArray<CommandSpec<Context>> = [];
