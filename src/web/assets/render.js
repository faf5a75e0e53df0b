/**
 * The web page's rendering: pure functions from the fleet model (src/web/model.ts) to HTML. Shared
 * by the daemon (the first render of GET /, no script needed) and the browser (app.js, after each
 * update). Every value from the fleet goes through `html` (format.js), which escapes it.
 */
import {
  age,
  badges,
  conditionList,
  filterRows,
  html,
  progressBar,
  revisionAlert,
  revisionCell,
  commitHref,
  commitLink,
  commitNote,
  commitNoteHtml,
  barLegend,
  dataTable,
  shortDigest,
  shortRev,
  sortRows,
  stateOf,
} from './format.js';

export {
  age,
  commitHref,
  commitLink,
  dataTable,
  esc,
  filterRows,
  html,
  pollDelay,
  POLL_BYTES_PER_SECOND,
  progressBar,
  revisionAlert,
  shortDigest,
  shortRev,
  sortRows,
  stateOf,
} from './format.js';
export { groupPage, timeline } from './group-page.js';

/** One group as a table row of the fleet view. */
export function groupRow(row, desired, note) {
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
    <td>${revisionCell(row, desired, note)}</td>
    <td class="num">${c ? `${c.updatedReady}/${row.replicas}` : `?/${row.replicas}`}</td>
    <td>${progressBar(row)}</td>
    <td>${conditionList(row)}</td>
  </tr>`;
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
    ${dataTable(
      ['lane', 'held by', 'since', 'last summary'],
      haLanes(model).map(
        (l) =>
          html`<tr data-lane="${l.lane}">
            <th scope="row">${l.lane}</th>
            <td>${l.holder?.replica ?? 'nobody'}${l.here ? ' (this replica)' : ''}</td>
            <td>${l.holder ? age(l.holder.since, now) : '—'}</td>
            <td>${l.summary ? `${shortRev(l.summary.revision)}, ${age(l.summary.publishedAt, now)} ago` : '—'}</td>
          </tr>`,
      ),
    )}
  </section>`;
}

/** Revisions: applied and attempted, the rejected one with its problems, and the history. */
export function revisionsView(model, now) {
  const s = model.source ?? {};
  return html`<section aria-labelledby="rev-h">
    <h2 id="rev-h">Revisions</h2>
    <dl class="facts">
      <dt>applied</dt>
      <dd>
        <code>${s.lastAppliedRevision ?? '—'}</code> ${s.lastAppliedRevision ? commitPage(model, s.lastAppliedRevision) : ''}
        ${s.git?.lastAppliedAt ? `(applied ${age(s.git.lastAppliedAt, now)} ago)` : ''} ${commitNote(model, now)}
      </dd>
      <dt>attempted</dt>
      <dd><code>${s.lastAttemptedRevision ?? '—'}</code> ${s.lastAttemptedRevision ? commitPage(model, s.lastAttemptedRevision) : ''}</dd>
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
    ${dataTable(
      ['revision', 'outcome', 'started', 'took', 'digests'],
      (model.history ?? []).toReversed().map(
        (h) =>
          html`<tr>
            <td>${commitLink(model, h.revision)}</td>
            <td><span class="outcome ${h.outcome}">${h.outcome}</span></td>
            <td>${age(h.startedAt, now)} ago</td>
            <td>${h.finishedAt ? `${Math.round((Date.parse(h.finishedAt) - Date.parse(h.startedAt)) / 1000)}s` : '…'}</td>
            <td>${(h.digests ?? []).map((d) => html`<code>${shortDigest(d)}</code> `)}</td>
          </tr>`,
      ),
      { cls: 'history', caption: 'Rollouts of revisions, newest first' },
    )}
  </section>`;
}

/** The forge's page of a full commit id, as a small "on the forge" link, or '' (see commitHref). */
function commitPage(model, sha) {
  const href = commitHref(model.source?.git?.url, sha);
  return href === undefined ? '' : html`<a href="${href}" rel="noreferrer" data-commit="${sha}">commit page</a>`;
}

