// The CLI's side of the permission grammar: zenml-style shorthands, and `permission list`.
const BARE_ACTIONS = new Set(['read', 'write', '*', 'get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection']);

/**
 * `role create -p` accepts what zenml users type: a bare action (`read`, `write`, `*`, a verb)
 * means that action on every resource (`*:read`). Everything else must parse as written.
 */
export function normalizePermission(text: string): string {
  const t = text.trim();
  if (BARE_ACTIONS.has(t)) return `*:${t}`;
  return t;
}

/** The action aliases (product.md, "Permissions"). */
export const PERMISSION_ALIASES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  read: ['get', 'list', 'watch'],
  write: ['create', 'update', 'patch', 'delete', 'deletecollection'],
  '*': ['every verb'],
});
