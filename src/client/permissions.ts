// The CLI's side of the permission grammar: zenml-style shorthands, checked with the core's parser.
import { ALIASES, parsePermission } from '../authz/permission.js';

const BARE_ACTIONS = new Set([...Object.keys(ALIASES), '*', 'get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection']);

/**
 * `role create -p` accepts what zenml users type: a bare action (`read`, `write`, `*`, a verb)
 * means that action on every resource (`*:read`). Everything else must parse as written; the
 * core's parser (the one the operator uses) says what is wrong.
 */
export function normalizePermission(text: string): string {
  const t = text.trim();
  const normalized = BARE_ACTIONS.has(t) ? `*:${t}` : t;
  parsePermission(normalized);
  return normalized;
}

/** The action aliases (docs/design.md, "Permissions"), from the core's grammar. */
export const PERMISSION_ALIASES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  ...Object.fromEntries(Object.entries(ALIASES).map(([k, v]) => [k, [...v]])),
  '*': ['every verb'],
});
