// The mutating policy: self-registration is stored Pending and not superuser; a namespace created
// by an Active user is labelled with its owner. The API server runs mutation before validation, so
// validateAdmission() accepts what this produces.
import { LABELS } from '../api/types.js';
import { usernameOf } from '../authz/rules.js';
import { isBreakGlass, isRecord, resolveWho } from './common.js';
import { OWNER_USERNAME_ANNOTATION, ownerLabelValue } from './names.js';
import { excludedNamespaces } from './namespace.js';
import { mutateAccessRequest } from './accessrequest.js';
import type { AdmissionContext, AdmissionInput, MutationResult, PatchOp } from './types.js';

/** What mutateAdmission() builds: both lists always present. */
interface Mutation extends MutationResult {
  patch: PatchOp[];
  warnings: string[];
}

/** RFC 6901: `~` and `/` in a key are escaped in a JSON pointer. */
export function pointerKey(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function setMapEntry(patch: PatchOp[], map: unknown, mapPath: string, key: string, value: string): void {
  if (isRecord(map)) patch.push({ op: 'add', path: `${mapPath}/${pointerKey(key)}`, value });
  else patch.push({ op: 'add', path: mapPath, value: { [key]: value } });
}

export function mutateAdmission(input: AdmissionInput, ctx: AdmissionContext): Mutation {
  const none: Mutation = { patch: [], warnings: [] };
  if (input.kind === 'AccessRequest') {
    // Every writer, break-glass included: who asked and who decided come from userInfo only.
    if (input.subResource) return none;
    return { patch: mutateAccessRequest(input.operation, input.object, input.oldObject, input.requester.user, ctx.now()), warnings: [] };
  }
  if (input.operation !== 'CREATE' || input.subResource) return none;
  if (isBreakGlass(ctx, input.requester)) return none;
  const view = ctx.view();
  if (!view || !isRecord(input.object)) return none;
  const who = resolveWho(ctx, view, input.requester);
  const obj = input.object;
  const metadata = obj['metadata'];
  if (!isRecord(metadata)) return none;

  if (input.kind === 'User') {
    const spec = obj['spec'];
    if (!isRecord(spec) || who.trusted || who.superuser || who.user !== undefined) return none;
    if (typeof metadata['name'] !== 'string') return none;
    // Unvalidated yet: a username that is not a string counts as unset (validation rejects it).
    const username = usernameOf({ metadata: { name: metadata['name'] }, spec: { state: 'Pending', ...(typeof spec['username'] === 'string' ? { username: spec['username'] } : {}) } });
    if (username !== input.requester.user) return none;
    const mode = ctx.config.registration.mode;
    if (mode === 'closed') return none;
    const out: Mutation = { patch: [], warnings: [] };
    const allowed = mode === 'open' ? ['Pending', 'Active'] : ['Pending'];
    if (typeof spec['state'] !== 'string' || !allowed.includes(spec['state'])) {
      out.patch.push({ op: 'add', path: '/spec/state', value: 'Pending' });
      out.warnings.push(`spec.state set to Pending: a self-registered User waits for an administrator's approval (registration ${mode})`);
    }
    if (spec['superuser'] !== undefined && spec['superuser'] !== false) {
      out.patch.push({ op: 'add', path: '/spec/superuser', value: false });
      out.warnings.push('spec.superuser set to false: only superusers may make superusers');
    }
    return out;
  }

  if (input.kind === 'Namespace') {
    if (who.user?.spec.state !== 'Active') return none;
    if (typeof metadata['name'] !== 'string' || excludedNamespaces({ ctx }).includes(metadata['name'])) return none;
    const labels = metadata['labels'];
    if (isRecord(labels) && labels[LABELS.owner] !== undefined) return none;
    const out: Mutation = { patch: [], warnings: [] };
    const value = ownerLabelValue(input.requester.user);
    setMapEntry(out.patch, labels, '/metadata/labels', LABELS.owner, value);
    if (value !== input.requester.user) {
      setMapEntry(out.patch, metadata['annotations'], '/metadata/annotations', OWNER_USERNAME_ANNOTATION, input.requester.user);
    }
    return out;
  }
  return none;
}
