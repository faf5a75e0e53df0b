/**
 * The web page's script: renders the fleet model (first from the page's data island, then from the
 * daemon's event stream), routes between the fleet view (#/) and a group page (#/groups/NAME), and
 * sends the actions with the API token the operator entered (kept in this tab's session storage,
 * sent as a bearer header, never a cookie). No framework, no build step, no external request.
 */
import { fleetView, groupPage, pollDelay } from './render.js';

const TOKEN_KEY = 'drover.apiToken';
const SAMPLES_PER_GROUP = 240;
/** Longest a selection holds updates: past it the page renders anyway (a leftover selection must not freeze it). */
const HOLD_MAX_MS = 20_000;
const main = document.getElementById('main');
const live = document.getElementById('live');
const notice = document.getElementById('notice');
const paused = document.getElementById('paused');
const state = {
  model: JSON.parse(document.getElementById('model').textContent),
  full: new Map(),
  samples: new Map(),
  view: { query: '', sort: 'name', page: 1 },
};
let renderQueued = false;
/** A render was skipped while the operator selected text; done when the selection is cleared. */
let renderHeld = false;
/** When the current hold began (undefined: none), and the updates waiting since. */
let heldSince;
let waiting = 0;
let rendered = false;
let stream;

function route() {
  const match = /^#\/groups\/([a-z][-a-z0-9]{0,39})$/.exec(location.hash);
  return match ? { group: match[1] } : { group: undefined };
}

