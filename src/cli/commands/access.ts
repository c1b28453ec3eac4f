// can-i, explain, who-can: answered from the objects the caller may list, with decide() and the
// queries the operator itself uses; optionally compared with the API server's own answer.
import { whoCan } from '../../authz/queries.js';
import { decide } from '../../authz/decide.js';
import type { AccessRequest, Decision, Requester } from '../../authz/types.js';
import type { CommandSpec, OptionSpec } from '../args.js';
import { type Context, arg, str, strs, flag, printStructured } from '../context.js';
import { ClientError, apiError, usageError } from '../../client/errors.js';
import { EXIT } from '../errors.js';
import { details, table } from '../format.js';
import type { ServerAnswer } from '../../client/kube.js';
import { inForce } from '../../rbac/explain.js';
import { policyFrom, collect, liveWorld, sourceLine, warnings, type Snapshot } from '../../client/world.js';
import { accessRequest, explainChain, resolveUsername as resolveRequestUser } from '../../client/access.js';
import { parseTarget, describeRequest, type Target } from '../../client/target.js';
import { CLUSTER_OPTIONS, FROM_OPTIONS, clusterFlagsNeedFrom, fromSet, offlineSnapshot } from './policy.js';
import { readClusterIdentity, type SeenCluster } from '../../client/cluster.js';
import { subjectText } from '../../policy/expectations.js';
import { FLEET_EXIT_HELP, FLEET_OPTIONS, fleetOptionsOf, runFleet, type ContextAnswer } from '../fleet.js';

const TARGET_OPTIONS: Record<string, OptionSpec> = {
  namespace: { type: 'string', short: 'n', value: 'NAMESPACE', description: "the namespace (default: the kubeconfig context's, then default)" },
  'all-namespaces': { type: 'boolean', short: 'A', description: 'ask about every namespace at once (only cluster-wide grants count)' },
  subresource: { type: 'string', value: 'SUB', description: 'a subresource, e.g. log for pods/log' },
  config: { type: 'string', value: 'FILE', description: "the operator's configuration file (seed admins, project roles, defaults); default: built-in defaults" },
  ...FROM_OPTIONS,
  ...CLUSTER_OPTIONS,
  ...FLEET_OPTIONS,
};
const SUBJECT_OPTIONS: Record<string, OptionSpec> = {
  'ask-apiserver': { type: 'boolean', description: "also ask the API server (SubjectAccessReview: RBAC and the operator's webhook) and answer with its verdict" },
};

function targetOf(ctx: Context): Target {
  clusterFlagsNeedFrom(ctx);
  const ns = str(ctx, 'namespace');
  return parseTarget({
    verb: arg(ctx, 0),
    resource: arg(ctx, 1),
    ...(str(ctx, 'subresource') ? { subresource: str(ctx, 'subresource') } : {}),
    ...(ns ? { namespace: ns } : {}),
    allNamespaces: flag(ctx, 'all-namespaces'),
    // --from answers offline: no kubeconfig is read, so no context namespace either.
    ...(strs(ctx, 'from').length === 0 && ctx.client().namespace ? { contextNamespace: ctx.client().namespace } : {}),
  });
}

/** --as USER [--as-group G]; without --as, whoever the kubeconfig is, when the cluster can say. */
async function requesterOf(ctx: Context): Promise<Requester> {
  const user = str(ctx, 'as');
  if (user) return { user, groups: strs(ctx, 'as-group') };
  if (strs(ctx, 'from').length) throw usageError('with --from, say whom to ask about: --as USER [--as-group GROUP]');
  const me = await ctx.client().whoAmI();
  if (!me) throw usageError('say whom to ask about: --as USER [--as-group GROUP] (this cluster cannot tell the plugin who you are: SelfSubjectReview needs Kubernetes 1.27+)');
  return { user: me.user, groups: [...me.groups, ...strs(ctx, 'as-group')], ...(me.uid ? { uid: me.uid } : {}) };
}

