/**
 * The group page (#/groups/NAME): facts, actions, the rollout's timeline chart, instances by
 * template and state, the last error and the group's events. Pure, like render.js.
 */
import {
  age,
  badges,
  commitLink,
  commitNote,
  dataTable,
  html,
  progressBar,
  revisionAlert,
  revisionCell,
  shortRev,
  stateOf,
} from './format.js';

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
  return html`<div class="scroll">
      <svg
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
    </div>
    <p class="legend">
      <span class="k ready">ready</span> <span class="k new-ready">new ready</span> <span class="k live">live</span>
      <span class="k floor">floor</span> <span class="k ceiling">ceiling</span> · ticks: launches
    </p>`;
}

/** The group page: facts, actions, the timeline, instances by template and state, the last error, the failed template, events. */
export function groupPage(model, row, full, samples, now) {
  if (!row)
    return html`<p><a href="#/">← fleet</a></p>
      <p class="alert" role="alert">No group of that name in this revision.</p>`;
  const g = { ...row, ...full };
  const desired = model.source?.lastAppliedRevision;
  const launches = (g.events ?? []).filter((e) => e.reason === 'Created').map((e) => Date.parse(e.at));
  // The failed template, from the group's last RolloutFailed event (its template and what is restored).
  const failed = (g.events ?? []).findLast((e) => e.reason === 'RolloutFailed');
  return html`<p><a href="#/">← fleet</a></p>
    ${revisionAlert(model)}
    <h2 id="group-h" data-group="${g.name}" data-state="${stateOf(g)}">${g.name} ${badges(g)}</h2>
    <div class="actions" role="group" aria-label="actions on ${g.name}">
      ${
        g.suspendedBy === 'git'
          ? html`<p class="muted" id="git-suspended">
              Suspended in Git (<code>suspend: true</code> in the group's file): remove it there and push to resume; the API cannot override
              Git.
            </p>`
          : html`<button type="button" data-action="${g.suspendedBy ? 'resume' : 'suspend'}" data-target="${g.name}">
              ${g.suspendedBy ? 'Resume' : 'Suspend'}
            </button>`
      }
    </div>
    <dl class="facts">
      <dt>provider</dt>
      <dd>${g.provider}</dd>
      <dt>image</dt>
      <dd>${g.image ?? ''} <code>${g.imageDigest}</code></dd>
      <dt>template</dt>
      <dd><code>${g.desiredTemplateHash}</code> · ${g.strategy}</dd>
      <dt>revision</dt>
      <dd>
        live ${revisionCell(g, desired, commitNote(model, now))} · attempted ${commitLink(model, g.lastAttemptedRevision)}
        ${g.lastAppliedRevision ? html`· commit ${commitLink(model, g.lastAppliedRevision)}` : ''}
      </dd>
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
      ${
        failed
          ? html`<dt>failed rollout</dt>
              <dd class="problem" id="failed-template">
                ${failed.message} <span class="muted">(${age(failed.at, now)} ago, revision ${shortRev(failed.revision)})</span>
              </dd>`
          : ''
      }
    </dl>
    <h3>Conditions</h3>
    ${dataTable(
      ['type', 'status', 'reason', 'message', 'since'],
      (g.conditions ?? []).map(
        (c) =>
          html`<tr>
            <th scope="row">${c.type}</th>
            <td>${c.status}</td>
            <td>${c.reason}</td>
            <td>${c.message}</td>
            <td>${age(c.lastTransitionTime, now)}</td>
          </tr>`,
      ),
    )}
    <h3>Rollout timeline</h3>
    ${timeline(samples, g.capacity, g.replicas, launches, now)}
    <h3>Instances</h3>
    ${instanceTable(g, now)}
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

/**
 * The group's instances (the status API's `instances`: at most its cap of rows, first by name, and
 * the total): id, zone, template, state, ready since, age.
 */
function instanceTable(g, now) {
  const list = g.instances;
  if (!list) return html`<p class="muted">Not listed here (the group's last pass ran elsewhere, or has not run yet).</p>`;
  if (list.total === 0) return html`<p class="muted">No instances.</p>`;
  const more = list.total - list.rows.length;
  return html`${dataTable(
    ['instance', 'zone', 'template', 'state', 'ready since', 'age'],
    list.rows.map(
      (i) =>
        html`<tr data-instance="${i.id}" data-zone="${i.zone}" data-template="${i.templateHash ?? ''}" data-instance-state="${i.state}">
          <th scope="row"><code>${i.id}</code> <span class="muted">${i.name}</span></th>
          <td>${i.zone}</td>
          <td><code>${i.templateHash ?? 'unknown'}</code>${i.templateHash === g.desiredTemplateHash ? ' (desired)' : ''}</td>
          <td>${i.state}${i.ready ? html` <span class="ok">ready</span>` : ''}</td>
          <td>${i.readySince ? html`<time datetime="${i.readySince}">${age(i.readySince, now)} ago</time>` : '—'}</td>
          <td><time datetime="${i.launchedAt}">${age(i.launchedAt, now)}</time></td>
        </tr>`,
    ),
    { cls: 'instances' },
  )}${more > 0 ? html`<p class="muted" id="instances-more">${list.rows.length} of ${list.total} shown (the status API keeps the first ${list.rows.length} by name).</p>` : ''}`;
}

function templateTable(g) {
  const rows = g.counts?.byTemplate ?? [];
  if (rows.length === 0) return html`<p class="muted">No instances listed.</p>`;
  const states = ['pending', 'running', 'stopping', 'stopped', 'terminating', 'unknown'];
  return dataTable(
    ['template', 'total', 'ready', ...states],
    rows.map(
      (t) =>
        html`<tr${t.templateHash === g.desiredTemplateHash ? html` class="desired"` : ''}><th scope="row"><code>${t.templateHash ?? 'unknown'}</code>${t.templateHash === g.desiredTemplateHash ? ' (desired)' : ''}</th><td>${t.total}</td><td>${t.ready}</td>${states.map((s) => html`<td>${t.byState?.[s] ?? 0}</td>`)}</tr>`,
    ),
    { cls: 'templates' },
  );
}
