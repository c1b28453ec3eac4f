// The Gatehouse console's page script: plain ES module, no build step, no dependencies. Every page
// has its own URL (search and paging live in the query string, so a view can be bookmarked and
// linked). Text from the server is only ever set as text (never as HTML). Live: the server's
// event stream says which kind changed and the page reloads its list.

const main = document.getElementById('main');
const live = document.getElementById('live');
const PAGE_SIZE = 50;

/** h('td', {class: 'x'}, 'text', child): a DOM element; strings become text nodes. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** el.replaceChildren with h()'s rules (null, false and nested lists are skipped or flattened). */
function put(el, ...children) {
  el.replaceChildren(...h('div', {}, ...children).childNodes);
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.rule = body?.error?.rule;
  }
}

async function api(path, body) {
  const init = body === undefined
    ? { headers: { Accept: 'application/json' } }
    : { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) };
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  let data;
  try {
    data = await res.json();
  } catch {
    data = undefined;
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** An error exactly as the API server or the webhook gave it, with the rule id when there is one. */
function errorBox(err, what) {
  return h('div', { class: 'error', role: 'alert' },
    h('strong', {}, what ? `${what}: refused` : 'Refused'),
    err.rule ? [' ', h('span', { class: 'rule', 'data-rule': err.rule }, `rule: ${err.rule}`)] : null,
    err.status ? h('span', { class: 'muted' }, ` (HTTP ${err.status})`) : null,
    h('p', { class: 'verbatim' }, err.message));
}

/** The outcome of a change, one line per object: successes briefly, refusals verbatim. */
function resultsBox(results) {
  const bad = results.filter((r) => !r.ok);
  return h('div', { class: bad.length ? 'error' : 'ok', role: bad.length ? 'alert' : 'status' },
    h('ul', {}, results.map((r) => r.ok
      ? h('li', { 'data-name': r.name }, h('strong', {}, r.name), `: ${r.detail}`)
      : h('li', { 'data-name': r.name, 'data-rule': ruleOf(r.message) ?? '' },
        h('strong', {}, r.name), ': refused', ruleOf(r.message) ? [' ', h('span', { class: 'rule' }, `rule: ${ruleOf(r.message)}`)] : null,
        h('p', { class: 'verbatim' }, r.message)))));
}

/**
 * Result areas keep their last message across live re-renders of the same page (a change's own
 * watch event reloads the list a moment after the answer arrives); leaving the page clears them.
 */
const kept = new Map();

function resultArea(id) {
  const el = h('div', { id });
  const node = kept.get(id);
  if (node) el.append(node);
  return el;
}

function show(area, node) {
  if (node) kept.set(area.id, node);
  else kept.delete(area.id);
  put(document.getElementById(area.id) ?? area, node);
}

function ruleOf(message) {
  return /\(rule: ([a-z0-9-]+)\)/.exec(message ?? '')?.[1];
}

function unreadableBox(list) {
  if (!list?.length) return null;
  return list.map((u) => h('div', { class: 'notice', role: 'note', 'data-unreadable': u.what },
    h('strong', {}, `You may not list ${u.what}`), ' - the API server said:', h('p', { class: 'verbatim' }, u.message)));
}

function params() {
  return new URLSearchParams(location.search);
}

function setParams(update, replace = false) {
  const p = params();
  for (const [k, v] of Object.entries(update)) {
    if (v === undefined || v === null || v === '' || v === 0) p.delete(k);
    else p.set(k, String(v));
  }
  const url = `${location.pathname}${p.toString() ? `?${p}` : ''}`;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
}

/** A labelled search box bound to ?q=, updating the list as one types. */
function searchBox(label, onChange) {
  let timer;
  const input = h('input', { id: 'q', type: 'search', name: 'q', value: params().get('q') ?? '', autocomplete: 'off' });
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      setParams({ q: input.value, offset: 0 }, true);
      onChange();
    }, 200);
  });
  return h('form', { role: 'search', class: 'field', onsubmit: (e) => { e.preventDefault(); setParams({ q: input.value, offset: 0 }, true); onChange(); } },
    h('label', { for: 'q' }, label), input);
}

function pager(page, onChange, noun) {
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = page.offset + page.items.length;
  const go = (offset) => { setParams({ offset }); onChange(); };
  return h('nav', { class: 'pager', 'aria-label': `${noun} pages` },
    h('button', { type: 'button', class: 'secondary small', disabled: page.offset === 0, onclick: () => go(Math.max(0, page.offset - page.limit)) }, 'Previous'),
    h('span', { 'data-testid': 'range' }, `${first}-${last} of ${page.total} ${noun}`),
    h('button', { type: 'button', class: 'secondary small', disabled: last >= page.total, onclick: () => go(page.offset + page.limit) }, 'Next'));
}