/** The fleet view's page in the hash (`#/?page=N`), 1 when none. */
function pageOfHash() {
  const match = /^#\/\?page=([1-9][0-9]{0,5})$/.exec(location.hash);
  return match ? Number(match[1]) : 1;
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

/** The operator is selecting text in `main` (to copy a message, a digest): renders wait until the selection is cleared. */
function selecting() {
  const selection = document.getSelection();
  return (
    selection !== null &&
    !selection.isCollapsed &&
    selection.rangeCount > 0 &&
    main.contains(selection.getRangeAt(0).commonAncestorContainer)
  );
}

/**
 * Makes `old` look like `next` changing only what differs: equal nodes are kept (a row that did not
 * change is the same element, with its selection and focus), attributes and text are set in place;
 * where the children differ in number (a row added or removed) they are replaced.
 */
function morph(old, next) {
  if (old.isEqualNode(next)) return;
  if (old.nodeType !== next.nodeType || old.nodeName !== next.nodeName) return void old.replaceWith(next);
  if (old.nodeType !== Node.ELEMENT_NODE) {
    old.nodeValue = next.nodeValue;
    return;
  }
  for (const name of old.getAttributeNames()) if (!next.hasAttribute(name)) old.removeAttribute(name);
  for (const name of next.getAttributeNames()) {
    const value = next.getAttribute(name);
    if (old.getAttribute(name) !== value) old.setAttribute(name, value);
  }
  const from = [...old.childNodes];
  const to = [...next.childNodes];
  if (from.length !== to.length) return void old.replaceChildren(...to);
  from.forEach((child, i) => morph(child, to[i]));
}

/**
 * Holds a render while text is selected, at most HOLD_MAX_MS, and says so (the live indicator is
 * not "live" meanwhile). True: held.
 */
function hold() {
  if (!selecting()) return false;
  const now = Date.now();
  if (heldSince === undefined) {
    heldSince = now;
    setTimeout(schedule, HOLD_MAX_MS + 50);
  } else if (now - heldSince >= HOLD_MAX_MS) return false;
  waiting++;
  renderHeld = true;
  document.body.dataset.renderHeld = 'true';
  paused.hidden = false;
  paused.textContent = `updates paused while text is selected (${waiting} waiting; clear the selection to catch up)`;
  return true;
}

function release() {
  renderHeld = false;
  heldSince = undefined;
  waiting = 0;
  delete document.body.dataset.renderHeld;
  paused.hidden = true;
  paused.textContent = '';
}

/** Renders the route; `navigated`: the operator moved to another view, which never waits for a selection. */
function render(navigated = false) {
  renderQueued = false;
  if (!navigated && hold()) return;
  release();
  const focused = focusKey(document.activeElement);
  const { group } = route();
  const now = Date.now();
  document.body.dataset.view = group ? 'group' : 'fleet';
  let markup;
  if (group === undefined) markup = String(fleetView(state.model, state.view, now));
  else {
    const row = state.model.groups.find((g) => g.name === group);
    markup = String(groupPage(state.model, row, state.full.get(group), state.samples.get(group) ?? [], now));
  }
  const next = main.cloneNode(false);
  next.innerHTML = markup;
  morph(main, next);
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
let groupStale = false;
/**
 * Reads the group route (events, per-template counts) for the group page, at most one request at
 * a time; a change during a request reads it again after.
 */
function loadGroup(name) {
  if (groupLoad) {
    groupStale = true;
    return;
  }
  groupLoad = fetch(`/api/v1/groups/${encodeURIComponent(name)}`, { headers: { accept: 'application/json' } })
    .then((r) => (r.ok ? r.json() : undefined))
    .then((g) => {
      if (g) state.full.set(name, g);
      schedule();
    })
    .catch(() => undefined)
    .finally(() => {
      groupLoad = undefined;
      const { group } = route();
      if (groupStale && group) loadGroup(group);
      groupStale = false;
    });
}

/**
 * One stream per browser: the tab holding the `drover-live` Web Lock opens it and repeats what it
 * gets on a BroadcastChannel; the other tabs of the page follow that channel (a browser keeps at
 * most 6 connections to a host: six tabs each holding a stream left a seventh unable to load).
 * Where the browser has no Web Locks (a page served over plain HTTP to another host), each tab
 * opens its own stream.
 */
const channel = 'BroadcastChannel' in window ? new BroadcastChannel('drover-live') : undefined;
let leader = false;

/** Posts on the page's BroadcastChannel (same origin by definition: it takes no target origin). */
function post(message) {
  // oxlint-disable-next-line unicorn/require-post-message-target-origin -- a BroadcastChannel, not a window
  channel?.postMessage(message);
}

function share(message) {
  if (leader) post(message);
}

function applySnapshot(model) {
  state.model = model;
  sample(state.model.groups);
  const { group } = route();
  if (group) loadGroup(group);
  schedule();
}

function follow() {
  if (!channel || !navigator.locks) return void connect();
  channel.addEventListener('message', (e) => {
    const m = e.data;
    if (m.type === 'hello' && leader) post({ type: 'snapshot', model: state.model, live: live.dataset.state, text: live.textContent });
    if (leader) return;
    if (m.type === 'snapshot') applySnapshot(m.model);
    if (m.type === 'patch') {
      applyPatch(m.patch);
      schedule();
    }
    if (m.live) setLive(m.live, m.live === 'live' ? `${m.text} (shared with another tab)` : m.text);
  });
  setLive('down', 'connecting…');
  post({ type: 'hello' });
  navigator.locks.request('drover-live', () => {
    leader = true;
    void connect();
    return new Promise(() => undefined); // held while this tab is open
  });
}

let pollTimer;
let polling = false;
let etag;
let connectTimer;

/**
 * A one-time stream ticket for an operator (POST with the API token; an EventSource cannot send
 * it): the daemon never ends such a stream to make room for a page without one. Undefined without
 * a token or when refused.
 */
async function streamTicket() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return undefined;
  try {
    const response = await fetch('/api/v1/events/ticket', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      credentials: 'omit',
    });
    return response.ok ? (await response.json()).ticket : undefined;
  } catch {
    return undefined;
  }
}