function resolveUsername(ctx: Context, snap: Snapshot, req: AccessRequest): AccessRequest {
  const r = resolveRequestUser(snap.index, req);
  if (r.note) ctx.err(`note: ${r.note}\n`);
  return r.req;
}

/**
 * The objects the answer is decided over: the files of --from, or what the caller may list. A live
 * cluster that says who it is (src/client/cluster.ts) is the cluster the index holds the
 * objects as (issue 30: a RoleBinding that does not select it is not in force there). In a fleet
 * question (`fleet`), --config's cluster is no cluster's, and a kind the caller may not list makes
 * the cluster unanswerable rather than answered over part of its objects.
 */
async function snapshotOf(ctx: Context, fleet = false): Promise<Snapshot> {
  const files = fromSet(ctx);
  if (files) return offlineSnapshot(ctx, files);
  const policy = policyFrom(str(ctx, 'config'), ctx.readFile);
  const client = ctx.client();
  const [own, loaded] = await Promise.all([readClusterIdentity(client), liveWorld(client).load()]);
  if (fleet && loaded.unreadable.length > 0) {
    const u = loaded.unreadable;
    throw apiError(`forbidden: you may not list ${u.map((x) => x.what).join(', ')} (${u[0]?.why ?? ''}); an answer without them could be wrong`, { status: 403 });
  }
  const config = { ...policy.config };
  if (own) config.cluster = own;
  else if (fleet) delete config.cluster;
  const snap = await collect({ load: async () => loaded }, config, policy.source, ctx.now);
  for (const w of warnings(snap)) ctx.err(w + '\n');
  return snap;
}

/** The cluster a fleet row names when the answer was built as that cluster (it said who it is). */
function clusterSeen(snap: Snapshot): SeenCluster | undefined {
  const c = snap.index.config.cluster;
  return c?.name ? { name: c.name, labels: { ...c.labels }, from: 'gatehouse' } : undefined;
}

/** `cluster: {name, labels}` in -o json when the answer was built as a named cluster. */
function clusterField(snap: Snapshot): { cluster?: { name: string; labels: Record<string, string> } } {
  const c = snap.index.config.cluster;
  return c?.name ? { cluster: { name: c.name, labels: { ...c.labels } } } : {};
}

type ServerResult = { asked: true; answer: ServerAnswer } | { asked: false; why: string };

async function askServer(ctx: Context, req: AccessRequest): Promise<ServerResult | undefined> {
  if (!flag(ctx, 'ask-apiserver')) return undefined;
  try {
    return { asked: true, answer: await ctx.client().subjectAccessReview(req) };
  } catch (err) {
    if (err instanceof ClientError) return { asked: false, why: err.message };
    throw err;
  }
}

function serverText(s: ServerResult): string {
  if (!s.asked) return `not asked (${s.why})`;
  const a = s.answer;
  const verdict = a.allowed ? 'yes' : a.denied ? 'no (denied)' : 'no';
  return `${verdict}${a.reason ? ` - ${a.reason}` : ''}${a.evaluationError ? ` (evaluation error: ${a.evaluationError})` : ''}`;
}

function verdictWord(verdict: string): string {
  return verdict === 'allow' ? 'yes' : verdict === 'deny' ? 'no (denied)' : 'no opinion';
}

/** The final yes/no: the API server's when it was asked, otherwise Gatehouse's own. */
function finalAllowed(local: boolean, server: ServerResult | undefined): boolean {
  return server?.asked ? server.answer.allowed : local;
}

interface CanIOutcome {
  allowed: boolean;
  req: AccessRequest;
  d: Decision;
  server: ServerResult | undefined;
  snap: Snapshot;
}

async function canIOutcome(ctx: Context, fleet = false): Promise<CanIOutcome> {
  const target = targetOf(ctx);
  const asked = accessRequest(await requesterOf(ctx), target);
  const snap = await snapshotOf(ctx, fleet);
  const req = resolveUsername(ctx, snap, asked);
  const d = decide(snap.index, req, { now: ctx.now(), explain: true });
  const server = await askServer(ctx, req);
  return { allowed: finalAllowed(d.verdict === 'allow', server), req, d, server, snap };
}

