// Gatehouse's own credentials from the CLI: invitations (with user create, or user invite),
// activate (redeem an invitation for a kubeconfig), token rotate, user revoke.
// How the CLI reaches the operator: an invitation or revocation is a request Secret in the
// operator's namespace (label iam.gatehouse.dev/credentials=request), which the operator fulfils
// and deletes; the invitation token is made here and only its hash is in the request, so the
// operator never sees it. Redemption and rotation are HTTPS calls to the proxy, authenticated by
// the token being redeemed or rotated; the new token leaves the operator only in that answer.
// Only the operator reads the users' hash Secrets; the CLI reads back nothing but its own request.
import { GROUP } from '../../api/types.js';
import type { CommandSpec } from '../args.js';
import { type Context, arg, str, flag } from '../context.js';
import { findObject } from '../../client/edits.js';
import { parseExpiry } from '../../client/assignments.js';
import { apiError, usageError } from '../../client/errors.js';
import { loadKubeConfig } from '../../client/kube.js';
import { contextName, parseCredential, withCredential, withToken, type TlsTrust } from '../login.js';
import { issueToken } from '../../credentials/token.js';

const CREDENTIALS_LABEL = `${GROUP}/credentials`;
const ERROR_ANNOTATION = `${GROUP}/error`;
const DISCOVERY_CONFIGMAP = 'gatehouse-credentials';
const ACTIVATE_PATH = '/gatehouse/v1/activate';
const ROTATE_PATH = '/gatehouse/v1/rotate';
/** How long the CLI waits for the operator to fulfil a request. */
const REQUEST_WAIT_MS = 30_000;

export const GATEHOUSE_NAMESPACE_OPTION = {
  'gatehouse-namespace': { type: 'string', value: 'NAMESPACE', description: "the operator's namespace (default gatehouse-system)" },
} as const;

function operatorNamespace(ctx: Context): string {
  return str(ctx, 'gatehouse-namespace') ?? 'gatehouse-system';
}

/** Creates a request Secret and waits until the operator has fulfilled (deleted) it. */
async function request(ctx: Context, data: Record<string, string>): Promise<void> {
  const ns = operatorNamespace(ctx);
  const client = ctx.client();
  const name = await client.createSecret(ns, { generateName: 'gatehouse-request-', labels: { [CREDENTIALS_LABEL]: 'request' }, stringData: data });
  const deadline = ctx.now() + REQUEST_WAIT_MS;
  for (;;) {
    const annotations = await client.readSecretAnnotations(ns, name);
    if (annotations === undefined) return;
    const error = annotations[ERROR_ANNOTATION];
    if (error !== undefined) {
      await client.deleteSecret(ns, name);
      throw apiError(`the operator refused: ${error}`);
    }
    if (ctx.now() > deadline) {
      await client.deleteSecret(ns, name);
      throw apiError(`the operator did not answer within ${REQUEST_WAIT_MS / 1000} s (is it running, with credentials enabled, in namespace ${ns}?)`);
    }
    await ctx.sleep(100);
  }
}

/**
 * Invites an existing User: prints the activate command. Returns false (with a note) when
 * credentials are off or the caller may not read whether they are on.
 */
