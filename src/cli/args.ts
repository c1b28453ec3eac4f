// The command table's shape, argv -> (command, flags, positionals), and the help text. Pure.
import { parseArgs } from 'node:util';
import { usageError } from '../client/errors.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Shown in help: `--scope SCOPE`. */
  value?: string;
  description: string;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandSpec<Ctx> {
  /** The words that name it: ['role', 'assignment', 'list']. */
  path: readonly string[];
  /** Positionals as shown in help, e.g. ['NAME'] or ['USER...']; a trailing `...` takes one or more. */
  args: readonly string[];
  /** Positionals that may be left out (counted from the end of `args`). */
  optionalArgs?: number;
  summary: string;
  description?: string;
  options: Readonly<Record<string, OptionSpec>>;
  examples: readonly string[];
  run(ctx: Ctx): Promise<number>;
}

export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = Object.freeze({
  kubeconfig: { type: 'string', value: 'FILE', description: 'kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' },
  context: { type: 'string', value: 'NAME', description: 'kubeconfig context to use' },
  as: { type: 'string', value: 'USER', description: 'impersonate USER for the API calls (can-i/explain: the user to ask about)' },
  'as-group': { type: 'string', multiple: true, value: 'GROUP', description: 'impersonate GROUP too (can-i/explain: a group of the user asked about)' },
  output: { type: 'string', short: 'o', value: 'FORMAT', description: 'table (default), yaml or json' },
  help: { type: 'boolean', short: 'h', description: 'show help for the command' },
});

export interface Parsed<Ctx> {
  command: CommandSpec<Ctx>;
  positionals: string[];
  values: OptionValues;
}

/** What argv asked for: a command, or help for a prefix of the table (`user --help`, bare `role`). */
export type Resolution<Ctx> = { kind: 'command'; parsed: Parsed<Ctx> } | { kind: 'help'; prefix: string[]; command?: CommandSpec<Ctx> };

/**
 * Whether a flag takes the next token as its value, judged by the commands the words so far may
 * still name: a flag can be a string in one command and a boolean in another (`request --cluster`
 * vs `can-i --cluster NAME`), and only the command's own kind may swallow a word.
 */
function takesValue(name: string, table: ReadonlyArray<CommandSpec<unknown>>, words: readonly string[] = []): boolean {
  const candidates = table.filter((c) => words.every((w, i) => i >= c.path.length || c.path[i] === w));
  const all = [GLOBAL_OPTIONS, ...(candidates.length ? candidates : table).map((c) => c.options)];
  for (const opts of all) {
    for (const [long, spec] of Object.entries(opts)) {
      if ((name === `--${long}` || (spec.short && name === `-${spec.short}`)) && spec.type === 'string') return true;
    }
  }
  return false;
}

export function resolve<Ctx>(argv: readonly string[], table: ReadonlyArray<CommandSpec<Ctx>>): Resolution<Ctx> {
  // The command's words are the leading non-flag tokens, skipping the values of flags that take one.
  const words: Array<{ index: number; word: string }> = [];
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i] ?? '';
    if (tok === '--') break;
    if (tok.startsWith('-') && tok !== '-') {
      if (!tok.includes('=') && takesValue(tok, table as ReadonlyArray<CommandSpec<unknown>>, words.map((w) => w.word))) i++;
      continue;
    }
    words.push({ index: i, word: tok });
  }
  if (words[0]?.word === 'help') {
    return helpFor(words.slice(1).map((w) => w.word), table);
  }
  let best: CommandSpec<Ctx> | undefined;
  for (const cmd of table) {
    if (cmd.path.length <= words.length && cmd.path.every((p, i) => words[i]?.word === p) && (!best || cmd.path.length > best.path.length)) best = cmd;
  }
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  if (!best) {
    const prefix: string[] = [];
    for (const w of words) {
      if (table.some((c) => [...prefix, w.word].every((p, i) => c.path[i] === p))) prefix.push(w.word);
      else break;
    }
    if (!wantsHelp && words.length > prefix.length) {
      const next = [...new Set(table.filter((c) => prefix.every((p, i) => c.path[i] === p)).map((c) => c.path[prefix.length]).filter(Boolean))];
      throw usageError(`unknown command "${[...prefix, words[prefix.length]?.word].join(' ')}"; expected ${prefix.length ? prefix.join(' ') + ' ' : ''}${next.join('|')} (see --help)`);
    }
    return { kind: 'help', prefix };
  }
  if (wantsHelp) return { kind: 'help', prefix: [...best.path], command: best };
  const used = new Set(words.slice(0, best.path.length).map((w) => w.index));
  const rest = argv.filter((_, i) => !used.has(i));
  return { kind: 'command', parsed: parseFor(best, rest) };
}