/** Deletions the deletion guard refused: what it would have deleted and what Git must say to allow it. */
export function refusalsView(model) {
  const refusals = model.refusals ?? [];
  if (refusals.length === 0) return '';
  return html`<section class="alert" role="alert" id="refusals" aria-labelledby="refusals-h">
    <h2 id="refusals-h">Deletions refused by the deletion guard</h2>
    <ul>
      ${refusals.map((r) => html`<li data-code="${r.code}"><b>${r.group ?? 'fleet'}</b>: ${r.message}</li>`)}
    </ul>
  </section>`;
}

/** Instances drover keeps running but no longer manages (groups gone from Git, prune off or locked). */
export function orphansView(model) {
  const orphans = model.orphans;
  if (!orphans || orphans.total === 0) return '';
  const more = orphans.total - orphans.kept.length;
  return html`<section aria-labelledby="orphans-h" id="orphans">
    <h2 id="orphans-h">Kept, not managed: ${orphans.total} instance${orphans.total === 1 ? '' : 's'}</h2>
    <p class="muted">Running instances of groups no longer in Git (or locked), left alone: delete them in the cloud or allow it in Git.</p>
    ${dataTable(
      ['group', 'instance', 'zone', 'template', 'ready'],
      orphans.kept.map(
        (o) =>
          html`<tr data-orphan="${o.id}">
            <td>${o.group ?? '—'}</td>
            <td><code>${o.id}</code> ${o.name}</td>
            <td>${o.zone ?? ''}</td>
            <td><code>${o.templateHash ?? '—'}</code></td>
            <td>${o.ready ? 'yes' : 'no'}</td>
          </tr>`,
      ),
    )}
    ${more > 0 ? html`<p class="muted">and ${more} more (GET /api/v1/status lists them all)</p>` : ''}
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
  const commit = commitNote(model, now);
  return html`${revisionAlert(model)} ${refusalsView(model)}
    <p class="summary">
      <span aria-live="polite" id="summary-live"
        >${rows.length} of ${(model.groups ?? []).length} groups · fleet ${model.fleet ?? '—'} · revision
        <code>${shortRev(desired)}</code>${pages > 1 ? ` · page ${page} of ${pages}` : ''}</span
      >${commit ? html` <span class="muted" id="applied-commit">${commitNoteHtml(model, now)}</span>` : ''}
    </p>
    ${lanes.map((lane) =>
      laneTable(
        model,
        lane,
        shown.filter((r) => r.provider === lane),
        desired,
        commit,
        now,
      ),
    )}
    ${shown.length > 0 ? barLegend() : ''} ${pages > 1 ? pager(page, pages) : ''} ${orphansView(model)} ${haView(model, now)}
    ${revisionsView(model, now)} ${eventsView(model, now)}`;
}

function laneTable(model, lane, rows, desired, commit, now) {
  const listed = (model.lastPass?.providers ?? []).find((p) => p.name === lane);
  const holder = haLanes(model).find((l) => l.lane === lane)?.holder?.replica;
  const running = model.passes?.[lane];
  const pass = running
    ? `pass running for ${age(running.startedAt, now)}: ${running.actionsDone} of ${running.actionsPlanned} actions done`
    : '';
  const note = [
    listed ? (listed.ok ? `${listed.instances} instances listed` : 'listing failed') : '',
    pass,
    holder ? `held by ${holder}` : '',
  ]
    .filter((x) => x !== '')
    .join(' · ');
  return html`<section class="lane" aria-label="lane ${lane}">
    <h2>${lane} <span class="muted">${note}</span></h2>
    ${dataTable(
      ['group', 'image', 'live revision', 'ready', 'rollout', 'conditions'],
      rows.map((r) => groupRow(r, desired, commit)),
      { cls: 'groups' },
    )}
  </section>`;
}

function pager(page, pages) {
  return html`<nav class="pager" aria-label="pages">
    ${page > 1 ? html`<a href="#/?page=${page - 1}" data-page="${page - 1}" data-rel="previous">previous</a>` : ''} page ${page} of ${pages}
    ${page < pages ? html`<a href="#/?page=${page + 1}" data-page="${page + 1}" data-rel="next">next</a>` : ''}
  </nav>`;
}