function listQuery(extra = {}) {
  const p = params();
  const q = new URLSearchParams({ q: p.get('q') ?? '', offset: p.get('offset') ?? '0', limit: String(PAGE_SIZE), ...extra });
  return q.toString();
}

function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
}

/* ---------------- Approvals ---------------- */

const selected = new Set();

async function approvals(view) {
  const data = await api(`/api/pending?${listQuery()}`);
  for (const name of [...selected]) if (!data.items.some((u) => u.name === name)) selected.delete(name);
  const result = resultArea('result');
  const act = async (state, names) => {
    show(result);
    try {
      const out = await api('/api/users/state', { state, names });
      for (const r of out.results) if (r.ok) selected.delete(r.name);
      show(result, resultsBox(out.results));
    } catch (err) {
      show(result, errorBox(err));
    }
    await refresh();
  };
  const count = selected.size;
  const selectAll = h('input', { type: 'checkbox', id: 'select-all', checked: data.items.length > 0 && data.items.every((u) => selected.has(u.name)) });
  selectAll.addEventListener('change', () => {
    for (const u of data.items) selectAll.checked ? selected.add(u.name) : selected.delete(u.name);
    render();
  });
  put(view,
    h('h1', {}, 'Approvals'),
    h('p', { class: 'muted' }, 'Users waiting for approval, oldest first. Approving sets them Active; rejecting sets them Rejected. Each change goes to the API server as you.'),
    unreadableBox(data.unreadable),
    h('div', { class: 'toolbar' },
      searchBox('Search pending users', render),
      h('button', { type: 'button', id: 'approve-selected', disabled: count === 0, onclick: () => act('Active', [...selected]) }, `Approve selected (${count})`),
      h('button', { type: 'button', id: 'reject-selected', class: 'danger', disabled: count === 0, onclick: () => act('Rejected', [...selected]) }, `Reject selected (${count})`)),
    result,
    h('table', { id: 'pending' },
      h('caption', {}, `${data.total} pending`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, h('label', { class: 'inline' }, selectAll, h('span', { class: 'sr-only' }, 'Select all on this page'))),
        h('th', { scope: 'col' }, 'User'), h('th', { scope: 'col' }, 'Username'), h('th', { scope: 'col' }, 'Email'),
        h('th', { scope: 'col' }, 'Registered'), h('th', { scope: 'col' }, 'Actions'))),
      h('tbody', {}, data.items.length === 0
        ? h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'Nobody is waiting.'))
        : data.items.map((u) => {
          const box = h('input', { type: 'checkbox', id: `sel-${u.name}`, checked: selected.has(u.name) });
          box.addEventListener('change', () => { box.checked ? selected.add(u.name) : selected.delete(u.name); render(); });
          return h('tr', { 'data-user': u.name },
            h('td', {}, box, h('label', { for: `sel-${u.name}`, class: 'sr-only' }, `Select ${u.name}`)),
            h('th', { scope: 'row' }, u.name, u.displayName ? h('div', { class: 'muted' }, u.displayName) : null),
            h('td', {}, u.username), h('td', {}, u.email), h('td', {}, fmtTime(u.registered)),
            h('td', {},
              h('button', { type: 'button', class: 'small', 'aria-label': `Approve ${u.name}`, onclick: () => act('Active', [u.name]) }, 'Approve'), ' ',
              h('button', { type: 'button', class: 'small danger', 'aria-label': `Reject ${u.name}`, onclick: () => act('Rejected', [u.name]) }, 'Reject')));
        }))),
    pager(data, render, 'pending users'));
}

/* ---------------- Users ---------------- */

function grantText(g) {
  return `${g.role} in ${g.scope}${g.via.startsWith('Team') ? ` (via ${g.via})` : ''}${g.expiresAt ? (g.expired ? `, expired ${fmtTime(g.expiresAt)}` : `, until ${fmtTime(g.expiresAt)}`) : ''}`;
}