function canIDocument(o: CanIOutcome): Record<string, unknown> {
  const { req, d, server, snap } = o;
  return {
    allowed: o.allowed,
    request: { user: req.user, groups: req.groups, ...(req.resource ? { resource: req.resource } : { nonResource: req.nonResource }) },
    gatehouse: { verdict: d.verdict, code: d.code, reason: d.reason, ...(d.grant ? { grant: d.grant } : {}) },
    ...clusterField(snap),
    source: sourceLine(snap),
    ...(server ? { apiserver: server.asked ? server.answer : { notAsked: server.why } } : {}),
  };
}

function gatehouseLine(d: Decision): string {
  return `${verdictWord(d.verdict)} - ${d.reason}${d.verdict === 'noOpinion' ? ' (native RBAC decides)' : ''}`;
}

async function canI(ctx: Context): Promise<number> {
  const fleet = fleetOptionsOf(ctx.values);
  if (fleet) {
    return runFleet(ctx, fleet, 'can-i', 'REASON', async (sub): Promise<ContextAnswer> => {
      const o = await canIOutcome(sub, true);
      const seen = clusterSeen(o.snap);
      return {
        answer: o.allowed ? 'yes' : 'no',
        detail: `gatehouse: ${gatehouseLine(o.d)}${o.server ? `; apiserver: ${serverText(o.server)}` : ''}`,
        negative: !o.allowed,
        ...(seen ? { cluster: seen } : {}),
        result: canIDocument(o),
      };
    });
  }
  const o = await canIOutcome(ctx);
  const { allowed, d, server, snap } = o;
  if (printStructured(ctx, canIDocument(o))) return allowed ? EXIT.ok : EXIT.no;
  ctx.out(`${allowed ? 'yes' : 'no'}\n`);
  ctx.out(`gatehouse: ${gatehouseLine(d)}\n`);
  if (server) ctx.out(`apiserver: ${serverText(server)}\n`);
  ctx.out(`source: ${sourceLine(snap)}${server?.asked ? '; the API server was asked too and its answer is final' : ''}\n`);
  return allowed ? EXIT.ok : EXIT.no;
}

/** Both halves of explain's output line up on the longest key ("Roles that grant it:"). */
const EXPLAIN_KEY_WIDTH = 'Roles that grant it:'.length;

async function explainOutcome(ctx: Context, fleet = false) {
  const target = targetOf(ctx);
  const asked = accessRequest(await requesterOf(ctx), target);
  const snap = await snapshotOf(ctx, fleet);
  const req = resolveUsername(ctx, snap, asked);
  const chain = explainChain(snap.index, req, ctx.now());
  const server = await askServer(ctx, req);
  const allowed = finalAllowed(chain.decision.verdict === 'allow', server);
  const doc = { allowed, ...chain, inForce: inForce(snap.index.config.authorization.mode, chain.decision, req.resource?.namespace), ...clusterField(snap), source: sourceLine(snap), ...(server ? { apiserver: server.asked ? server.answer : { notAsked: server.why } } : {}) };
  return { snap, req, chain, server, allowed, doc };
}