export async function inviteUser(ctx: Context, user: string, quietWhenOff: boolean): Promise<boolean> {
  const ns = operatorNamespace(ctx);
  let discovery: Record<string, string> | undefined;
  try {
    discovery = await ctx.client().readConfigMap(ns, DISCOVERY_CONFIGMAP);
  } catch (err) {
    if (!quietWhenOff) throw err;
    ctx.err(`note: no invitation made: cannot read ${ns}/${DISCOVERY_CONFIGMAP} (${(err as Error).message})\n`);
    return false;
  }
  if (!discovery || discovery['enabled'] !== 'true') {
    if (quietWhenOff) return false;
    throw apiError(`Gatehouse credentials are not enabled (no ConfigMap ${ns}/${DISCOVERY_CONFIGMAP}); set credentials.enabled in the Helm values`);
  }
  let ttlSeconds: number | undefined;
  const expires = str(ctx, 'invite-expires');
  if (expires !== undefined) {
    try {
      ttlSeconds = Math.max(1, Math.round((Date.parse(parseExpiry(expires, ctx.now())) - ctx.now()) / 1000));
    } catch (err) {
      throw usageError((err as Error).message.replace('--expires', '--invite-expires'));
    }
  }
  const issued = issueToken('inv');
  await request(ctx, { action: 'invite', user, id: issued.id, hash: issued.hash, ...(ttlSeconds !== undefined ? { ttlSeconds: String(ttlSeconds) } : {}) });
  const ttl = Math.min(ttlSeconds ?? Infinity, Number(discovery['invitationTTLSeconds'] ?? Infinity));
  const server = discovery['server'] ?? '<the Gatehouse proxy URL>';
  const ca = discovery['ca.crt'] ? ` --certificate-authority-data ${Buffer.from(discovery['ca.crt']).toString('base64')}` : '';
  ctx.out(`invitation for ${user} (single use${Number.isFinite(ttl) ? `, expires in ${ttl} s` : ''}); give them this command:\n`);
  ctx.out(`  kubectl gatehouse activate ${issued.token} --server ${server}${ca}\n`);
  return true;
}

function trustFrom(ctx: Context): TlsTrust & { caData?: string } {
  const file = str(ctx, 'certificate-authority');
  const data = str(ctx, 'certificate-authority-data');
  if (file && data) throw usageError('give --certificate-authority or --certificate-authority-data, not both');
  const pem = file ? ctx.readFile(file) : data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
  const insecure = flag(ctx, 'insecure-skip-tls-verify');
  return { ...(pem ? { ca: pem, caData: Buffer.from(pem).toString('base64') } : {}), ...(insecure ? { insecureSkipVerify: true } : {}) };
}

function proxyUrl(server: string, path: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw usageError(`--server ${JSON.stringify(server)} is not a URL`);
  }
  if (url.protocol !== 'https:') throw usageError('--server must be an https:// URL (a token is sent to it)');
  return new URL(path, url).toString();
}

async function activate(ctx: Context): Promise<number> {
  const token = arg(ctx, 0);
  const server = str(ctx, 'server');
  if (!server) throw usageError('activate needs --server URL (the Gatehouse proxy, from the invitation)');
  const trust = trustFrom(ctx);
  const res = await ctx.postToken(proxyUrl(server, ACTIVATE_PATH), token, trust);
  const cred = parseCredential(res);
  if ('error' in cred) throw apiError(`activation failed: ${cred.error}`);
  // With webhook token authentication the kubeconfig may point at the API server itself.
  const apiServer = str(ctx, 'api-server');
  const apiCa = str(ctx, 'api-server-certificate-authority');
  const cluster = apiServer
    ? { server: apiServer, ...(apiCa ? { caData: Buffer.from(ctx.readFile(apiCa)).toString('base64') } : {}) }
    : { server, ...(trust.caData ? { caData: trust.caData } : {}), ...(trust.insecureSkipVerify ? { insecureSkipVerify: true } : {}) };
  const file = str(ctx, 'kubeconfig') ?? ctx.defaultKubeconfig();
  let existing: string | undefined;
  try {
    existing = ctx.readFile(file);
  } catch {
    existing = undefined;
  }
  const name = contextName(cred.username);
  ctx.writeFile(file, withCredential(existing, name, cluster, cred.token));
  ctx.out(`activated: you are ${cred.username}; context ${name} in ${file} is now current\n`);
  return 0;
}

