/**
 * The web page's rendering: pure functions from the fleet model (src/web/model.ts) to HTML. Shared
 * by the daemon (the first render of GET /, no script needed) and the browser (app.js, after each
 * update). Every value from the fleet goes through `html`, which escapes it: group names, messages
 * and revisions are written by whoever commits to the fleet repository, so they are text, never markup.
 */

/** Markup that is already safe (built by `html`). */
class Safe {
  /** @param {string} text */
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function esc(value) {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

/** A template tag: interpolated values are escaped unless built by `html`; arrays are joined. */
export function html(strings, ...values) {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += fragment(values[i]) + strings[i + 1];
  return new Safe(out);
}

function fragment(value) {
  if (value instanceof Safe) return value.text;
  if (Array.isArray(value)) return value.map(fragment).join('');
  if (value === undefined || value === null || value === false) return '';
  return esc(value);
}

/** The first 7 characters of a commit (or '—'). */
export function shortRev(revision) {
  return revision ? String(revision).slice(0, 7) : '—';
}

/** The first 12 hex digits of an image digest. */
export function shortDigest(digest) {
  return digest
    ? String(digest)
        .replace(/^sha256:/, '')
        .slice(0, 12)
    : '—';
}

/** "3s", "5m", "2h", "4d" since `iso` at `now` (ms). */
export function age(iso, now) {
  const t = Date.parse(iso ?? '');
  if (Number.isNaN(t)) return '—';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function condition(row, type) {
  return (row.conditions ?? []).find((c) => c.type === type);
}

function isTrue(row, type) {
  return condition(row, type)?.status === 'True';
}

/** One word for a group's state: suspended, stalled, progressing, degraded, ready or unknown. */
export function stateOf(row) {
  if (row.suspendedBy) return 'suspended';
  if (isTrue(row, 'Stalled')) return 'stalled';
  if (isTrue(row, 'Progressing')) return 'progressing';
  if (isTrue(row, 'Degraded')) return 'degraded';
  if (isTrue(row, 'Ready')) return 'ready';
  return 'unknown';
}

const STATE_ORDER = ['stalled', 'degraded', 'progressing', 'unknown', 'suspended', 'ready'];

/**
 * The rows matching `query`: words match name, provider, image, digest or a condition's reason
 * (case ignored); `provider:X`, `image:X`, `is:STATE` (see stateOf) and `cond:REASON` narrow.
 */
export function filterRows(rows, query) {
  const terms = String(query ?? '')
    .toLowerCase()
    .split(/\s+/)
    .filter((t) => t !== '');
  return rows.filter((row) => terms.every((term) => matches(row, term)));
}

function lower(s) {
  return String(s ?? '').toLowerCase();
}

function matches(row, term) {
  const [key, value] = term.includes(':') ? [term.slice(0, term.indexOf(':')), term.slice(term.indexOf(':') + 1)] : ['', term];
  const reasons = (row.conditions ?? []).map((c) => lower(c.reason));
  if (key === 'provider') return lower(row.provider).includes(value);
  if (key === 'image') return lower(row.image).includes(value) || lower(row.imageDigest).includes(value);
  if (key === 'is') return stateOf(row) === value;
  if (key === 'cond') return reasons.some((r) => r.includes(value));
  const fields = [row.name, row.provider, row.image, row.imageDigest, ...reasons].map(lower);
  return fields.some((f) => f.includes(term));
}

/** Sorted copy: by `name`, `provider`, `state` (worst first) or `progress` (least done first). */
export function sortRows(rows, key) {
  const by = {
    name: (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    provider: (a, b) => (a.provider ?? '').localeCompare(b.provider ?? '') || by.name(a, b),
    state: (a, b) => STATE_ORDER.indexOf(stateOf(a)) - STATE_ORDER.indexOf(stateOf(b)) || by.name(a, b),
    progress: (a, b) => progressOf(a) - progressOf(b) || by.name(a, b),
  };
  return [...rows].sort(by[key] ?? by.name);
}

function progressOf(row) {
  return row.replicas > 0 ? (row.counts?.updatedReady ?? 0) / row.replicas : 1;
}

/**
 * The rollout's progress as an SVG bar: new ready, new not ready, old, being deleted; the tick is
 * the wanted count, anything past it is surge. Its text twin is the aria-label.
 */
export function progressBar(row) {
  const c = row.counts;
  if (!c) return html`<span class="muted">not observed</span>`;
  const old = Math.max(0, c.live - c.updated);
  const parts = [
    ['new-ready', c.updatedReady],
    ['new', Math.max(0, c.updated - c.updatedReady)],
    ['old', old],
    ['terminating', c.terminating ?? 0],
  ];
  const total = Math.max(1, row.replicas, c.live + (c.terminating ?? 0));
  const width = 120;
  let x = 0;
  const rects = parts.map(([cls, n]) => {
    const w = (n / total) * width;
    const r = n > 0 ? html`<rect class="${cls}" x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="10"></rect>` : '';
    x += w;
    return r;
  });
  const tick = (Math.min(row.replicas, total) / total) * width;
  const surge = Math.max(0, c.live - row.replicas);
  const label = `${c.updatedReady} of ${row.replicas} new ready, ${c.updated - c.updatedReady} new starting, ${old} old, ${c.terminating ?? 0} being deleted, ${surge} surge`;
  return html`<svg class="bar" viewBox="0 0 ${width} 10" width="${width}" height="10" role="img" aria-label="${label}">
    <rect class="track" x="0" y="0" width="${width}" height="10"></rect>
    ${rects}
    <line class="want" x1="${tick.toFixed(1)}" x2="${tick.toFixed(1)}" y1="0" y2="10"></line>
  </svg>`;
}

function badges(row) {
  const out = [];
  if (row.suspendedBy)
    out.push(html`<span class="badge suspended" title="suspended through ${row.suspendedBy}">suspended (${row.suspendedBy})</span>`);
  if (isTrue(row, 'Stalled')) out.push(html`<span class="badge stalled">stalled</span>`);
  if (row.heldBy) out.push(html`<span class="badge held" title="the replica holding this group's lane">held by ${row.heldBy}</span>`);
  return out;
}

function conditionList(row) {
  const shown = (row.conditions ?? []).filter((c) => (c.type === 'Ready' ? c.status !== 'True' : c.status !== 'False'));
  if (shown.length === 0) return html`<span class="ok">Ready</span>`;
  return html`<ul class="conds">
    ${shown.map(
      (c) =>
        html`<li class="cond ${c.status === 'True' ? 'on' : 'off'}">
          <b>${c.type}=${c.status}</b> ${c.reason}<span class="msg">: ${c.message}</span>
        </li>`,
    )}
  </ul>`;
}

function revisionCell(row, desired) {
  const live = row.lastAppliedRevision;
  const behind = desired && live !== desired;
  return html`<span
      class="rev${behind ? ' behind' : ''}"
      data-live-revision="${live ?? ''}"
      title="live ${live ?? 'none'}; desired ${desired ?? 'none'}"
      >${shortRev(live)}</span
    >${behind ? html` → <span class="rev desired">${shortRev(desired)}</span>` : ''}`;
}

/** One group as a table row of the fleet view. */
export function groupRow(row, desired) {
  const c = row.counts;
  return html`<tr
    data-group="${row.name}"
    data-state="${stateOf(row)}"
    data-updated="${c?.updated ?? ''}"
    data-updated-ready="${c?.updatedReady ?? ''}"
    data-live="${c?.live ?? ''}"
  >
    <th scope="row"><a href="#/groups/${encodeURIComponent(row.name)}">${row.name}</a> ${badges(row)}</th>
    <td>
      ${row.image ?? ''} <code title="${row.imageDigest}">${shortDigest(row.imageDigest)}</code><br /><span class="muted"
        >template ${row.desiredTemplateHash} · ${row.strategy}</span
      >
    </td>
    <td>${revisionCell(row, desired)}</td>
    <td class="num">${c ? `${c.updatedReady}/${row.replicas}` : `?/${row.replicas}`}</td>
    <td>${progressBar(row)}</td>
    <td>${conditionList(row)}</td>
  </tr>`;
}

/** The rejected or failing revision, if any, as an alert. */
export function revisionAlert(model) {
  const error = model.source?.lastAttemptError;
  if (!error) return '';
  const attempted = model.source?.lastAttemptedRevision;
  const problems = (model.source?.git?.lastAttemptError?.problems ?? []).slice(0, 5);
  return html`<div class="alert" role="alert" id="rejected">
    <b>Revision ${shortRev(attempted)} rejected</b> (${error.reason}): <span class="problem">${error.message}</span>
    ${
      problems.length > 0
        ? html`<ul class="problems">
            ${problems.map((p) => html`<li><code>${p.file}:${p.line}:${p.col}</code> ${p.code}: ${p.message}</li>`)}
          </ul>`
        : ''
    }
    <span class="muted">The last good revision ${shortRev(model.source?.lastAppliedRevision)} stays in force.</span>
  </div>`;
}

/** The fleet's last events, newest first. */
export function eventsView(model, now) {
  const events = (model.events ?? []).slice(-10).toReversed();
  if (events.length === 0) return '';
  return html`<section aria-labelledby="ev-h">
    <h2 id="ev-h">Recent events</h2>
    <ol class="events">
      ${events.map(
        (e) =>
          html`<li class="${e.type === 'Warning' ? 'warn' : ''}">
            <time datetime="${e.at}">${age(e.at, now)} ago</time>
            <b>${e.reason}</b>${e.group ? html` <a href="#/groups/${e.group}">${e.group}</a>` : ''}: ${e.message}
          </li>`,
      )}
    </ol>
  </section>`;
}

/** The HA block's lanes (`ha.lanes`: [{lane, holder?: {replica, token, since}, here, summary?}]). */
function haLanes(model) {
  return Array.isArray(model.ha?.lanes) ? model.ha.lanes : [];
}

/** The HA block: each lane and the replica holding it. */
export function haView(model, now) {
  const ha = model.ha;
  if (!ha) return '';
  const health = ha.health?.ok === true ? 'etcd connected' : `etcd not connected${ha.health?.reason ? `: ${ha.health.reason}` : ''}`;
  return html`<section aria-labelledby="ha-h">
    <h2 id="ha-h">Replicas</h2>
    <p>This replica: <b>${ha.replica ?? 'not started'}</b> · ${health}</p>
    <table>
      <thead>
        <tr>
          <th scope="col">lane</th>
          <th scope="col">held by</th>
          <th scope="col">since</th>
          <th scope="col">last summary</th>
        </tr>
      </thead>
      <tbody>
        ${haLanes(model).map(
          (l) =>
            html`<tr data-lane="${l.lane}">
              <th scope="row">${l.lane}</th>
              <td>${l.holder?.replica ?? 'nobody'}${l.here ? ' (this replica)' : ''}</td>
              <td>${l.holder ? age(l.holder.since, now) : '—'}</td>
              <td>${l.summary ? `${shortRev(l.summary.revision)}, ${age(l.summary.publishedAt, now)} ago` : '—'}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

/** Revisions: applied and attempted, the rejected one with its problems, and the history. */
export function revisionsView(model, now) {
  const s = model.source ?? {};
  return html`<section aria-labelledby="rev-h">
    <h2 id="rev-h">Revisions</h2>
    <dl class="facts">
      <dt>applied</dt>
      <dd><code>${s.lastAppliedRevision ?? '—'}</code> ${s.git?.lastAppliedAt ? `(${age(s.git.lastAppliedAt, now)} ago)` : ''}</dd>
      <dt>attempted</dt>
      <dd><code>${s.lastAttemptedRevision ?? '—'}</code></dd>
      ${
        s.lastAttemptError
          ? html`<dt>rejected</dt>
              <dd class="problem">${s.lastAttemptError.reason}: ${s.lastAttemptError.message}</dd>`
          : ''
      }
      ${
        s.git
          ? html`<dt>source</dt>
              <dd>${s.git.url ?? ''} (${s.git.ref ?? ''})</dd>`
          : ''
      }
    </dl>
    <table class="history">
      <caption>
        Rollouts of revisions, newest first
      </caption>
      <thead>
        <tr>
          <th scope="col">revision</th>
          <th scope="col">outcome</th>
          <th scope="col">started</th>
          <th scope="col">took</th>
          <th scope="col">digests</th>
        </tr>
      </thead>
      <tbody>
        ${(model.history ?? []).toReversed().map(
          (h) =>
            html`<tr>
              <td><code title="${h.revision}">${shortRev(h.revision)}</code></td>
              <td><span class="outcome ${h.outcome}">${h.outcome}</span></td>
              <td>${age(h.startedAt, now)} ago</td>
              <td>${h.finishedAt ? `${Math.round((Date.parse(h.finishedAt) - Date.parse(h.startedAt)) / 1000)}s` : '…'}</td>
              <td>${(h.digests ?? []).map((d) => html`<code>${shortDigest(d)}</code> `)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

/** Rows per page of the fleet view (the page paginates: 1,000 groups stay fast). */
export const PAGE_SIZE = 100;

/** The fleet view: the revision alert, then per provider lane its groups (filtered, sorted, one page). */
export function fleetView(model, view, now) {
  const rows = sortRows(filterRows(model.groups ?? [], view.query), view.sort);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  const page = Math.min(Math.max(1, view.page ?? 1), pages);
  const shown = rows.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const lanes = [...new Set(shown.map((r) => r.provider))];
  if (view.sort === undefined || view.sort === 'name') lanes.sort();
  const desired = model.source?.lastAppliedRevision;
  return html`${revisionAlert(model)}
    <p class="summary" aria-live="polite">
      ${rows.length} of ${(model.groups ?? []).length} groups · fleet ${model.fleet ?? '—'} · revision
      <code>${shortRev(desired)}</code>${pages > 1 ? ` · page ${page} of ${pages}` : ''}
    </p>
    ${lanes.map((lane) =>
      laneTable(
        model,
        lane,
        shown.filter((r) => r.provider === lane),
        desired,
      ),
    )}
    ${pages > 1 ? pager(page, pages) : ''} ${haView(model, now)} ${revisionsView(model, now)} ${eventsView(model, now)}`;
}

function laneTable(model, lane, rows, desired) {
  const listed = (model.lastPass?.providers ?? []).find((p) => p.name === lane);
  const holder = haLanes(model).find((l) => l.lane === lane)?.holder?.replica;
  const note = [listed ? (listed.ok ? `${listed.instances} instances listed` : 'listing failed') : '', holder ? `held by ${holder}` : '']
    .filter((x) => x !== '')
    .join(' · ');
  return html`<section class="lane" aria-label="lane ${lane}">
    <h2>${lane} <span class="muted">${note}</span></h2>
    <div class="scroll">
      <table class="groups">
        <thead>
          <tr>
            <th scope="col">group</th>
            <th scope="col">image</th>
            <th scope="col">live revision</th>
            <th scope="col">ready</th>
            <th scope="col">rollout</th>
            <th scope="col">conditions</th>
          </tr>
        </thead>
        <tbody>
          ${rows.map((r) => groupRow(r, desired))}
        </tbody>
      </table>
    </div>
  </section>`;
}

function pager(page, pages) {
  return html`<nav class="pager" aria-label="pages">
    ${page > 1 ? html`<a href="#/?page=${page - 1}" data-page="${page - 1}">previous</a>` : ''} page ${page} of ${pages}
    ${page < pages ? html`<a href="#/?page=${page + 1}" data-page="${page + 1}">next</a>` : ''}
  </nav>`;
}

/**
 * The ready capacity over time (`samples`: {t, ready, updatedReady, live}) against the floor and
 * ceiling, with a tick per launch (`launches`: times in ms), as an inline SVG; the last sample
 * holds until `now`.
 */
export function timeline(observed, capacity, replicas, launches, now) {
  if (observed.length === 0) return html`<p class="muted">No samples yet: the chart fills in while this page is open.</p>`;
  const last = observed[observed.length - 1];
  const samples = now > last.t ? [...observed, { ...last, t: now }] : observed;
  const w = 600;
  const h = 160;
  const t0 = samples[0].t;
  const t1 = Math.max(samples[samples.length - 1].t, t0 + 1000);
  const top = Math.max(1, capacity?.ceiling ?? replicas, ...samples.map((s) => s.live));
  const x = (t) => (((t - t0) / (t1 - t0)) * (w - 40) + 30).toFixed(1);
  const y = (n) => (h - 20 - (n / top) * (h - 30)).toFixed(1);
  // A step line: a count holds until the next sample.
  const line = (key) =>
    samples.map((s, i) => (i === 0 ? `M${x(s.t)},${y(s[key])}` : `L${x(s.t)},${y(samples[i - 1][key])} L${x(s.t)},${y(s[key])}`)).join(' ');
  const guide = (n, cls, label) =>
    html`<line class="${cls}" x1="30" x2="${w - 10}" y1="${y(n)}" y2="${y(n)}"></line
      ><text x="2" y="${(Number(y(n)) + 4).toFixed(1)}">${label}</text>`;
  return html`<svg
      class="timeline"
      viewBox="0 0 ${w} ${h}"
      role="img"
      aria-label="ready instances over the last ${Math.round((t1 - t0) / 1000)} s: now ${samples[samples.length - 1].ready} ready, floor ${capacity?.floor ?? '?'}, ceiling ${capacity?.ceiling ?? '?'}"
    >
      ${capacity ? guide(capacity.ceiling, 'ceiling', `max ${capacity.ceiling}`) : ''}${capacity ? guide(capacity.floor, 'floor', `min ${capacity.floor}`) : ''}
      ${launches.filter((t) => t >= t0 && t <= t1).map((t) => html`<line class="launch" x1="${x(t)}" x2="${x(t)}" y1="${h - 20}" y2="${h - 14}"></line>`)}
      <path class="live" d="${line('live')}"></path>
      <path class="ready" d="${line('ready')}"></path>
      <path class="new-ready" d="${line('updatedReady')}"></path>
      <text x="30" y="${h - 2}">${Math.round((t1 - t0) / 1000)} s</text>
    </svg>
    <p class="legend">
      <span class="k ready">ready</span> <span class="k new-ready">new ready</span> <span class="k live">live</span>
      <span class="k floor">floor</span> <span class="k ceiling">ceiling</span> · ticks: launches
    </p>`;
}

/** The group page: facts, actions, the timeline, instances by template and state, the last error, events. */
export function groupPage(model, row, full, samples, now) {
  if (!row)
    return html`<p><a href="#/">← fleet</a></p>
      <p class="alert" role="alert">No group of that name in this revision.</p>`;
  const g = { ...row, ...full };
  const desired = model.source?.lastAppliedRevision;
  const launches = (g.events ?? []).filter((e) => e.reason === 'Created').map((e) => Date.parse(e.at));
  return html`<p><a href="#/">← fleet</a></p>
    ${revisionAlert(model)}
    <h2 id="group-h" data-group="${g.name}" data-state="${stateOf(g)}">${g.name} ${badges(g)}</h2>
    <div class="actions" role="group" aria-label="actions on ${g.name}">
      <button type="button" data-action="${g.suspendedBy ? 'resume' : 'suspend'}" data-target="${g.name}">
        ${g.suspendedBy ? 'Resume' : 'Suspend'}
      </button>
    </div>
    <dl class="facts">
      <dt>provider</dt>
      <dd>${g.provider}</dd>
      <dt>image</dt>
      <dd>${g.image ?? ''} <code>${g.imageDigest}</code></dd>
      <dt>template</dt>
      <dd><code>${g.desiredTemplateHash}</code> · ${g.strategy}</dd>
      <dt>revision</dt>
      <dd>live ${revisionCell(g, desired)} · attempted <code>${shortRev(g.lastAttemptedRevision)}</code></dd>
      <dt>replicas</dt>
      <dd>
        ${g.counts ? `${g.counts.updatedReady} new ready of ${g.replicas}, ${g.counts.live} live` : `${g.replicas} wanted, not observed yet`}
        ${progressBar(g)}
      </dd>
      ${
        g.waitingFor?.length
          ? html`<dt>waiting for</dt>
              <dd>
                ${(g.waits ?? g.waitingFor.map((reason) => ({ reason }))).map((w) => html`<span class="wait">${w.reason}${w.secondsLeft !== undefined ? ` (${w.secondsLeft}s left)` : ''}${w.message ? html`<span class="msg">: ${w.message}</span>` : ''}</span> `)}
              </dd>`
          : ''
      }
      ${
        g.lastError
          ? html`<dt>last error</dt>
              <dd class="problem">
                ${g.lastError.reason}: ${g.lastError.message} <span class="muted">(${age(g.lastError.at, now)} ago)</span>
              </dd>`
          : ''
      }
    </dl>
    <h3>Conditions</h3>
    <table>
      <thead>
        <tr>
          <th scope="col">type</th>
          <th scope="col">status</th>
          <th scope="col">reason</th>
          <th scope="col">message</th>
          <th scope="col">since</th>
        </tr>
      </thead>
      <tbody>
        ${(g.conditions ?? []).map(
          (c) =>
            html`<tr>
              <th scope="row">${c.type}</th>
              <td>${c.status}</td>
              <td>${c.reason}</td>
              <td>${c.message}</td>
              <td>${age(c.lastTransitionTime, now)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h3>Rollout timeline</h3>
    ${timeline(samples, g.capacity, g.replicas, launches, now)}
    <h3>Instances by template</h3>
    ${templateTable(g)}
    <h3>Events</h3>
    <ol class="events">
      ${(g.events ?? [])
        .toReversed()
        .map(
          (e) =>
            html`<li class="${e.type === 'Warning' ? 'warn' : ''}">
              <time datetime="${e.at}">${age(e.at, now)} ago</time> <b>${e.reason}</b> ${e.message} <code>${shortRev(e.revision)}</code>
            </li>`,
        )}
    </ol>`;
}

function templateTable(g) {
  const rows = g.counts?.byTemplate ?? [];
  if (rows.length === 0) return html`<p class="muted">No instances listed.</p>`;
  const states = ['pending', 'running', 'stopping', 'stopped', 'terminating', 'unknown'];
  return html`<table class="templates">
    <thead>
      <tr>
        <th scope="col">template</th>
        <th scope="col">total</th>
        <th scope="col">ready</th>
        ${states.map((s) => html`<th scope="col">${s}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (t) =>
          html`<tr${t.templateHash === g.desiredTemplateHash ? html` class="desired"` : ''}><th scope="row"><code>${t.templateHash ?? 'unknown'}</code>${t.templateHash === g.desiredTemplateHash ? ' (desired)' : ''}</th><td>${t.total}</td><td>${t.ready}</td>${states.map((s) => html`<td>${t.byState?.[s] ?? 0}</td>`)}</tr>`,
      )}
    </tbody>
  </table>`;
}
