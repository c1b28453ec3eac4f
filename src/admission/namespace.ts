// Namespaces as projects (Polyaxon): the owner, team and visibility labels are changed only by the
// owner, someone allowed to update the namespace's Team, or a superuser; joining a team must not
// extend the team's bindings beyond what the requester holds.
import { LABELS, type Namespace } from '../api/types.js';
import { privileged, readObject, type Env } from './common.js';
import { OWNER_USERNAME_ANNOTATION, isNamespaceOwner, namespaceOwner, ownerLabelValue } from './names.js';
import { checkTeamGrowth, mayUpdateTeam } from './team.js';
import { grantProblem } from './grants.js';

const PROTECTED = [LABELS.owner, LABELS.team, LABELS.visibility] as const;
const VISIBILITIES = ['public', 'private'];

function labelPath(key: string): string {
  return `metadata.labels[${key}]`;
}

/** Namespaces the webhook leaves alone even if a selector lets them through (1.20 lacks the name label). */
export function excludedNamespaces(env: Pick<Env, 'ctx'>): string[] {
  return ['kube-system', env.ctx.config.operator.namespace];
}

function isActiveRequester(env: Env): boolean {
  return env.who.user?.spec.state === 'Active';
}

export function validateNamespace(env: Env): void {
  const { input, f, who } = env;
  if (input.operation !== 'CREATE' && input.operation !== 'UPDATE') return;
  if (excludedNamespaces(env).includes(input.name)) return;
  const nu = readObject(f, input.object, 'object', false);
  const old = input.operation === 'UPDATE' ? readObject(f, input.oldObject, 'oldObject', false) : undefined;
  if (!f.ok || !nu) return;
  const ns: Namespace = { metadata: nu.metadata };
  const labels = ns.metadata.labels ?? {};
  const oldLabels = old?.metadata.labels ?? {};
  const name = ns.metadata.name;

  const visibility = labels[LABELS.visibility];
  if (visibility !== undefined && !VISIBILITIES.includes(visibility)) {
    f.deny(labelPath(LABELS.visibility), 'invalid-field', `must be public or private, got ${JSON.stringify(visibility)}`);
  }
  const exact = ns.metadata.annotations?.[OWNER_USERNAME_ANNOTATION];
  const ownerLabel = labels[LABELS.owner];
  if (exact !== undefined && ownerLabel !== undefined && ownerLabelValue(exact) !== ownerLabel) {
    f.deny(`metadata.annotations[${OWNER_USERNAME_ANNOTATION}]`, 'namespace-labels',
      `owner username ${JSON.stringify(exact)} does not match the owner label ${JSON.stringify(ownerLabel)} (expected ${ownerLabelValue(exact)})`);
  }
  const changed = PROTECTED.filter((k) => labels[k] !== oldLabels[k]);
  const oldExact = old?.metadata.annotations?.[OWNER_USERNAME_ANNOTATION];
  const annotationChanged = input.operation === 'UPDATE' && exact !== oldExact;
  if ((changed.length === 0 && !annotationChanged) || privileged(env)) return;
  const firstPath = changed[0] ? labelPath(changed[0]) : `metadata.annotations[${OWNER_USERNAME_ANNOTATION}]`;

  if (input.operation === 'CREATE') {
    // A new namespace is owned by its creator (the mutation labels it so) or by no one.
    const creator = isActiveRequester(env) && (ownerLabel === undefined || isNamespaceOwner(labels, who.requester.user))
      && (exact === undefined || exact === who.requester.user);
    if (!creator) {
      f.deny(ownerLabel !== undefined ? labelPath(LABELS.owner) : firstPath, 'namespace-labels',
        `a new namespace is owned by its creator (${ownerLabelValue(who.requester.user)}); only a superuser may name another owner`);
      return;
    }
  } else {
    // Who the namespace belongs to is the current owner's to give away, or a superuser's: not a
    // team admin's (issue 16, item 4). The owner is read exactly (namespaceOwner: the annotation
    // when it agrees with the label), so `a_at_b.c` is not taken for `a@b.c`.
    const owner = namespaceOwner(old?.metadata ?? {});
    const isOwner = owner !== undefined && env.view.ownsNamespace(who.requester, owner);
    const ownership = labels[LABELS.owner] !== oldLabels[LABELS.owner] || annotationChanged;
    const leavesTeam = oldLabels[LABELS.team] !== undefined && labels[LABELS.team] === undefined;
    if ((ownership || leavesTeam) && !isOwner) {
      f.deny(ownership ? (labels[LABELS.owner] !== oldLabels[LABELS.owner] ? labelPath(LABELS.owner) : `metadata.annotations[${OWNER_USERNAME_ANNOTATION}]`) : labelPath(LABELS.team), 'namespace-labels',
        `only its current owner${owner ? ` (${owner})` : ''} or a superuser may ${ownership ? 'change the owner' : 'remove the team label'} of namespace ${name}`);
      return;
    }
    const currentTeam = oldLabels[LABELS.team];
    const teamAdmin = currentTeam !== undefined && mayUpdateTeam(env, currentTeam);
    if (!isOwner && !teamAdmin) {
      f.deny(firstPath, 'namespace-labels',
        `only its owner${owner ? ` (${owner})` : ''}, someone allowed to update its Team${currentTeam ? ` (${currentTeam})` : ''}, or a superuser may change the owner, team or visibility labels of namespace ${name}`);
      return;
    }
  }
  const newTeam = labels[LABELS.team];
  if (newTeam !== undefined && newTeam !== oldLabels[LABELS.team]) {
    if (!mayUpdateTeam(env, newTeam)) {
      f.deny(labelPath(LABELS.team), 'namespace-labels',
        `putting namespace ${name} into Team ${newTeam} changes the team, which needs iam.gatehouse.dev/teams:update for team ${newTeam}`);
      return;
    }
    checkTeamGrowth(env, newTeam, [], [[0, name]], () => labelPath(LABELS.team));
  }
  checkPublic(env, name, labels[LABELS.visibility] === 'public' && oldLabels[LABELS.visibility] !== 'public');
}

/**
 * Making a namespace public gives every Active user `projects.publicRole` there, so the writer must
 * be able to grant it there, for good (issue 32, item 8; the one rule, grants.ts). A namespace being
 * created is not indexed yet: its creator will own it, so `projects.ownerRole` must cover the
 * public role instead.
 */
function checkPublic(env: Env, name: string, becomesPublic: boolean): void {
  const publicRole = env.ctx.config.projects.publicRole;
  if (!becomesPublic || publicRole === undefined || privileged(env)) return;
  const path = labelPath(LABELS.visibility);
  if (env.input.operation === 'CREATE') {
    const ownerRole = env.ctx.config.projects.ownerRole;
    if (ownerRole !== undefined && env.view.roleCovers(ownerRole, publicRole)) return;
  }
  const problem = grantProblem(env, publicRole, { namespaces: [name] }, undefined, { missingRole: 'refuse' });
  if (problem) {
    env.f.deny(path, 'no-escalation', `making namespace ${name} public gives every Active user role ${publicRole} there (projects.publicRole), and ${problem.message}`);
  }
}
