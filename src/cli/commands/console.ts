// `kubectl gatehouse console`: the web console on loopback, acting with the caller's own kubeconfig
// identity (the same client every other command uses). It runs until interrupted.
import { spawn } from 'node:child_process';
import type { CommandSpec } from '../args.js';
import { type Context, str, strs, flag } from '../context.js';
import { usageError } from '../../client/errors.js';
import { policyFrom } from '../../client/world.js';
import { startConsoleServer } from '../../console/server.js';

/** Hands the URL to the desktop's browser; a machine without one just shows the printed URL. */
function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    /* no opener: the printed URL is enough */
  }
}

async function consoleCmd(ctx: Context): Promise<number> {
  const portText = str(ctx, 'port') ?? '0';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw usageError(`--port must be a port number (0 picks a free one), got ${JSON.stringify(portText)}`);
  const policy = policyFrom(str(ctx, 'config'), ctx.readFile);
  const kube = ctx.client();
  // Clusters before 1.27 cannot say who the kubeconfig is (no SelfSubjectReview); with --as the
  // console still knows whom it acts as, for the page's "signed in as".
  const as = str(ctx, 'as');
  const client = { ...kube, whoAmI: async () => (await kube.whoAmI()) ?? (as ? { user: as, groups: strs(ctx, 'as-group') } : undefined) };
  const server = await startConsoleServer({ mode: 'local', host: '127.0.0.1', port, clientFor: () => client, policy, now: ctx.now });
  ctx.out(`Gatehouse console for ${client.server}, acting as your kubeconfig identity:\n  ${server.url}\n`);
  ctx.out('The link works once (it becomes a cookie in the browser that opens it). Press Ctrl-C to stop.\n');
  if (!flag(ctx, 'no-open')) openBrowser(server.url);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

export const consoleCommands: ReadonlyArray<CommandSpec<Context>> = [
  {
    path: ['console'], args: [], summary: 'Open the web console (approvals, users, teams, roles, access) on loopback, as you',
    description: 'Serves the console on 127.0.0.1 and prints its URL with a one-time token. Every change goes through the API server as your kubeconfig identity, so the admission webhook checks it; the console has no power of its own.',
    options: {
      port: { type: 'string', value: 'PORT', description: 'port on 127.0.0.1 (default: a free one)' },
      'no-open': { type: 'boolean', description: 'do not open a browser; just print the URL' },
      config: { type: 'string', value: 'FILE', description: "the operator's configuration file, for the Access page's answers (seed admins, project roles, defaults)" },
    },
    examples: ['kubectl gatehouse console', 'kubectl gatehouse console --port 8765 --no-open --context prod'],
    run: consoleCmd,
  },
];
