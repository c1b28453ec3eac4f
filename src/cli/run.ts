// The plugin's composition: argv -> command -> handler, with errors turned into messages and exit
// codes. main.ts supplies the real process; tests supply fakes.
import { resolve, commandHelp, groupHelp, type CommandSpec } from './args.js';
import type { Context } from './context.js';
import { usageError } from '../client/errors.js';
import { EXIT, exitCodeOf } from './errors.js';
import { errorMessage } from '../errors.js';
import { escapeControls, type OutputFormat } from './format.js';
import type { ConnectionOptions, GatehouseClient, KubeContextInfo } from '../client/kube.js';
import type { PostToken } from './login.js';
import { credentialCommands } from './commands/credentials.js';
import { userCommands } from './commands/users.js';
import { roleCommands } from './commands/roles.js';
import { teamCommands } from './commands/teams.js';
import { permissionCommands } from './commands/permissions.js';
import { accessCommands } from './commands/access.js';
import { consoleCommands } from './commands/console.js';
import { policyCommands } from './commands/policy.js';
import { reviewCommands } from './commands/review.js';
import { requestCommands } from './commands/requests.js';

export interface CliDeps {
  stdout(text: string): void;
  stderr(text: string): void;
  now(): number;
  readFile(file: string): string;
  /** A folder's entries, or undefined when it is not a folder (`--from DIR`). */
  listDir?(dir: string): string[] | undefined;
  makeClient(opts: ConnectionOptions): GatehouseClient;
  /** For activate and token rotate; commands that need them fail with a usage error when absent. */
  writeFile?(file: string, text: string): void;
  defaultKubeconfig?(): string;
  postToken?: PostToken;
  /** The kubeconfig's contexts (fleet questions, issue 30); absent: `--contexts` is not available. */
  listContexts?(opts: Pick<ConnectionOptions, 'kubeconfig'>): KubeContextInfo[];
}

function unavailable(what: string): never {
  throw usageError(`${what} is not available here`);
}

export const EXIT_CODES_HELP = `Exit codes:
  0   success (can-i, explain: allowed)
  1   can-i, explain: not allowed; lint: an error found; test: an expectation failed; diff: access changed (with --exit-code)
  2   usage error (unknown command or flag, bad value, unreadable --config or kubeconfig)
  3   the API server refused or failed (forbidden, not found, CRDs not installed, unreachable)
With --contexts/--all-contexts (can-i, explain, who-can, user show): 0 every cluster answered (yes; user show: found),
  1 every cluster answered and one said no (user show: not found), 3 one cluster could not be asked (unreachable,
  timed out, refused the plugin's reads): never counted as a no
`;

export const COMMANDS: ReadonlyArray<CommandSpec<Context>> = [...userCommands, ...roleCommands, ...teamCommands, ...permissionCommands, ...accessCommands, ...credentialCommands, ...consoleCommands, ...policyCommands, ...reviewCommands, ...requestCommands];

/** Commands whose --as/--as-group name the user asked about, not an impersonation. */
const SUBJECT_COMMANDS = new Set(['can-i', 'explain', 'who-can', 'lint', 'test', 'diff']);

export async function run(argv: readonly string[], rawDeps: CliDeps): Promise<number> {
  // Every byte the plugin prints passes the one escape (format.ts escapeControls): object fields,
  // server messages and errors alike.
  const deps: CliDeps = { ...rawDeps, stdout: (t) => rawDeps.stdout(escapeControls(t, true)), stderr: (t) => rawDeps.stderr(escapeControls(t, true)) };
  try {
    const res = resolve(argv, COMMANDS);
    if (res.kind === 'help') {
      if (res.command) deps.stdout(commandHelp(res.command as CommandSpec<unknown>));
      else deps.stdout(groupHelp(res.prefix, COMMANDS as ReadonlyArray<CommandSpec<unknown>>, EXIT_CODES_HELP));
      return EXIT.ok;
    }
    const { command, positionals, values } = res.parsed;
    const output = typeof values['output'] === 'string' ? values['output'] : 'table';
    // csv: only `review` prints it (it reads -o itself); elsewhere it is a usage error.
    if (!['table', 'yaml', 'json', 'wide', ...(command.path[0] === 'review' ? ['csv'] : [])].includes(output)) throw usageError(`-o ${output}: use yaml or json (or leave it out for a table)`);
    const format: OutputFormat = output === 'wide' || output === 'csv' ? 'table' : (output as OutputFormat);
    const subjectMode = SUBJECT_COMMANDS.has(command.path[0] ?? '');
    const conn: ConnectionOptions = {
      ...(typeof values['kubeconfig'] === 'string' ? { kubeconfig: values['kubeconfig'] } : {}),
      ...(typeof values['context'] === 'string' ? { context: values['context'] } : {}),
      ...(!subjectMode && typeof values['as'] === 'string' ? { as: values['as'] } : {}),
      ...(!subjectMode && Array.isArray(values['as-group']) ? { asGroups: values['as-group'] } : {}),
    };
    let client: GatehouseClient | undefined;
    const ctx: Context = {
      args: positionals,
      values,
      format,
      client: () => (client ??= deps.makeClient(conn)),
      out: deps.stdout,
      err: deps.stderr,
      now: deps.now,
      readFile: deps.readFile,
      ...(deps.listDir ? { listDir: deps.listDir } : {}),
      writeFile: deps.writeFile ?? (() => unavailable('writing files')),
      defaultKubeconfig: deps.defaultKubeconfig ?? (() => unavailable('a default kubeconfig')),
      postToken: deps.postToken ?? (() => unavailable('the network')),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      ...(deps.listContexts ? { kubeContexts: () => deps.listContexts!(conn) } : {}),
      clientFor: (context) => deps.makeClient({ ...conn, context }),
    };
    return await command.run(ctx);
  } catch (err) {
    // The client core's errors carry a stable code the exit code follows; anything else exits 3.
    deps.stderr(`error: ${errorMessage(err)}\n`);
    return exitCodeOf(err);
  }
}