async function rotate(ctx: Context): Promise<number> {
  const kc = loadKubeConfig({ ...(str(ctx, 'kubeconfig') ? { kubeconfig: str(ctx, 'kubeconfig')! } : {}), ...(str(ctx, 'context') ? { context: str(ctx, 'context')! } : {}) });
  const user = kc.getCurrentUser();
  const cluster = kc.getCurrentCluster();
  if (!user?.token) throw usageError('the current kubeconfig user has no token to rotate');
  const server = str(ctx, 'server') ?? cluster?.server ?? '';
  const trust = trustFrom(ctx);
  const fromKubeconfig: TlsTrust = cluster?.caData ? { ca: Buffer.from(cluster.caData, 'base64').toString('utf8') } : cluster?.caFile ? { ca: ctx.readFile(cluster.caFile) } : {};
  const res = await ctx.postToken(proxyUrl(server, ROTATE_PATH), user.token, trust.ca || trust.insecureSkipVerify ? trust : { ...fromKubeconfig, ...(cluster?.skipTLSVerify ? { insecureSkipVerify: true } : {}) });
  const cred = parseCredential(res);
  if ('error' in cred) throw apiError(`rotation failed: ${cred.error}`);
  const file = str(ctx, 'kubeconfig') ?? ctx.defaultKubeconfig();
  ctx.writeFile(file, withToken(ctx.readFile(file), user.name, cred.token));
  ctx.out(`token rotated for ${cred.username}; the old one no longer works (${file} updated)\n`);
  return 0;
}

async function revoke(ctx: Context): Promise<number> {
  const user = await findObject(ctx.client(), 'User', arg(ctx, 0));
  await request(ctx, { action: 'revoke', user: user.metadata.name });
  ctx.out(`every Gatehouse token and invitation of user ${user.metadata.name} revoked\n`);
  return 0;
}

async function invite(ctx: Context): Promise<number> {
  const user = await findObject(ctx.client(), 'User', arg(ctx, 0));
  await inviteUser(ctx, user.metadata.name, false);
  return 0;
}

const TRUST_OPTIONS = {
  'certificate-authority': { type: 'string', value: 'FILE', description: "PEM file of the CA that signed the proxy's certificate" },
  'certificate-authority-data': { type: 'string', value: 'BASE64', description: 'the same, base64-encoded (as the invitation prints it)' },
  'insecure-skip-tls-verify': { type: 'boolean', description: "do not check the proxy's certificate (tests only: the token could be stolen)" },
} as const;

export const INVITE_OPTIONS = {
  'invite-expires': { type: 'string', value: 'DURATION', description: 'the invitation expires sooner than the configured TTL (90m, 24h)' },
  ...GATEHOUSE_NAMESPACE_OPTION,
} as const;

export const credentialCommands: ReadonlyArray<CommandSpec<Context>> = [
  {
    path: ['activate'], args: ['TOKEN'], summary: 'Redeem an invitation: write a kubeconfig with your own Gatehouse token',
    description: 'Sends the invitation to the Gatehouse proxy at --server, which answers once with your token. The kubeconfig (--kubeconfig, else $KUBECONFIG or ~/.kube/config) gets a context gatehouse-<you> pointing at the proxy (or at --api-server when the API server checks Gatehouse tokens itself).',
    options: {
      server: { type: 'string', value: 'URL', description: 'the Gatehouse proxy (printed with the invitation)' },
      ...TRUST_OPTIONS,
      'api-server': { type: 'string', value: 'URL', description: 'point the kubeconfig at this API server instead of the proxy (webhook token authentication)' },
      'api-server-certificate-authority': { type: 'string', value: 'FILE', description: "PEM CA of --api-server" },
    },
    examples: ['kubectl gatehouse activate gatehouse_inv_... --server https://gatehouse.example.com --certificate-authority-data LS0t...'],
    run: activate,
  },
  {
    path: ['token', 'rotate'], args: [], summary: 'Replace your Gatehouse token with a new one (the old one stops working)',
    options: { server: { type: 'string', value: 'URL', description: "the Gatehouse proxy (default: the kubeconfig's server)" }, ...TRUST_OPTIONS },
    examples: ['kubectl gatehouse token rotate'],
    run: rotate,
  },
  {
    path: ['user', 'revoke'], args: ['NAME'], summary: "End every Gatehouse token and invitation of a User at once",
    description: 'Needs create on secrets in the operator namespace (the same right as inviting). Suspending, rejecting or deleting the User ends their tokens too.',
    options: { ...GATEHOUSE_NAMESPACE_OPTION }, examples: ['kubectl gatehouse user revoke bob'], run: revoke,
  },
  {
    path: ['user', 'invite'], args: ['NAME'], summary: 'Make a new single-use invitation for an existing User',
    options: { ...INVITE_OPTIONS }, examples: ['kubectl gatehouse user invite alice --invite-expires 2h'], run: invite,
  },
];