async function users(view) {
  const state = params().get('state') ?? '';
  const data = await api(`/api/users?${listQuery(state ? { state } : {})}`);
  const result = resultArea('result');
  const run = async (path, body) => {
    try {
      show(result, resultsBox((await api(path, body)).results));
    } catch (err) {
      show(result, errorBox(err));
    }
    await refresh();
  };
  const stateSel = h('select', { id: 'state' }, ['', 'Pending', 'Active', 'Suspended', 'Rejected'].map((s) => h('option', { value: s, selected: s === state }, s || 'any state')));
  stateSel.addEventListener('change', () => { setParams({ state: stateSel.value, offset: 0 }, true); render(); });
  put(view,
    h('h1', {}, 'Users'),
    unreadableBox(data.unreadable),
    h('div', { class: 'toolbar' }, searchBox('Search users, teams or roles', render), h('div', { class: 'field' }, h('label', { for: 'state' }, 'State'), stateSel)),
    result,
    h('table', { id: 'users' },
      h('caption', {}, 'Roles come from role assignments naming the user or one of their teams; group-based ones depend on the identity provider and are shown on the Access page.'),
      h('thead', {}, h('tr', {}, ['User', 'State', 'Superuser', 'Teams', 'Roles (scope)', 'Next expiry', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, data.items.length === 0
        ? h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No users to show.'))
        : data.items.map((u) => h('tr', { 'data-user': u.name },
          h('th', { scope: 'row' }, u.name, u.username !== u.name ? h('div', { class: 'muted mono' }, u.username) : null, u.email ? h('div', { class: 'muted' }, u.email) : null),
          h('td', { class: `state-${u.state}` }, u.state),
          h('td', {}, u.superuser ? 'yes' : 'no', u.seed ? h('span', { class: 'badge' }, 'seed') : null),
          h('td', {}, u.teams.join(', ')),
          h('td', {}, u.roles.length ? h('ul', {}, u.roles.map((g) => h('li', { 'data-binding': g.binding }, grantText(g)))) : h('span', { class: 'muted' }, 'none')),
          h('td', {}, fmtTime(u.nextExpiry)),
          h('td', {},
            u.state === 'Active'
              ? h('button', { type: 'button', class: 'small secondary', 'aria-label': `Suspend ${u.name}`, onclick: () => run('/api/users/state', { state: 'Suspended', names: [u.name] }) }, 'Suspend')
              : h('button', { type: 'button', class: 'small secondary', 'aria-label': `Activate ${u.name}`, onclick: () => run('/api/users/state', { state: 'Active', names: [u.name] }) }, u.state === 'Pending' ? 'Approve' : 'Reactivate'),
            ' ',
            h('button', { type: 'button', class: 'small secondary', 'aria-label': `${u.superuser ? 'Revoke' : 'Grant'} superuser for ${u.name}`, onclick: () => run('/api/users/superuser', { grant: !u.superuser, names: [u.name] }) }, u.superuser ? 'Revoke superuser' : 'Grant superuser')))))),
    pager(data, render, 'users'));
}

/* ---------------- Teams ---------------- */

async function teams(view) {
  const data = await api(`/api/teams?${listQuery()}`);
  const result = resultArea('result');
  const change = async (team, action, members) => {
    try {
      show(result, resultsBox((await api('/api/teams/members', { team, action, members })).results));
    } catch (err) {
      show(result, errorBox(err));
    }
    await refresh();
  };
  put(view,
    h('h1', {}, 'Teams'),
    unreadableBox(data.unreadable),
    h('div', { class: 'toolbar' }, searchBox('Search teams, members or namespaces', render)),
    result,
    h('table', { id: 'teams' },
      h('thead', {}, h('tr', {}, ['Team', 'Members', 'Groups', 'Namespaces', 'Roles the team holds', 'Assignments scoped to the team'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, data.items.length === 0
        ? h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No teams to show.'))
        : data.items.map((t) => {
          const input = h('input', { id: `add-${t.name}`, type: 'text', size: 14, autocomplete: 'off' });
          return h('tr', { 'data-team': t.name },
            // The tree: a child is indented under its parent (rows come in tree order), with a
            // usage bar per budgeted resource of its subtree.
            h('th', { scope: 'row', class: `team-name depth-${Math.min(t.depth, 6)}` },
              t.depth > 0 ? h('span', { class: 'muted', 'aria-hidden': 'true' }, '└ ') : null, t.name,
              t.parent ? h('div', { class: 'muted' }, `in ${t.parent}`) : null,
              t.note ? h('span', { class: 'badge' }, t.note) : null,
              t.description ? h('div', { class: 'muted' }, t.description) : null,
              t.budget.length ? h('ul', { class: 'budget' }, t.budget.map((b) => h('li', {},
                h('meter', { min: '0', max: '100', value: String(b.percent ?? 0), 'aria-label': `${b.resource} used ${b.used} of ${b.hard}` }),
                h('span', { class: 'mono' }, ` ${b.used}/${b.hard} ${b.resource}`)))) : null),
            h('td', {},
              h('ul', {}, t.members.map((m) => h('li', {}, m, t.missingMembers.includes(m) ? h('span', { class: 'badge' }, 'no such user') : null, ' ',
                h('button', { type: 'button', class: 'small secondary', 'aria-label': `Remove ${m} from ${t.name}`, onclick: () => change(t.name, 'remove', [m]) }, 'Remove')))),
              h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); if (input.value.trim()) change(t.name, 'add', input.value.split(/[\s,]+/).filter(Boolean)); } },
                h('label', { for: `add-${t.name}`, class: 'sr-only' }, `Add members to ${t.name}`), input,
                h('button', { type: 'submit', class: 'small' }, 'Add'))),
            h('td', {}, t.groups.join(', ')),
            h('td', {}, t.namespaces.join(', ')),
            h('td', {}, h('ul', {}, t.holds.map((g) => h('li', {}, `${g.role} in ${g.scope}`, h('span', { class: 'muted mono' }, ` ${g.binding}`))))),
            h('td', {}, h('ul', {}, t.scopedHere.map((b) => h('li', {}, `${b.role} for ${b.subjects}`, h('span', { class: 'muted mono' }, ` ${b.binding}`))))));
        }))),
    pager(data, render, 'teams'));
}