async function explainCmd(ctx: Context): Promise<number> {
  const fleet = fleetOptionsOf(ctx.values);
  if (fleet) {
    return runFleet(ctx, fleet, 'explain', 'DECISION', async (sub): Promise<ContextAnswer> => {
      const o = await explainOutcome(sub, true);
      const d = o.chain.decision;
      const seen = clusterSeen(o.snap);
      return {
        answer: o.allowed ? 'yes' : 'no',
        detail: `${verdictWord(d.verdict)} (${d.code}): ${d.reason}${o.server ? `; apiserver: ${serverText(o.server)}` : ''}`,
        negative: !o.allowed,
        ...(seen ? { cluster: seen } : {}),
        result: o.doc,
      };
    });
  }
  const { snap, req, chain, server, allowed, doc } = await explainOutcome(ctx);
  if (printStructured(ctx, doc)) return allowed ? EXIT.ok : EXIT.no;
  const u = chain.userObject;
  const userLine = u.found
    ? `${u.name ? `User ${u.name}` : 'no User object (seed admin from the configuration)'}${u.username && u.username !== u.name ? `, username ${u.username}` : ''}: ${u.state}${u.superuser ? ', superuser' : ', not a superuser'}${u.seed ? ', seed admin' : ''}`
    : 'no User object: Gatehouse does not know this user';
  const d = chain.decision;
  ctx.out(details([
    ['Request', `${chain.user} wants to ${chain.request}`],
    ['Groups', chain.groups.join(', ') || '<none>'],
    ['1. User', userLine],
    ['2. Teams', chain.teams.map((t) => `${t.team} (${t.how})`)],
  ], EXPLAIN_KEY_WIDTH));
  ctx.out('3. Role assignments naming the user, a team or a group:\n');
  if (chain.bindings.length === 0) ctx.out('  <none>\n');
  else {
    const yesNo = (b: boolean) => (b ? 'yes' : 'no');
    ctx.out(table(
      ['NAME', 'ROLE', 'VIA', 'SCOPE', 'EXPIRES', 'LIVE', 'SCOPE COVERS', 'ROLE GRANTS', ''],
      chain.bindings.map((b) => [b.name, b.role + (b.roleFound ? '' : ' (missing)'), b.subject, b.scope, b.expiresAt ?? '<never>', yesNo(b.live), yesNo(b.coversRequest), yesNo(b.roleGrants), b.decided ? '<- decided' : '']),
    ).replace(/^/gm, '  ').replace(/ +$/, ''));
  }
  const pairs: Array<[string, string | string[]]> = [];
  if (chain.project) {
    const p = chain.project;
    pairs.push(['4. Namespace', `${p.namespace}: owner ${p.owner ?? '<none>'}${p.ownerRole ? ` (owner role ${p.ownerRole})` : ' (projects.ownerRole not set)'}, ${p.public ? `public${p.publicRole ? ` (public role ${p.publicRole})` : ' (projects.publicRole not set)'}` : 'not public'}, teams ${p.teams.join(',') || '<none>'}`]);
    pairs.push(['5. Defaults', chain.defaults ? `every Active user holds role ${chain.defaults.role} in team ${chain.defaults.team}'s scope (${chain.defaults.covers ? 'covers' : 'does not cover'} this namespace)` : 'none configured']);
  }
  pairs.push(['Roles that grant it', chain.rolesThatGrant.length ? chain.rolesThatGrant.join(', ') : '<none installed>']);
  pairs.push(['Decision', `${verdictWord(d.verdict)} (${d.code}): ${d.reason}${d.grant?.permission ? ` [permission ${d.grant.permission}]` : ''}`]);
  pairs.push(['In force', inForce(snap.index.config.authorization.mode, d, req.resource?.namespace)]);
  if (server) pairs.push(['API server', serverText(server)]);
  pairs.push(['Answer', allowed ? 'yes' : 'no']);
  pairs.push(['Source', sourceLine(snap)]);
  pairs.push(['To change it', chain.hints]);
  ctx.out(details(pairs, EXPLAIN_KEY_WIDTH));
  return allowed ? EXIT.ok : EXIT.no;
}