function helpFor<Ctx>(words: string[], table: ReadonlyArray<CommandSpec<Ctx>>): Resolution<Ctx> {
  const exact = table.find((c) => c.path.length === words.length && c.path.every((p, i) => words[i] === p));
  return exact ? { kind: 'help', prefix: words, command: exact } : { kind: 'help', prefix: words };
}

function parseFor<Ctx>(command: CommandSpec<Ctx>, rest: string[]): Parsed<Ctx> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries({ ...GLOBAL_OPTIONS, ...command.options })) {
    options[name] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: true });
  } catch (err) {
    // node's messages name the flag; add where to look.
    throw usageError(`${(err as Error).message.replace(/\. To specify a positional.*$/s, '')} (see kubectl gatehouse ${command.path.join(' ')} --help)`);
  }
  const positionals = parsed.positionals;
  const variadic = command.args.some((a) => a.endsWith('...'));
  const min = command.args.length - (command.optionalArgs ?? 0);
  if (positionals.length < min) {
    throw usageError(`${command.path.join(' ')} needs ${command.args.slice(positionals.length, min).join(' ')} (see kubectl gatehouse ${command.path.join(' ')} --help)`);
  }
  if (!variadic && positionals.length > command.args.length) {
    throw usageError(`${command.path.join(' ')}: unexpected argument ${JSON.stringify(positionals[command.args.length])} (see kubectl gatehouse ${command.path.join(' ')} --help)`);
  }
  return { command, positionals, values: parsed.values as OptionValues };
}

function flagLine(name: string, spec: OptionSpec): [string, string] {
  const left = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
  return [left, spec.description + (spec.multiple ? ' (repeatable)' : '')];
}

function columns(rows: Array<[string, string]>, indent = '  '): string {
  const w = Math.max(0, ...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `${indent}${l.padEnd(w)}   ${r}`).join('\n');
}

export function commandHelp(cmd: CommandSpec<unknown>): string {
  const usage = `kubectl gatehouse ${cmd.path.join(' ')}${cmd.args.length ? ' ' + cmd.args.join(' ') : ''}${Object.keys(cmd.options).length ? ' [flags]' : ''}`;
  const parts = [`${cmd.summary}\n`, cmd.description ? `${cmd.description}\n` : '', `Usage:\n  ${usage}\n`];
  parts.push(`Examples:\n${cmd.examples.map((e) => `  ${e}`).join('\n')}\n`);
  if (Object.keys(cmd.options).length) parts.push(`Flags:\n${columns(Object.entries(cmd.options).map(([n, s]) => flagLine(n, s)))}\n`);
  parts.push(`Global flags:\n${columns(Object.entries(GLOBAL_OPTIONS).map(([n, s]) => flagLine(n, s)))}\n`);
  return parts.filter(Boolean).join('\n');
}

export function groupHelp(prefix: readonly string[], table: ReadonlyArray<CommandSpec<unknown>>, exitCodes: string): string {
  const cmds = table.filter((c) => prefix.every((p, i) => c.path[i] === p));
  const rows = cmds.map((c): [string, string] => [`${c.path.join(' ')}${c.args.length ? ' ' + c.args.join(' ') : ''}`, c.summary]);
  const head = prefix.length
    ? `kubectl gatehouse ${prefix.join(' ')}: ${cmds.length} command${cmds.length === 1 ? '' : 's'}\n`
    : 'kubectl gatehouse: users, teams, roles and role assignments of Gatehouse (iam.gatehouse.dev), acting with your own kubeconfig identity.\n';
  return `${head}\nCommands:\n${columns(rows)}\n\nRun \`kubectl gatehouse COMMAND --help\` for a command's flags and an example.\n\nGlobal flags:\n${columns(Object.entries(GLOBAL_OPTIONS).map(([n, s]) => flagLine(n, s)))}\n\n${exitCodes}`;
}