/* ---------------- Roles ---------------- */

function field(id, label, el) {
  el.id = id;
  el.name = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), el);
}

async function roles(view) {
  const data = await api(`/api/roles?${listQuery()}`);
  const createResult = resultArea('create-result');
  const assignResult = resultArea('assign-result');
  const submit = (box, path, body) => async (e) => {
    e.preventDefault();
    show(box);
    try {
      show(box, resultsBox((await api(path, body())).results));
      await refresh();
    } catch (err) {
      show(box, errorBox(err));
    }
  };
  const v = (id) => document.getElementById(id)?.value.trim() ?? '';
  const subjectKind = h('select', {}, ['user', 'team', 'group'].map((k) => h('option', { value: k }, k)));
  put(view,
    h('h1', {}, 'Roles'),
    unreadableBox(data.unreadable),
    h('div', { class: 'toolbar' }, searchBox('Search roles or resources', render)),
    h('p', { class: 'muted' }, 'C create, R read (get, list, watch), U update and patch, D delete; * every verb; +verb any other. Included roles are folded in. ',
      h('span', { class: 'badge' }, 'preset'), ' marks roles the operator keeps from an enabled preset.'),
    h('div', { style: undefined, class: 'scroll' },
      h('table', { id: 'matrix', class: 'matrix' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Role'), data.resources.map((r) => h('th', { scope: 'col', class: 'res' }, r)), h('th', { scope: 'col' }, 'Other'))),
        h('tbody', {}, data.items.length === 0
          ? h('tr', {}, h('td', { colspan: data.resources.length + 2, class: 'muted' }, 'No roles to show.'))
          : data.items.map((r) => h('tr', { 'data-role': r.role },
            h('th', { scope: 'row', title: r.description }, r.role, r.preset ? h('span', { class: 'badge', 'data-preset': r.preset }, `preset: ${r.preset}`) : null,
              r.canAssign.length ? h('div', { class: 'muted' }, `can assign: ${r.canAssign.join(', ')}`) : null,
              r.invalid.length ? h('div', { class: 'muted' }, `invalid: ${r.invalid.join('; ')}`) : null),
            data.resources.map((res) => {
              const c = r.cells[res];
              return h('td', { class: c ? 'cell' : 'cell none', 'aria-label': c ? `${r.role}: ${res} ${c}` : `${r.role}: ${res} nothing` }, c ?? '-');
            }),
            h('td', { class: 'mono' }, r.other.join(', ')))))),
    ),
    pager(data, render, 'roles'),
    h('div', { class: 'forms' },
      h('form', { id: 'create-role', onsubmit: submit(createResult, '/api/roles', () => ({ name: v('role-name'), description: v('role-description'), permissions: v('role-permissions').split(/[\s,]+/).filter(Boolean) })) },
        h('fieldset', {}, h('legend', {}, 'Create a role from permissions'),
          field('role-name', 'New role name', h('input', { type: 'text', required: true, autocomplete: 'off' })),
          field('role-description', 'Description', h('input', { type: 'text', autocomplete: 'off' })),
          field('role-permissions', 'Permissions (one per line: jobs:write, projects:read, read, me)', h('textarea', { required: true })),
          h('p', {}, h('button', { type: 'submit' }, 'Create role')), createResult)),
      h('form', { id: 'assign-role', onsubmit: submit(assignResult, '/api/assignments', () => ({ role: v('assign-role-name'), [subjectKind.value]: v('assign-subject'), scope: v('assign-scope'), expires: v('assign-expires') })) },
        h('fieldset', {}, h('legend', {}, 'Assign a role'),
          field('assign-role-name', 'Role to assign', h('input', { type: 'text', required: true, list: 'role-names', autocomplete: 'off' })),
          h('datalist', { id: 'role-names' }, data.items.map((r) => h('option', { value: r.role }))),
          field('assign-subject-kind', 'To a', subjectKind),
          field('assign-subject', 'Subject name', h('input', { type: 'text', required: true, autocomplete: 'off' })),
          field('assign-scope', 'Scope (cluster, team:NAME or namespace:NAME)', h('input', { type: 'text', required: true, autocomplete: 'off' })),
          field('assign-expires', 'Expires (optional: 90m, 7d or an RFC 3339 time)', h('input', { type: 'text', autocomplete: 'off' })),
          h('p', {}, h('button', { type: 'submit' }, 'Assign role')), assignResult))));
}

/* ---------------- Access ---------------- */

const ACCESS_FIELDS = [['user', 'User (name or username)'], ['group', 'Groups (comma-separated)'], ['verb', 'Verb'], ['resource', 'Resource (pods, jobs.batch, ghuser/alice, /metrics)'], ['subresource', 'Subresource'], ['namespace', 'Namespace']];

function yesNo(b) {
  return b ? 'yes' : 'no';
}

function explanation(c) {
  const d = c.decision;
  const u = c.userObject;
  return h('section', { id: 'explanation', 'aria-labelledby': 'explanation-h' },
    h('h2', { id: 'explanation-h' }, `Why: ${c.user} wants to ${c.request}`),
    h('div', { class: `decision ${c.allowed ? 'allow' : 'deny'}`, 'data-verdict': d.verdict, 'data-code': d.code }, c.allowed ? 'Allowed' : d.verdict === 'deny' ? 'Denied' : 'Not allowed by Gatehouse (no opinion)', ` - ${d.code}: ${d.reason}`),
    c.note ? h('p', { class: 'muted' }, c.note) : null,
    unreadableBox(c.unreadable),
    h('dl', { class: 'chain' },
      h('dt', {}, '1. User'), h('dd', {}, u.found ? `${u.name ? `User ${u.name}` : 'seed admin'}: ${u.state}${u.superuser ? ', superuser' : ', not a superuser'}${u.seed ? ', seed admin' : ''}` : 'no User object: Gatehouse does not know this user'),
      h('dt', {}, 'Groups'), h('dd', {}, c.groups.join(', ') || 'none'),
      h('dt', {}, '2. Teams'), h('dd', {}, c.teams.length ? c.teams.map((t) => `${t.team} (${t.how})`).join(', ') : 'none'),
      h('dt', {}, '3. Role assignments'), h('dd', {}, c.bindings.length === 0 ? 'none' : h('table', { id: 'chain-bindings' },
        h('thead', {}, h('tr', {}, ['Assignment', 'Role', 'Via', 'Scope', 'Expires', 'Live', 'Scope covers', 'Role grants', ''].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, c.bindings.map((b) => h('tr', {}, h('td', { class: 'mono' }, b.name), h('td', {}, b.role + (b.roleFound ? '' : ' (missing)')), h('td', {}, b.subject), h('td', {}, b.scope), h('td', {}, b.expiresAt ?? 'never'),
          h('td', {}, yesNo(b.live)), h('td', {}, yesNo(b.coversRequest)), h('td', {}, yesNo(b.roleGrants)), h('td', {}, b.decided ? 'decided' : '')))))),
      c.project ? [h('dt', {}, '4. Namespace'), h('dd', {}, `${c.project.namespace}: owner ${c.project.owner ?? 'none'}, ${c.project.public ? 'public' : 'not public'}, teams ${c.project.teams.join(', ') || 'none'}`)] : null,
      c.project ? [h('dt', {}, '5. Defaults'), h('dd', {}, c.defaults ? `every Active user holds ${c.defaults.role} in team ${c.defaults.team}'s scope (${c.defaults.covers ? 'covers' : 'does not cover'} this namespace)` : 'none configured')] : null,
      h('dt', {}, 'Roles that grant it'), h('dd', {}, c.rolesThatGrant.join(', ') || 'none installed'),
      h('dt', {}, 'To change it'), h('dd', {}, h('ul', { id: 'hints' }, c.hints.map((x) => h('li', {}, x)))),
      h('dt', {}, 'Source'), h('dd', { class: 'muted' }, c.source)));
}

function whoCanTable(w) {
  return h('section', { id: 'who-can', 'aria-labelledby': 'who-can-h' },
    h('h2', { id: 'who-can-h' }, `Who may ${w.request} through Gatehouse`),
    unreadableBox(w.unreadable),
    h('table', {},
      h('thead', {}, h('tr', {}, ['Subject', 'Role', 'Assignment', 'Why'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, w.subjects.length === 0 ? h('tr', {}, h('td', { colspan: 4 }, 'nobody')) : w.subjects.map((e) => h('tr', {},
        h('td', {}, e.subject.kind === 'AllActiveUsers' ? 'every Active user' : `${e.subject.kind} ${e.subject.name}`),
        h('td', {}, e.grant?.role ?? (e.grant === null ? '(superuser)' : '')), h('td', { class: 'mono' }, e.grant?.binding ?? ''), h('td', {}, e.reason + (e.delegated ? ' (admission checks the scope)' : '')))))),
    h('p', { class: 'muted' }, `Native RBAC may allow others too. ${w.source}`));
}

async function access(view) {
  const p = params();
  const inputs = Object.fromEntries(ACCESS_FIELDS.map(([k]) => [k, h('input', { type: 'text', value: p.get(k) ?? (k === 'user' ? (session?.user ?? '') : ''), autocomplete: 'off' })]));
  const out = h('div', { id: 'access-result' });
  const query = () => {
    const q = new URLSearchParams();
    for (const [k] of ACCESS_FIELDS) {
      const val = inputs[k].value.trim();
      if (!val) continue;
      if (k === 'group') for (const g of val.split(',').map((x) => x.trim()).filter(Boolean)) q.append('group', g);
      else q.set(k, val);
    }
    return q;
  };
  const ask = async (mode) => {
    const q = query();
    q.set('ask', mode);
    history.replaceState(null, '', `/access?${q}`);
    q.delete('ask');
    put(out, h('p', { class: 'muted' }, 'Asking...'));
    try {
      put(out, mode === 'who-can' ? whoCanTable(await api(`/api/access/who-can?${q}`)) : explanation(await api(`/api/access/explain?${q}`)));
    } catch (err) {
      put(out, errorBox(err));
    }
  };
  put(view,
    h('h1', {}, 'Access'),
    h('p', { class: 'muted' }, 'Decided with the operator\'s own code from the objects you may list (the same as kubectl gatehouse explain and who-can).'),
    h('form', { id: 'access-form', class: 'toolbar', onsubmit: (e) => { e.preventDefault(); ask(e.submitter?.value === 'who-can' ? 'who-can' : 'explain'); } },
      ACCESS_FIELDS.map(([k, label]) => field(`access-${k}`, label, inputs[k])),
      h('button', { type: 'submit', value: 'explain' }, 'Explain'),
      h('button', { type: 'submit', value: 'who-can', class: 'secondary' }, 'Who can')),
    out);
  const mode = p.get('ask');
  if (mode && p.get('verb') && p.get('resource')) await ask(mode === 'who-can' ? 'who-can' : 'explain');
}

/* ---------------- Review (issue 24) ---------------- */

/** Every grant with its last use; the same filters as `kubectl gatehouse review`, revoke buttons. */
async function review(view) {
  const p = params();
  const q = new URLSearchParams();
  for (const k of ['unused', 'expiring', 'user', 'team', 'neverUsed', 'superusers']) if (p.get(k)) q.set(k, p.get(k));
  const data = await api(`/api/review?${q}`);
  const result = resultArea('result');
  const revokeOne = async (name) => {
    try {
      show(result, resultsBox((await api('/api/review/revoke', { names: [name] })).results));
    } catch (err) {
      show(result, errorBox(err));
    }
    await refresh();
  };
  const text = (id, label, placeholder) => h('div', { class: 'field' }, h('label', { for: `f-${id}` }, label),
    h('input', { id: `f-${id}`, name: id, type: 'text', size: 8, placeholder, value: p.get(id) ?? '', autocomplete: 'off' }));
  const check = (id, label) => h('div', { class: 'field' },
    h('input', { id: `f-${id}`, name: id, type: 'checkbox', checked: p.get(id) === 'true' }), h('label', { for: `f-${id}` }, label));
  const apply = (e) => {
    e.preventDefault();
    const form = e.target;
    const val = (id) => form.querySelector(`#f-${id}`);
    setParams({ unused: val('unused').value.trim(), expiring: val('expiring').value.trim(), user: val('user').value.trim(), team: val('team').value.trim(),
      neverUsed: val('neverUsed').checked ? 'true' : '', superusers: val('superusers').checked ? 'true' : '' });
    render();
  };
  put(view,
    h('h1', {}, 'Review'),
    h('p', { class: 'muted' }, 'Every grant with its last use (status.lastUsedAt, written at most once per review.flushInterval). In authorization mode rbac Gatehouse does not see requests and last use stays empty.'),
    data.notice ? h('div', { class: 'notice', role: 'note', id: 'review-notice' }, data.notice) : null,
    unreadableBox(data.unreadable),
    h('form', { id: 'review-filters', class: 'toolbar', onsubmit: apply },
      text('unused', 'Unused for', '90d'), check('neverUsed', 'Never used'), check('superusers', 'Superusers'),
      text('expiring', 'Expiring within', '7d'), text('user', 'User', ''), text('team', 'Team', ''),
      h('button', { type: 'submit', class: 'small' }, 'Filter')),
    result,
    h('table', { id: 'review' },
      h('thead', {}, h('tr', {}, ['Grant', 'Role', 'Subjects', 'Scope', 'Expires', 'Last used', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, data.items.length === 0
        ? h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No grants match.'))
        : data.items.map((g) => h('tr', { 'data-grant': g.name, 'data-kind': g.kind },
          h('th', { scope: 'row' }, g.name, g.kind === 'Superuser' ? h('span', { class: 'badge' }, 'superuser') : null),
          h('td', {}, g.role),
          h('td', {}, g.subjects.join(', ')),
          h('td', {}, g.scope),
          h('td', {}, g.expiresAt ?? 'never'),
          h('td', { class: 'last-used' }, g.lastUsedAt ?? 'never'),
          h('td', {}, g.kind === 'RoleBinding'
            ? h('button', { type: 'button', class: 'small secondary', 'aria-label': `Revoke ${g.name}`, onclick: () => revokeOne(g.name) }, 'Revoke')
            : null))))));
}

/* ---------------- Requests (access requests, issue 23) ---------------- */

function requestTable(id, title, rows, actions) {
  return h('section', { id, 'aria-labelledby': `${id}-h` },
    h('h2', { id: `${id}-h` }, title),
    h('table', {},
      h('thead', {}, h('tr', {}, ['Name', 'Requester', 'Role', 'Scope', 'For', 'Reason', 'Phase', 'Approvals', 'Expires', ''].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.length === 0 ? h('tr', {}, h('td', { colspan: 10 }, 'none')) : rows.map((r) => h('tr', { 'data-request': r.name, 'data-phase': r.phase },
        h('td', { class: 'mono' }, r.name), h('td', {}, r.requester), h('td', {}, r.role), h('td', { class: 'mono' }, r.scope), h('td', {}, r.duration),
        h('td', {}, r.reason), h('td', { class: 'phase' }, r.phase, r.message ? h('div', { class: 'muted' }, r.message) : null), h('td', {}, r.approvals), h('td', {}, r.expiresAt),
        h('td', {}, actions(r)))))));
}

async function requests(view) {
  const data = await api('/api/requests');
  const area = resultArea('requests-result');
  const decide = (r, action) => async () => {
    try {
      await api('/api/requests/decide', { name: r.name, action });
      show(area, h('div', { class: 'ok', role: 'status' }, `${r.name}: ${action.toLowerCase()} recorded`));
    } catch (err) {
      show(area, errorBox(err, `${action} ${r.name}`));
    }
    await refresh();
  };
  const button = (r, action, cls) => h('button', { type: 'button', class: cls, 'aria-label': `${action} ${r.name}`, onclick: decide(r, action) }, action);
  const inputs = {
    role: h('input', { id: 'request-role', type: 'text', autocomplete: 'off' }),
    scope: h('input', { id: 'request-scope', type: 'text', autocomplete: 'off', placeholder: 'team:vision' }),
    duration: h('input', { id: 'request-duration', type: 'text', autocomplete: 'off', placeholder: '4h' }),
    reason: h('input', { id: 'request-reason', type: 'text', autocomplete: 'off' }),
  };
  const submit = async (e) => {
    e.preventDefault();
    try {
      const r = await api('/api/requests', Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value])));
      show(area, h('div', { class: 'ok', role: 'status' }, `request ${r.name} made; waiting for approval`));
    } catch (err) {
      show(area, errorBox(err, 'Request'));
    }
    await refresh();
  };
  const pending = (r) => r.phase === 'Pending';
  const active = (r) => r.phase === 'Pending' || r.phase === 'Approved';
  put(view,
    h('h1', {}, 'Requests'),
    h('p', { class: 'muted' }, 'Ask for a requestable role for a while; approvers approve or deny (kubectl gatehouse request ...).'),
    h('form', { id: 'request-form', class: 'toolbar', onsubmit: submit },
      field('request-role', 'Role', inputs.role), field('request-scope', 'Scope', inputs.scope),
      field('request-duration', 'For', inputs.duration), field('request-reason', 'Reason', inputs.reason),
      h('button', { type: 'submit' }, 'Ask')),
    area,
    data.user
      ? [
        requestTable('to-approve', 'Waiting for your decision', data.toApprove, (r) => pending(r) ? [button(r, 'Approve'), ' ', button(r, 'Deny', 'secondary')] : null),
        requestTable('mine', 'Your requests', data.mine, (r) => active(r) ? button(r, 'Revoke', 'secondary') : null),
      ]
      : requestTable('all', 'Requests', data.all, (r) => pending(r) ? [button(r, 'Approve'), ' ', button(r, 'Deny', 'secondary')] : active(r) ? button(r, 'Revoke', 'secondary') : null));
}

/* ---------------- Routing, live updates ---------------- */

const PAGES = { approvals, users, teams, roles, access, review, requests };
/** Kinds each page shows; a change to another kind does not reload it. */
const WATCHES = { approvals: ['User'], users: ['User', 'Team', 'RoleBinding'], teams: ['Team', 'RoleBinding'], roles: ['Role'], access: [], review: ['User', 'RoleBinding'], requests: ['AccessRequest', 'RoleBinding'] };
let session;
let rendering = Promise.resolve();

function pageName() {
  const name = location.pathname.replace(/^\//, '');
  return name in PAGES ? name : 'approvals';
}

/**
 * carry: keep what the person has typed or ticked but not submitted yet (a live reload, or a
 * re-render after an action on the same page). Not on back/forward or a nav link: there the
 * address is what the page must show.
 */
async function draw(carry) {
  const name = pageName();
  for (const a of document.querySelectorAll('nav a[data-page]')) {
    if (a.dataset.page === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${name[0].toUpperCase()}${name.slice(1)} - Gatehouse console`;
  // Re-render into a fresh node, then swap, so focus and scroll survive a live refresh.
  const view = h('div', { id: 'view', 'data-page': name });
  const active = document.activeElement?.id;
  const caret = document.activeElement?.selectionStart;
  try {
    await PAGES[name](view);
  } catch (err) {
    put(view, h('h1', {}, name), errorBox(err));
  }
  // What was typed into a form survives a live reload of the same page. Named checkboxes are
  // form fields (the Review filters) and survive too; the approvals page's selection boxes have
  // no name, their state is the page's own `selected` set.
  const old = main.querySelector('#view');
  if (carry && old && old.dataset.page === name) {
    for (const el of old.querySelectorAll('input[id]:not([type=checkbox]):not(#q), textarea[id], select[id]:not(#state)')) {
      const twin = view.querySelector(`#${CSS.escape(el.id)}`);
      if (twin && twin.tagName === el.tagName) twin.value = el.value;
    }
    for (const el of old.querySelectorAll('input[type=checkbox][id][name]')) {
      const twin = view.querySelector(`#${CSS.escape(el.id)}`);
      if (twin && twin.type === 'checkbox') twin.checked = el.checked;
    }
  }
  put(main, view);
  main.setAttribute('aria-busy', 'false');
  // When the page was last drawn, in the page's own clock (bench:console reads it).
  main.dataset.renderedAt = performance.now().toFixed(1);
  if (active) {
    const el = document.getElementById(active);
    if (el) {
      el.focus();
      if (caret !== undefined && caret !== null && typeof el.setSelectionRange === 'function') el.setSelectionRange(caret, caret);
    }
  }
}

function render(carry = true) {
  const run = () => draw(carry);
  rendering = rendering.then(run, run);
  return rendering;
}

/** Live refresh: the same page, same query (Access is left alone: its answer is a snapshot the person asked for). */
function refresh() {
  return pageName() === 'access' ? Promise.resolve() : render();
}

document.addEventListener('click', (e) => {
  const a = e.target.closest?.('a[data-page]');
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  kept.clear();
  history.pushState(null, '', a.getAttribute('href'));
  render(false).then(() => main.focus());
});
window.addEventListener('popstate', () => {
  kept.clear();
  render(false);
});

function connect() {
  const es = new EventSource('/api/events');
  let timer;
  es.addEventListener('open', () => { live.textContent = 'live'; });
  es.addEventListener('error', () => { live.textContent = 'reconnecting'; });
  es.addEventListener('change', (ev) => {
    const { kind } = JSON.parse(ev.data);
    if (!WATCHES[pageName()].includes(kind)) return;
    clearTimeout(timer);
    timer = setTimeout(() => refresh(), 100);
  });
  es.addEventListener('unavailable', (ev) => {
    const { kind } = JSON.parse(ev.data);
    live.textContent = `live (not ${kind.toLowerCase()}s: you may not watch them)`;
  });
  // The server ends a stream that has nothing left to watch; reconnecting would only repeat that.
  es.addEventListener('end', () => {
    es.close();
    live.textContent = 'not live (you may watch none of these kinds)';
  });
}

async function start() {
  try {
    session = await api('/api/session');
    document.getElementById('whoami').textContent = session.user ? `signed in as ${session.user}` : `on ${session.server}`;
    // Which cluster of a fleet this console answers for (issue 30); nothing for an unnamed cluster.
    const cluster = document.getElementById('cluster');
    if (session.cluster && session.cluster.name) {
      cluster.textContent = `cluster ${session.cluster.title}`;
      cluster.hidden = false;
    }
  } catch {
    session = undefined;
  }
  await render();
  connect();
}

start();