async function whoCanCmd(ctx: Context): Promise<number> {
  const fleet = fleetOptionsOf(ctx.values);
  if (fleet) {
    return runFleet(ctx, fleet, 'who-can', 'SUBJECTS', async (sub): Promise<ContextAnswer> => {
      const target = targetOf(sub);
      const snap = await snapshotOf(sub, true);
      const entries = whoCan(snap.index, target.resource ?? { nonResource: target.nonResource }, sub.now());
      const names = [...new Set(entries.map(subjectText))].sort();
      const seen = clusterSeen(snap);
      return {
        answer: `${names.length} subject${names.length === 1 ? '' : 's'}`,
        detail: names.join(', ') || 'nobody',
        negative: false,
        ...(seen ? { cluster: seen } : {}),
        result: { request: describeRequest(target), subjects: entries, ...clusterField(snap), source: sourceLine(snap) },
      };
    });
  }
  const target = targetOf(ctx);
  const snap = await snapshotOf(ctx);
  const entries = whoCan(snap.index, target.resource ?? { nonResource: target.nonResource }, ctx.now());
  if (printStructured(ctx, { request: describeRequest(target), subjects: entries, ...clusterField(snap), source: sourceLine(snap) })) return EXIT.ok;
  ctx.out(`Who may ${describeRequest(target)} through Gatehouse:\n`);
  if (entries.length === 0) ctx.out('  nobody\n');
  else {
    ctx.out(table(
      ['SUBJECT', 'ROLE', 'ASSIGNMENT', 'WHY'],
      entries.map((e) => [
        e.subject.kind === 'AllActiveUsers' ? 'every Active user' : `${e.subject.kind} ${e.subject.name}`,
        e.grant?.role ?? (e.grant === null ? '(superuser)' : ''),
        e.grant?.binding ?? '',
        e.reason + (e.delegated ? ' (admission checks the scope)' : ''),
      ]),
    ).replace(/^/gm, '  ').replace(/ +$/, ''));
  }
  ctx.out('Native RBAC may allow others too; kubectl auth can-i / who-can tools show those.\n');
  ctx.out(`source: ${sourceLine(snap)}\n`);
  return EXIT.ok;
}

export const accessCommands: ReadonlyArray<CommandSpec<Context>> = [
  {
    path: ['can-i'], args: ['VERB', 'RESOURCE'], summary: 'Whether a user may do something, as Gatehouse decides it (exit 0 yes, 1 no)',
    description: 'RESOURCE is TYPE[.GROUP][/NAME] (pods, jobs.batch, notebooks.kubeflow.org/nb1, ghuser/alice) or a URL path (/metrics).\n' +
      'Decided locally: the plugin lists the four kinds and namespaces you may read, builds the permission index with the operator\'s code and runs its decide(); the operator is not asked. --ask-apiserver also asks the API server, whose answer then counts.\n' + FLEET_EXIT_HELP,
    options: { ...TARGET_OPTIONS, ...SUBJECT_OPTIONS },
    examples: [
      'kubectl gatehouse can-i create jobs.batch -n vision-dev --as alice',
      'kubectl gatehouse can-i get pods --subresource log -n vision-dev --as bob --as-group oidc:ml',
      'kubectl gatehouse can-i create jobs.batch -n vision-dev --as alice --all-contexts        # one row per cluster',
      'kubectl gatehouse can-i create jobs.batch -n vision-dev --as alice --from policy/ --cluster eu-1 --cluster-labels region=eu',
    ],
    run: canI,
  },
  {
    path: ['explain'], args: ['VERB', 'RESOURCE'], summary: 'can-i with the whole chain: user state, teams, role assignments, scopes, the rule that decided, and what to change',
    description: 'With --contexts/--all-contexts: one row per cluster with the decision; -o json|yaml has each cluster\'s whole chain.\n' + FLEET_EXIT_HELP,
    options: { ...TARGET_OPTIONS, ...SUBJECT_OPTIONS },
    examples: ['kubectl gatehouse explain create jobs.batch -n vision-dev --as alice', 'kubectl gatehouse explain patch ghuser/bob --as alice -o yaml', 'kubectl gatehouse explain create jobs.batch -n vision-dev --as alice --contexts eu,us -o yaml'],
    run: explainCmd,
  },
  {
    path: ['who-can'], args: ['VERB', 'RESOURCE'], summary: 'Who may do something through Gatehouse: superusers, role assignments, project owners, defaults',
    description: 'With --contexts/--all-contexts: one row per cluster with the subjects there.\n' + FLEET_EXIT_HELP,
    options: TARGET_OPTIONS,
    examples: ['kubectl gatehouse who-can create jobs.batch -n vision-dev', 'kubectl gatehouse who-can update ghrole', 'kubectl gatehouse who-can delete pods -n prod --all-contexts --max-parallel 4 --cluster-timeout 5s'],
    run: whoCanCmd,
  },
];
