/**
 * The page's building blocks, shared by render.js and group-page.js (and so by the daemon and the
 * browser): the `html` tag that escapes every interpolated value (group names, messages and
 * revisions come from whoever commits to the fleet: text, never markup), formats, a group's state,
 * filters and sorting, and the pieces a fleet row and a group page both show.
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

/**
 * A table in its own sideways-scrolling box (phone widths): `head` the column names, `body` the
 * rows (built by `html`), `options.cls` its class, `options.caption` its caption.
 */
export function dataTable(head, body, options = {}) {
  return html`<div class="scroll">
    <table${options.cls ? html` class="${options.cls}"` : ''}>
      ${
        options.caption
          ? html`<caption>
              ${options.caption}
            </caption>`
          : ''
      }
      <thead>
        <tr>
          ${head.map((h) => html`<th scope="col">${h}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${body}
      </tbody>
    </table>
  </div>`;
}

/** Web addresses of commits on forges whose URL layout is known, by host. */
const COMMIT_PAGES = {
  'github.com': { segments: [2, 2], page: (host, p, sha) => `https://${host}/${p}/commit/${sha}` },
  'gitlab.com': { segments: [2, 20], page: (host, p, sha) => `https://${host}/${p}/-/commit/${sha}` },
  'codeberg.org': { segments: [2, 2], page: (host, p, sha) => `https://${host}/${p}/commit/${sha}` },
  'gitea.com': { segments: [2, 2], page: (host, p, sha) => `https://${host}/${p}/commit/${sha}` },
};
const REPO_URL = /^(?:https:\/\/|ssh:\/\/git@|git@)([a-z0-9.-]+)(?::\d{1,5})?[/:]([A-Za-z0-9._/-]+?)(?:\.git)?\/?$/;
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/;
const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * The forge's web page of commit `sha` of the repository at `repoUrl` (`source.git.url`: https,
 * ssh:// or scp-like), or undefined. Only for a host whose layout is known (github.com,
 * gitlab.com, codeberg.org, gitea.com), path segments of letters, digits and `._-` (no `..`), and
 * a full hexadecimal commit id: the link is built from the fleet's config and Git, so nothing else
 * is ever turned into an address.
 */
export function commitHref(repoUrl, sha) {
  const m = REPO_URL.exec(String(repoUrl ?? ''));
  if (m === null || !SHA.test(String(sha ?? ''))) return undefined;
  const forge = Object.hasOwn(COMMIT_PAGES, m[1]) ? COMMIT_PAGES[m[1]] : undefined;
  const segments = m[2].split('/');
  const [least, most] = forge?.segments ?? [0, -1];
  if (forge === undefined || segments.length < least || segments.length > most) return undefined;
  if (!segments.every((x) => SEGMENT.test(x) && !x.includes('..'))) return undefined;
  return forge.page(m[1], segments.join('/'), sha);
}

/** A commit as `<code>` (its first 7 characters), linked to its forge page when {@link commitHref} knows one. */
export function commitLink(model, sha) {
  const href = commitHref(model.source?.git?.url, sha);
  const text = html`<code title="${sha ?? ''}">${shortRev(sha)}</code>`;
  return href === undefined ? text : html`<a href="${href}" rel="noreferrer" data-commit="${sha}">${text}</a>`;
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
/** What each segment of the progress bar counts (its tooltip and the legend). */
export const SEGMENT_NAMES = { 'new-ready': 'new, ready', new: 'new, starting', old: 'old', terminating: 'being deleted' };

/** The progress bar's legend: each segment's shape and name, so none is told by colour alone. */
export function barLegend() {
  const swatch = (cls) =>
    html`<svg width="16" height="10" viewBox="0 0 16 10" aria-hidden="true">
      <rect class="${cls}" x="0.5" y="0.5" width="15" height="9"></rect>
    </svg>`;
  return html`<p class="bar-legend muted">
    Rollout bar: ${Object.entries(SEGMENT_NAMES).map(([cls, name]) => html`${swatch(cls)} ${name} `)}· the tick marks the wanted count
  </p>`;
}

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
    const r =
      n > 0
        ? html`<rect class="${cls}" x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="10"
            ><title>${n} ${SEGMENT_NAMES[cls]}</title></rect
          >`
        : '';
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

/** The group's badges: suspended, stalled, held by. */
export function badges(row) {
  const out = [];
  if (row.suspendedBy)
    out.push(html`<span class="badge suspended" title="suspended through ${row.suspendedBy}">suspended (${row.suspendedBy})</span>`);
  if (isTrue(row, 'Stalled')) out.push(html`<span class="badge stalled">stalled</span>`);
  if (row.heldBy) out.push(html`<span class="badge held" title="the replica holding this group's lane">held by ${row.heldBy}</span>`);
  return out;
}

/** The conditions not in their healthy state, with reason and message. */
export function conditionList(row) {
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

/** The live revision against the desired one; `note` (commitNote) under it when the group is at the desired one. */
export function revisionCell(row, desired, note) {
  const live = row.lastAppliedRevision;
  const behind = desired && live !== desired;
  return html`<span
      class="rev${behind ? ' behind' : ''}"
      data-live-revision="${live ?? ''}"
      title="live ${live ?? 'none'}; desired ${desired ?? 'none'}"
      >${shortRev(live)}</span
    >${behind ? html` → <span class="rev desired">${shortRev(desired)}</span>` : ''}${!behind && note ? html`<span class="muted commit" title="${note}">${note}</span>` : ''}`;
}

/**
 * The applied commit's subject, author and age (source.git.lastAppliedCommit) as plain text (the
 * `html` tag escapes it wherever it goes, an attribute too), or '' when unknown.
 */
export function commitNote(model, now) {
  const commit = model.source?.git?.lastAppliedCommit;
  if (!commit) return '';
  return `“${isolated(commit.subject)}” · ${isolated(commit.author)} · ${age(commit.authoredAt, now)} ago`;
}

/**
 * The applied commit's subject, author and age as markup: subject and author each in a <bdi>, so
 * bidi controls in them (U+202E) never reorder what follows (attack23b N7); '' when unknown.
 */
export function commitNoteHtml(model, now) {
  const commit = model.source?.git?.lastAppliedCommit;
  if (!commit) return '';
  return html`“<bdi>${commit.subject}</bdi>” · <bdi>${commit.author}</bdi> · ${age(commit.authoredAt, now)} ago`;
}

/** Bidi embedding, override and isolate controls: dropped from text shown in attributes (a title), where <bdi> cannot isolate. */
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;

function isolated(text) {
  return String(text ?? '').replace(BIDI_CONTROLS, '');
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

/** Bytes per second a page polling the status (no stream) stays under on average: half a stream's budget. */
export const POLL_BYTES_PER_SECOND = 100 * 1024;

/**
 * The wait (ms) before the next read of the status after one of `bytes` (0: unchanged, 304): at
 * least 5 s, and as long as `bytes` takes at POLL_BYTES_PER_SECOND, so that a page refused a
 * stream on a 1,000-group fleet (1.5 MB a read) does not pull more than a stream would.
 */
export function pollDelay(bytes) {
  return Math.max(5000, Math.ceil((bytes / POLL_BYTES_PER_SECOND) * 1000));
}