async function connect() {
  connectTimer = undefined;
  const ticket = await streamTicket();
  // A ticket is good for one stream: its EventSource is not left to reconnect with it (below).
  stream = new EventSource(`/api/v1/events/stream${ticket ? `?ticket=${encodeURIComponent(ticket)}` : ''}`);
  const ticketed = ticket !== undefined;
  stream.addEventListener('open', () => {
    stopPolling();
    setLive('live', 'live updates on');
  });
  stream.addEventListener('snapshot', (e) => {
    applySnapshot(JSON.parse(e.data));
    share({ type: 'snapshot', model: state.model });
  });
  stream.addEventListener('patch', (e) => {
    const patch = JSON.parse(e.data);
    applyPatch(patch);
    share({ type: 'patch', patch });
    schedule();
  });
  stream.addEventListener('error', () => {
    // Ended (the daemon restarted, or made room for another reader) or refused (its caps): read
    // the status now and until a stream is open again.
    startPolling();
    // With a token (now), the stream comes back as an operator's, with a new ticket.
    if ((ticketed || sessionStorage.getItem(TOKEN_KEY) !== null) && stream.readyState !== EventSource.CLOSED) {
      stream.close();
      connectTimer ??= setTimeout(connect, 3000);
      return setLive('down', 'reconnecting… (reading the status meanwhile)');
    }
    if (stream.readyState !== EventSource.CLOSED) return setLive('down', 'reconnecting… (reading the status meanwhile)');
    setLive('down', 'live updates unavailable: reading the status until a stream is free');
    connectTimer ??= setTimeout(connect, 5000);
  });
}

function startPolling() {
  if (polling) return;
  polling = true;
  void pollLoop();
}

function stopPolling() {
  polling = false;
  clearTimeout(pollTimer);
}

async function pollLoop() {
  const delay = await poll();
  if (polling) pollTimer = setTimeout(pollLoop, delay);
}

/**
 * The fleet model from GET /api/v1/status (the stream's projection, done here: the page reads what
 * it needs), asked for only if it changed (If-None-Match: 304 when not). Returns the wait before
 * the next read: longer after a large document (pollDelay), so polling stays within a byte budget.
 */
async function poll() {
  try {
    const headers = { accept: 'application/json', ...(etag ? { 'if-none-match': etag } : {}) };
    const response = await fetch('/api/v1/status', { headers, cache: 'no-store' });
    if (response.status === 304 || !response.ok) return pollDelay(0);
    const text = await response.text();
    // A stream opened meanwhile: its snapshot and patches are newer (and patch only what it sent).
    if (!polling) return pollDelay(0);
    etag = response.headers.get('etag') ?? undefined;
    const status = JSON.parse(text);
    const kept = status.orphans?.kept ?? [];
    const model = {
      ...status,
      groups: status.groups ?? [],
      orphans: kept.length > 0 ? { kept: kept.slice(0, 200), total: kept.length } : undefined,
    };
    applySnapshot(model);
    share({ type: 'snapshot', model });
    return pollDelay(text.length);
  } catch {
    return pollDelay(0);
  }
}

function setLive(kind, text) {
  live.dataset.state = kind;
  live.textContent = text;
  share({ type: 'live', live: kind, text });
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
  if (pageOfHash() !== 1) history.replaceState(null, '', '#/');
  schedule();
});
document.getElementById('sort').addEventListener('change', (e) => {
  state.view = { ...state.view, sort: e.target.value, page: 1 };
  if (pageOfHash() !== 1) history.replaceState(null, '', '#/');
  schedule();
});
document.addEventListener('click', (e) => {
  const button = e.target.closest?.('[data-action]');
  if (button) return void act(button.dataset.action, button.dataset.target);
  const skip = e.target.closest?.('a.skip');
  if (skip) {
    // To the content of the view shown, without changing the route (a group page stays).
    e.preventDefault();
    return void main.focus();
  }
  const pager = e.target.closest?.('[data-page]');
  if (!pager) return;
  // The page goes in the hash (Back and reload keep it); the hashchange renders it.
  pagerFocus = pager.dataset.rel;
});
document.addEventListener('selectionchange', () => {
  if (renderHeld && !selecting()) schedule();
});
/** The pager link ('previous'/'next') to focus again after a page change, so keyboard users keep their place. */
let pagerFocus;
window.addEventListener('hashchange', () => {
  const { group } = route();
  if (group) loadGroup(group);
  else state.view = { ...state.view, page: pageOfHash() };
  render(true);
  const link = pagerFocus && main.querySelector(`.pager [data-rel="${pagerFocus}"]`);
  pagerFocus = undefined;
  if (link) {
    link.focus({ preventScroll: true });
    main.scrollIntoView({ block: 'start' });
  } else main.focus();
});

showToken();
state.view = { ...state.view, page: pageOfHash() };
sample(state.model.groups);
if (route().group) loadGroup(route().group);
render();
follow();
