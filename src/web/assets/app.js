/**
 * The web page's script: renders the fleet model (first from the page's data island, then from the
 * daemon's event stream), routes between the fleet view (#/) and a group page (#/groups/NAME), and
 * sends the actions with the API token the operator entered (kept in this tab's session storage,
 * sent as a bearer header, never a cookie). No framework, no build step, no external request.
 */
import { fleetView, groupPage } from './render.js';

const TOKEN_KEY = 'drover.apiToken';
const SAMPLES_PER_GROUP = 240;
const main = document.getElementById('main');
const live = document.getElementById('live');
const notice = document.getElementById('notice');
const state = {
  model: JSON.parse(document.getElementById('model').textContent),
  full: new Map(),
  samples: new Map(),
  view: { query: '', sort: 'name', page: 1 },
};
let renderQueued = false;
let rendered = false;
let stream;

function route() {
  const match = /^#\/groups\/([a-z][-a-z0-9]{0,39})$/.exec(location.hash);
  return match ? { group: match[1] } : { group: undefined };
}

/** A selector finding the focused element of `main` again after a render replaced it (keyboard users keep their place). */
function focusKey(element) {
  if (!element || !main.contains(element) || element === main) return undefined;
  if (element.id) return `#${CSS.escape(element.id)}`;
  if (element.dataset.action)
    return `[data-action="${CSS.escape(element.dataset.action)}"][data-target="${CSS.escape(element.dataset.target ?? '')}"]`;
  if (element.dataset.page) return `[data-page="${CSS.escape(element.dataset.page)}"]`;
  if (element.getAttribute('href')) return `a[href="${CSS.escape(element.getAttribute('href'))}"]`;
  return undefined;
}

function render() {
  renderQueued = false;
  const focused = focusKey(document.activeElement);
  const { group } = route();
  const now = Date.now();
  document.body.dataset.view = group ? 'group' : 'fleet';
  if (group === undefined) main.innerHTML = String(fleetView(state.model, state.view, now));
  else {
    const row = state.model.groups.find((g) => g.name === group);
    main.innerHTML = String(groupPage(state.model, row, state.full.get(group), state.samples.get(group) ?? [], now));
  }
  document.body.dataset.revision = state.model.source?.lastAppliedRevision ?? '';
  if (focused) main.querySelector(focused)?.focus();
  if (!rendered) performance.mark('drover-first-render');
  rendered = true;
}

function schedule() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(render, 30);
}

function sample(rows) {
  const t = Date.now();
  for (const row of rows) {
    if (!row.counts) continue;
    const list = state.samples.get(row.name) ?? [];
    const last = list[list.length - 1];
    const next = { t, ready: row.counts.ready ?? 0, updatedReady: row.counts.updatedReady ?? 0, live: row.counts.live ?? 0 };
    if (last && last.ready === next.ready && last.updatedReady === next.updatedReady && last.live === next.live) continue;
    list.push(next);
    if (list.length > SAMPLES_PER_GROUP) list.shift();
    state.samples.set(row.name, list);
  }
}

function applyPatch(patch) {
  const model = { ...state.model, ...patch.top };
  const removed = new Set(patch.removed ?? []);
  const changed = new Map((patch.groups ?? []).map((g) => [g.name, g]));
  const kept = state.model.groups.filter((g) => !removed.has(g.name)).map((g) => changed.get(g.name) ?? g);
  const known = new Set(kept.map((g) => g.name));
  const added = [...changed.values()].filter((g) => !known.has(g.name));
  model.groups = [...kept, ...added];
  state.model = model;
  sample(changed.values());
  const { group } = route();
  if (group && changed.has(group)) loadGroup(group);
}

let groupLoad;
/** Reads the group route (events, per-template counts) for the group page, at most one request at a time. */
function loadGroup(name) {
  if (groupLoad) return;
  groupLoad = fetch(`/api/v1/groups/${encodeURIComponent(name)}`, { headers: { accept: 'application/json' } })
    .then((r) => (r.ok ? r.json() : undefined))
    .then((g) => {
      if (g) state.full.set(name, g);
      schedule();
    })
    .catch(() => undefined)
    .finally(() => {
      groupLoad = undefined;
    });
}

function connect() {
  stream = new EventSource('/api/v1/events/stream');
  stream.addEventListener('open', () => setLive('live', 'live updates on'));
  stream.addEventListener('snapshot', (e) => {
    state.model = JSON.parse(e.data);
    sample(state.model.groups);
    const { group } = route();
    if (group) loadGroup(group);
    schedule();
  });
  stream.addEventListener('patch', (e) => {
    applyPatch(JSON.parse(e.data));
    schedule();
  });
  stream.addEventListener('error', () => {
    if (stream.readyState === EventSource.CLOSED) {
      setLive('down', 'live updates unavailable, retrying in 5 s');
      setTimeout(connect, 5000);
    } else setLive('down', 'reconnecting…');
  });
}

function setLive(kind, text) {
  live.dataset.state = kind;
  live.textContent = text;
}

function say(text, kind) {
  notice.textContent = text;
  notice.dataset.kind = kind;
}

async function act(action, target) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const path = action === 'reconcile' ? '/api/v1/reconcile' : `/api/v1/groups/${encodeURIComponent(target)}/${action}`;
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const what = action === 'reconcile' ? 'reconcile' : `${action} ${target}`;
  try {
    const response = await fetch(path, { method: 'POST', headers, credentials: 'omit' });
    const body = await response.json().catch(() => ({}));
    if (response.ok) say(`${what}: done`, 'ok');
    else
      say(
        `${what}: refused (${response.status}): ${body.error ?? 'no reason given'}${token ? '' : ' — enter the API token above'}`,
        'error',
      );
  } catch {
    say(`${what}: the daemon did not answer`, 'error');
  }
}

function showToken() {
  const set = sessionStorage.getItem(TOKEN_KEY) !== null;
  document.getElementById('token-state').textContent = set ? 'token set for this tab' : 'read-only: no token';
  document.getElementById('forget').hidden = !set;
}

document.getElementById('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = document.getElementById('token');
  if (input.value.trim() !== '') sessionStorage.setItem(TOKEN_KEY, input.value.trim());
  input.value = '';
  showToken();
});
document.getElementById('forget').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showToken();
});
document.getElementById('q').addEventListener('input', (e) => {
  state.view = { ...state.view, query: e.target.value, page: 1 };
  schedule();
});
document.getElementById('sort').addEventListener('change', (e) => {
  state.view = { ...state.view, sort: e.target.value, page: 1 };
  schedule();
});
document.addEventListener('click', (e) => {
  const button = e.target.closest?.('[data-action]');
  if (button) return void act(button.dataset.action, button.dataset.target);
  const pager = e.target.closest?.('[data-page]');
  if (!pager) return;
  e.preventDefault();
  state.view = { ...state.view, page: Number(pager.dataset.page) };
  schedule();
});
window.addEventListener('hashchange', () => {
  const { group } = route();
  if (group) loadGroup(group);
  render();
  main.focus();
});

showToken();
sample(state.model.groups);
if (route().group) loadGroup(route().group);
render();
connect();
