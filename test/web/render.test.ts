/**
 * The page's rendering without a browser (src/web/assets/render.js, shared by the daemon and the
 * browser): every value from the fleet is escaped wherever it lands (element text, attributes, the
 * SVG's labels), filters and sorting, pagination, and the model's whitelist (model.ts).
 */
import assert from 'node:assert/strict';
import {
  commitHref,
  esc,
  fleetView,
  groupPage,
  html,
  filterRows,
  sortRows,
  stateOf,
  PAGE_SIZE,
  pollDelay,
  POLL_BYTES_PER_SECOND,
  timeline,
} from '../../src/web/assets/render.js';
import { fleetModel, RowCache } from '../../src/web/model.ts';
import { jsonForScript, pageHtml } from '../../src/web/page.ts';

const XSS = `<img src=x onerror="alert(1)">'"\`&</script><script>alert(2)</script>`;
const NOW = Date.parse('2026-12-07T12:00:00Z');

/** Markup with runs of white space as one space (the templates are formatted over several lines). */
function flat(markup: unknown): string {
  return String(markup).replace(/\s+/g, ' ');
}

function condition(type: string, status: string, reason: string, message: string) {
  return { type, status, reason, message, lastTransitionTime: '2026-12-07T11:59:00Z' };
}

function group(name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    provider: 'aws-eu',
    image: 'web',
    imageDigest: 'sha256:4315c8fd5a82533f56a83922bc1d5a2cff2b1f1e76117f66673abbcffd6c9fff',
    desiredTemplateHash: '78350a11dc26',
    strategy: 'rolling',
    replicas: 6,
    capacity: { floor: 5, ceiling: 8 },
    conditions: [
      condition('Ready', 'True', 'Converged', '6 of 6 ready'),
      condition('Progressing', 'False', 'Converged', 'done'),
      condition('Degraded', 'False', 'Healthy', 'ok'),
      condition('Stalled', 'False', 'NotStalled', 'no human action needed'),
    ],
    counts: { live: 6, terminating: 0, ready: 6, available: 6, locked: 0, updated: 6, updatedReady: 6, byTemplate: [] },
    waitingFor: [],
    lastAppliedRevision: 'a'.repeat(40),
    lastAttemptedRevision: 'a'.repeat(40),
    events: [],
    ...extra,
  };
}

function names(list: { name: string }[]): string[] {
  return list.map((r) => r.name);
}

/** Every tag name in `markup`: a tag the fleet smuggled in would show up here. */
function tags(markup: string): Set<string> {
  return new Set([...markup.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1]!.toLowerCase()));
}

/** The attributes of real tags in `markup` whose name starts with "on" (event handlers), quoted values left out. */
function handlers(markup: string): string[] {
  const inTags = [...markup.matchAll(/<[a-zA-Z][^>]*>/g)].map((m) => m[0].replace(/"[^"]*"/g, '""'));
  return inTags.flatMap((tag) => [...tag.matchAll(/\s(on[a-z]+)\s*=/gi)].map((m) => m[1]!));
}

describe('web/render: escaping', () => {
  it('esc and the html tag escape text, nest safe markup, join arrays and drop empty values', () => {
    assert.equal(esc(`<a href="x">'&\``), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#96;');
    const inner = html`<b>${'<i>'}</b>`;
    assert.equal(String(html`<p>${inner}${['<', html`<br />`]}${undefined}${false}${0}</p>`), '<p><b>&lt;i&gt;</b>&lt;<br />0</p>');
  });

  it('renders a hostile fleet as text: messages, errors, revisions, image, strategy, events, HA replica names', () => {
    const hostile = group('web-eu', {
      image: XSS,
      strategy: XSS,
      desiredTemplateHash: XSS,
      imageDigest: XSS,
      suspendedBy: XSS,
      heldBy: XSS,
      conditions: [condition('Ready', 'False', XSS, XSS), condition('Stalled', 'True', XSS, XSS)],
      waitingFor: [XSS],
      waits: [{ reason: XSS, message: XSS, secondsLeft: 3 }],
      lastAppliedRevision: XSS,
      lastAttemptedRevision: XSS,
      lastError: { reason: XSS, message: XSS, at: XSS },
      events: [{ at: XSS, type: 'Warning', reason: XSS, message: XSS, revision: XSS }],
      counts: { ...group('x').counts, byTemplate: [{ templateHash: XSS, total: 1, ready: 1, byState: { running: XSS } }] },
    });
    const status = {
      fleet: XSS,
      source: {
        lastAppliedRevision: XSS,
        lastAttemptedRevision: XSS,
        lastAttemptError: { reason: XSS, message: XSS },
        git: {
          url: XSS,
          ref: XSS,
          lastAppliedCommit: { author: XSS, authoredAt: XSS, subject: XSS },
          lastAttemptError: { problems: [{ file: XSS, line: XSS, col: 1, code: XSS, message: XSS }] },
        },
      },
      events: [{ at: XSS, type: 'Warning', reason: XSS, message: XSS, group: XSS }],
      lastPass: { providers: [{ name: XSS, ok: true, instances: 1 }] },
      ha: {
        replica: XSS,
        health: { ok: false, reason: XSS },
        lanes: [{ lane: XSS, here: false, holder: { replica: XSS, token: 1, since: XSS }, summary: { revision: XSS, publishedAt: XSS } }],
      },
      history: [{ revision: XSS, digests: [XSS], startedAt: XSS, finishedAt: XSS, outcome: XSS }],
      groups: [{ ...hostile, provider: XSS }],
    };
    const model = fleetModel(status);
    const fleet = flat(fleetView(model, { query: '', sort: 'name', page: 1 }, NOW));
    const page = flat(groupPage(model, model.groups[0], hostile, [{ t: NOW - 1000, ready: 1, updatedReady: 1, live: 1 }], NOW));
    const documentHtml = flat(pageHtml(model, NOW));
    for (const markup of [fleet, page, documentHtml]) {
      assert.ok(!tags(markup).has('img'), 'no <img> from the fleet');
      assert.equal(markup.match(/<script/g)?.length ?? 0, markup === documentHtml ? 2 : 0, 'only the page own two <script> elements');
      assert.deepEqual(handlers(markup), [], 'no event handler attribute');
      assert.match(markup, /&lt;img src=x onerror=&quot;alert\(1\)&quot;&gt;/);
    }
    // The data island: JSON that cannot close its <script> element.
    const island = /<script type="application\/json" id="model">([\s\S]*?)<\/script>/.exec(documentHtml)![1]!;
    assert.ok(!island.includes('<'), 'no < inside the data island');
    assert.deepEqual(JSON.parse(island), JSON.parse(JSON.stringify(model)));
  });

  it('jsonForScript escapes what could end the script element or a line', () => {
    const text = jsonForScript({ a: '</script><!--\u2028&' });
    assert.ok(!/[<>&\u2028]/.test(text));
    assert.deepEqual(JSON.parse(text), { a: '</script><!--\u2028&' });
  });
});

describe('web/render: the fleet view', () => {
  const stalled = group('api-eu', { conditions: [condition('Stalled', 'True', 'ProviderNotBound', 'bind it')] });
  const suspended = group('web-lab', { provider: 'pve-lab', suspendedBy: 'git' });
  const rolling = group('web-gcp', {
    provider: 'gcp-prod',
    conditions: [condition('Ready', 'False', 'Rolling', 'x'), condition('Progressing', 'True', 'Rolling', 'x')],
    counts: { live: 7, terminating: 1, ready: 6, available: 6, locked: 0, updated: 2, updatedReady: 1, byTemplate: [] },
  });
  const rows = [group('worker-eu'), stalled, suspended, rolling];

  it('states, filters (words, provider:, image:, is:, cond:) and sorts', () => {
    assert.deepEqual(rows.map(stateOf), ['ready', 'stalled', 'suspended', 'progressing']);
    assert.deepEqual(names(filterRows(rows, 'provider:gcp')), ['web-gcp']);
    assert.deepEqual(names(filterRows(rows, 'is:stalled')), ['api-eu']);
    assert.deepEqual(names(filterRows(rows, 'cond:providernot')), ['api-eu']);
    assert.deepEqual(names(filterRows(rows, 'image:4315c8 web-')), ['web-lab', 'web-gcp']);
    assert.deepEqual(names(filterRows(rows, 'WORKER')), ['worker-eu']);
    assert.deepEqual(names(sortRows(rows, 'state')), ['api-eu', 'web-gcp', 'web-lab', 'worker-eu']);
    assert.deepEqual(names(sortRows(rows, 'progress')), ['web-gcp', 'api-eu', 'web-lab', 'worker-eu']);
    assert.deepEqual(names(sortRows(rows, 'name')), ['api-eu', 'web-gcp', 'web-lab', 'worker-eu']);
  });

  it('one table per lane, the live vs desired revision, badges, and the progress bar as text', () => {
    const desired = 'b'.repeat(40);
    const model = fleetModel({ source: { lastAppliedRevision: desired }, groups: rows });
    const out = flat(fleetView(model, {}, NOW));
    assert.equal(out.match(/<section class="lane"/g)?.length, 3);
    assert.match(out, /data-group="web-gcp" data-state="progressing" data-updated="2" data-updated-ready="1" data-live="7"/);
    assert.match(out, /data-live-revision="a{40}"/);
    assert.match(out, /aaaaaaa<\/span ?> → <span class="rev desired">bbbbbbb/);
    assert.match(out, /suspended \(git\)/);
    assert.match(out, /class="badge stalled"/);
    assert.match(out, /aria-label="1 of 6 new ready, 1 new starting, 5 old, 1 being deleted, 1 surge"/);
  });

  it('paginates: one page of PAGE_SIZE rows out of 1,000 groups', () => {
    const many = Array.from({ length: 1000 }, (_, i) => group(`g-${String(i).padStart(4, '0')}`));
    const out = flat(fleetView(fleetModel({ groups: many }), { page: 3 }, NOW));
    assert.equal(out.match(/<tr data-group=/g)?.length, PAGE_SIZE);
    assert.match(out, /data-group="g-0200"/);
    assert.match(out, /page 3 of 10/);
  });

  it('the timeline draws the samples against the floor and ceiling, held until now', () => {
    const out = flat(
      timeline(
        [
          { t: NOW - 20_000, ready: 6, updatedReady: 0, live: 6 },
          { t: NOW - 10_000, ready: 5, updatedReady: 2, live: 8 },
        ],
        { floor: 5, ceiling: 8 },
        6,
        [NOW - 15_000, NOW - 60_000],
        NOW,
      ),
    );
    assert.match(out, /class="floor"/);
    assert.match(out, /min 5/);
    assert.match(out, /max 8/);
    assert.equal(out.match(/class="launch"/g)?.length, 1, 'the launch before the first sample is left out');
    assert.equal(/class="ready" d="([^"]*)"/.exec(out)![1]!.split('L').length, 5, 'two samples and now, as steps');
  });
});

describe('web/model: the whitelist', () => {
  it('keeps the fleet view fields only: no per-group events, no per-template counts, no unknown field', () => {
    const model = fleetModel({
      fleet: 'f',
      secret: 'no',
      groups: [{ ...group('web-eu', { events: [{ message: 'x' }], waits: [{ reason: 'r', secondsLeft: 3 }] }), token: 'no' }],
    });
    assert.equal((model as unknown as Record<string, unknown>)['secret'], undefined);
    const row = model.groups[0]!;
    assert.equal(row['events'], undefined);
    assert.equal(row['waits'], undefined);
    assert.equal(row['token'], undefined);
    assert.deepEqual(row['counts'], { live: 6, terminating: 0, ready: 6, updated: 6, updatedReady: 6 });
    assert.deepEqual(fleetModel('nonsense'), { groups: [] });
  });
});

describe('web/render: HA', () => {
  it('lists every lane with its holder, and the lane tables name the holder', () => {
    const model = fleetModel({
      ha: {
        replica: 'r1',
        health: { ok: true, reason: 'ok' },
        lanes: [
          { lane: 'aws-eu', here: true, holder: { replica: 'r1', token: 7, since: '2026-12-07T11:58:00Z' } },
          { lane: 'gcp-prod', here: false, holder: { replica: 'r2', token: 3, since: '2026-12-07T11:59:00Z' } },
          { lane: 'pve-lab', here: false },
        ],
      },
      groups: [group('web-eu'), group('web-gcp', { provider: 'gcp-prod', lane: 'gcp-prod', heldBy: 'r2' })],
    });
    const out = flat(fleetView(model, {}, NOW));
    assert.match(out, /This replica: <b>r1<\/b> · etcd connected/);
    assert.match(out, /<tr data-lane="aws-eu"> <th scope="row">aws-eu<\/th> <td>r1 \(this replica\)<\/td> <td>2m<\/td>/);
    assert.match(out, /<tr data-lane="gcp-prod"> <th scope="row">gcp-prod<\/th> <td>r2<\/td>/);
    assert.match(out, /<tr data-lane="pve-lab"> <th scope="row">pve-lab<\/th> <td>nobody<\/td>/);
    assert.match(out, /<h2>gcp-prod <span class="muted">held by r2<\/span><\/h2>/);
    assert.match(out, /held by r2<\/span>/);
  });
});

describe('web/model: RowCache', () => {
  it('projects a group object once; a replaced object is projected again', () => {
    const cache = new RowCache();
    const a = group('web-eu');
    const first = fleetModel({ groups: [a] }, cache.row);
    const again = fleetModel({ groups: [a] }, cache.row);
    assert.equal(again.groups[0], first.groups[0], 'the same row for the same object');
    assert.equal(cache.json(first.groups[0]!), JSON.stringify(first.groups[0]));
    const replaced = fleetModel({ groups: [{ ...a, replicas: 7 }] }, cache.row);
    assert.notEqual(replaced.groups[0], first.groups[0]);
    assert.equal(replaced.groups[0]!['replicas'], 7);
    assert.equal(cache.json(replaced.groups[0]!), JSON.stringify(replaced.groups[0]));
  });
});

describe('web/render: the group page', () => {
  it('shows the failed template from the last RolloutFailed event, the last error and the waits', () => {
    const g = group('web-eu', {
      lastError: { reason: 'CreateFailed', message: 'quota exceeded', at: '2026-12-07T11:59:30Z' },
      waitingFor: ['min-ready'],
      waits: [{ reason: 'min-ready', message: 'instances become available after minReadySeconds (30s)', secondsLeft: 12 }],
      events: [
        {
          at: '2026-12-07T11:50:00Z',
          type: 'Warning',
          reason: 'RolloutFailed',
          message: 'template aaa did not become ready in time; restoring bbb',
          revision: 'c'.repeat(40),
        },
        {
          at: '2026-12-07T11:55:00Z',
          type: 'Warning',
          reason: 'RolloutFailed',
          message: 'template ddd did not become ready in time; nothing to restore',
          revision: 'e'.repeat(40),
        },
        { at: '2026-12-07T11:56:00Z', type: 'Normal', reason: 'Created', message: 'web-eu-1 (i-1): desired' },
      ],
    });
    const model = fleetModel({ groups: [g] });
    const out = flat(groupPage(model, model.groups[0], g, [], NOW));
    assert.match(
      out,
      /failed rollout<\/dt> <dd class="problem" id="failed-template"> template ddd did not become ready in time; nothing to restore <span class="muted">\(5m ago, revision eeeeeee\)/,
    );
    assert.match(out, /last error<\/dt> <dd class="problem"> CreateFailed: quota exceeded/);
    assert.match(out, /min-ready \(12s left\)/);
    assert.match(out, /data-action="suspend" data-target="web-eu"/);
    const none = flat(groupPage(model, model.groups[0], { ...g, events: [] }, [], NOW));
    assert.ok(!none.includes('failed rollout'));
    assert.match(flat(groupPage(model, undefined, undefined, [], NOW)), /No group of that name/);
  });
});

function orphan(i: number, extra: Record<string, unknown> = {}) {
  return {
    id: `i-${i}`,
    name: `worker-eu-${i}`,
    group: 'worker-eu',
    zone: 'eu-west-1a',
    templateHash: '78350a11dc26',
    reason: 'orphan',
    ready: true,
    secretTag: 'not for the page',
    ...extra,
  };
}

// Fails on the code before: the model dropped `orphans` and the page rendered `refusals` nowhere,
// so a group removed from Git with prune off vanished while its VMs kept running (outside attack
// on issue 23, F5).
describe('web/render: orphans kept and deletions refused', () => {
  it('carries orphans.kept (whitelisted, capped, with the total) and refusals into the model and shows them escaped', () => {
    const status = {
      fleet: 'f',
      groups: [group('web-eu')],
      orphans: {
        deletes: [orphan(99)],
        kept: [orphan(1, { group: XSS, name: XSS }), ...Array.from({ length: 250 }, (_, i) => orphan(i + 2))],
      },
      refusals: [{ code: 'group-deletion', group: 'worker-eu', message: `group ${XSS} is not in Git`, extra: 1 }],
    };
    const model = fleetModel(status) as unknown as {
      orphans: { kept: Record<string, unknown>[]; total: number };
      refusals: Record<string, unknown>[];
    };
    assert.equal(model.orphans.total, 251);
    assert.equal(model.orphans.kept.length, 200);
    assert.deepEqual(Object.keys(model.orphans.kept[1]!).sort(), ['group', 'id', 'name', 'ready', 'reason', 'templateHash', 'zone']);
    assert.deepEqual(Object.keys(model.refusals[0]!).sort(), ['code', 'group', 'message']);
    const markup = String(fleetView(model, {}, NOW));
    assert.match(flat(markup), /Kept, not managed: 251 instances/);
    assert.match(markup, /data-orphan="i-2"/);
    assert.match(flat(markup), /and 51 more/);
    assert.match(flat(markup), /Deletions refused by the deletion guard/);
    assert.ok(markup.includes(esc(`group ${XSS} is not in Git`)), 'the refusal message as text');
    assert.ok(!tags(markup).has('img') && !tags(markup).has('script'), 'nothing from the fleet became markup');
    assert.deepEqual(handlers(markup), []);
    const quiet = String(fleetView(fleetModel({ groups: [group('web-eu')], orphans: { deletes: [], kept: [] }, refusals: [] }), {}, NOW));
    assert.ok(!quiet.includes('Kept, not managed') && !quiet.includes('Deletions refused'));
  });
});

// Fails on the code before: the group page's tables (conditions, instances by template), the HA
// and the history tables were not in a scrolling wrapper, so at 375 px the group page laid out
// 708 px wide (outside attack on issue 23, F6).
describe('web/render: tables at phone width', () => {
  it('puts every table of the fleet view and the group page in its own sideways-scrolling container', () => {
    const g = group('web-eu', {
      counts: {
        live: 6,
        terminating: 0,
        ready: 6,
        updated: 6,
        updatedReady: 6,
        byTemplate: [{ templateHash: 'abc', total: 6, ready: 6, byState: { running: 6 } }],
      },
    });
    const model = {
      ...fleetModel({
        fleet: 'f',
        groups: [g],
        orphans: { kept: [orphan(1)] },
        history: [{ revision: 'a'.repeat(40), outcome: 'complete', startedAt: '2026-12-07T11:00:00Z' }],
      }),
      ha: { replica: 'r1', lanes: [{ lane: 'aws-eu' }] },
    };
    for (const [view, markup] of [
      ['fleet view', String(fleetView(model, {}, NOW))],
      ['group page', String(groupPage(model, model.groups[0], g, [], NOW))],
    ] as const) {
      const tables = markup.match(/<table\b/g)?.length ?? 0;
      const wrapped = markup.match(/<div class="scroll">\s*<table\b/g)?.length ?? 0;
      assert.ok(tables >= 2, `${view}: ${tables} tables`);
      assert.equal(wrapped, tables, `${view}: every table in a .scroll container`);
    }
  });
});

// Outside attack 23 F7: the group page had no instance rows and no link to the commit.
describe('web/render: the group page lists the instances and links the commit', () => {
  const SHA = 'a'.repeat(40);
  const instances = {
    total: 60,
    rows: [
      {
        id: 'i-0a1',
        name: 'web-eu-1',
        zone: 'eu-west-1a',
        templateHash: '78350a11dc26',
        state: 'running',
        ready: true,
        readySince: '2026-12-07T11:58:00Z',
        launchedAt: '2026-12-07T11:50:00Z',
      },
      { id: XSS, name: XSS, zone: XSS, templateHash: XSS, state: 'pending', ready: false, launchedAt: '2026-12-07T11:59:00Z' },
    ],
  };

  it('one row per instance: id, zone, template (desired marked), state, ready since and age; the cap said; hostile values as text', () => {
    const g = group('web-eu', { instances });
    const model = fleetModel({ groups: [g] });
    const out = flat(groupPage(model, model.groups[0], g, [], NOW));
    assert.match(
      out,
      /<tr data-instance="i-0a1" data-zone="eu-west-1a" data-template="78350a11dc26" data-instance-state="running"> <th scope="row"><code>i-0a1<\/code> <span class="muted">web-eu-1<\/span><\/th> <td>eu-west-1a<\/td> <td><code>78350a11dc26<\/code> \(desired\)<\/td> <td>running <span class="ok">ready<\/span><\/td> <td><time datetime="2026-12-07T11:58:00Z">2m ago<\/time><\/td> <td><time datetime="2026-12-07T11:50:00Z">10m<\/time><\/td>/,
    );
    assert.match(out, /2 of 60 shown/);
    assert.deepEqual(
      [...tags(out)].filter((t) => t === 'img' || t === 'script'),
      [],
    );
    assert.deepEqual(handlers(out), []);
    assert.match(flat(groupPage(model, model.groups[0], group('web-eu'), [], NOW)), /Not listed here/);
    assert.doesNotMatch(JSON.stringify(model), /i-0a1/, 'the fleet model (page, stream) carries no instance rows');
  });

  it('links a commit only on a known forge, from a well-formed repository URL and a full commit id', () => {
    assert.equal(commitHref('https://github.com/acme/fleet.git', SHA), `https://github.com/acme/fleet/commit/${SHA}`);
    assert.equal(commitHref('git@github.com:acme/fleet.git', SHA), `https://github.com/acme/fleet/commit/${SHA}`);
    assert.equal(commitHref('ssh://git@gitlab.com/grp/sub/fleet.git', SHA), `https://gitlab.com/grp/sub/fleet/-/commit/${SHA}`);
    assert.equal(commitHref('https://codeberg.org/acme/fleet', SHA), `https://codeberg.org/acme/fleet/commit/${SHA}`);
    for (const url of [
      'file:///tmp/fleet.git',
      'https://git.example.com/acme/fleet.git',
      'https://github.com.evil.example/acme/fleet',
      'http://github.com/acme/fleet',
      'javascript:alert(1)//github.com/a/b',
      'https://github.com/acme/../evil/fleet',
      'https://github.com/acme/fle"et',
      'https://github.com/acme',
      'https://github.com/a/b/c',
      undefined,
    ])
      assert.equal(commitHref(url, SHA), undefined, String(url));
    for (const sha of ['abc123', `${SHA}x`, 'A'.repeat(40), `${SHA}" onclick="x`, undefined])
      assert.equal(commitHref('https://github.com/acme/fleet', sha), undefined, String(sha));
    const g = group('web-eu', { lastAppliedRevision: SHA, lastAttemptedRevision: SHA });
    const linked = fleetModel({ source: { lastAppliedRevision: SHA, git: { url: 'https://github.com/acme/fleet.git' } }, groups: [g] });
    const page = flat(groupPage(linked, linked.groups[0], g, [], NOW));
    assert.match(
      page,
      new RegExp(
        `<a href="https://github.com/acme/fleet/commit/${SHA}" rel="noreferrer" data-commit="${SHA}"><code title="${SHA}">aaaaaaa</code></a>`,
      ),
    );
    const local = fleetModel({ source: { lastAppliedRevision: SHA, git: { url: 'file:///tmp/fleet.git' } }, groups: [g] });
    const plain = flat(groupPage(local, local.groups[0], g, [], NOW));
    assert.doesNotMatch(plain, /<a href="[^#]/, "no link but the page's own routes");
    assert.match(plain, new RegExp(`<code title="${SHA}">aaaaaaa</code>`));
  });
});

function commit(subject: string, author = 'Ann') {
  return {
    source: {
      lastAppliedRevision: 'a'.repeat(40),
      git: { lastAppliedCommit: { subject, author, authoredAt: '2026-12-07T11:59:30Z' } },
    },
    groups: [group('web-eu')],
  };
}

describe('web/render: attack23b findings', () => {
  // Fails on the code before: the aria-live summary carried the commit's age, re-announced at every render (N5).
  it('keeps the ticking age out of the live region', () => {
    const out = String(fleetView(fleetModel(commit('bump web')), {}, NOW));
    const live = /<span aria-live="polite" id="summary-live"\s*>([\s\S]*?)<\/span/.exec(out)?.[1] ?? '';
    assert.match(live, /1 of 1 groups/);
    assert.doesNotMatch(live, /ago/);
    assert.match(out, /id="applied-commit"[^>]*>“<bdi>bump web<\/bdi>” · <bdi>Ann<\/bdi> · 30s ago/);
    assert.equal(out.match(/aria-live/g)?.length, 1);
  });

  // Fails on the code before: U+202E in a subject reversed the author and age after it (N7).
  it('isolates the subject and author, and drops bidi controls from the row note', () => {
    const out = String(fleetView(fleetModel(commit('evil \u202e gnp.exe', 'Bob \u2066')), {}, NOW));
    assert.match(out, /<bdi>evil \u202e gnp.exe<\/bdi>/, 'kept in the summary, isolated');
    const note = /class="muted commit" title="([^"]*)"/.exec(out)?.[1] ?? '';
    assert.ok(note.includes('evil') && !/[\u202a-\u202e\u2066-\u2069]/.test(note), note);
  });

  // Fails on the code before: segments differed by colour alone, with no legend (N6).
  it('names every progress segment and shows a legend of their shapes', () => {
    const rolling = group('web-gcp', {
      counts: { live: 7, terminating: 1, ready: 6, available: 6, locked: 0, updated: 2, updatedReady: 1, byTemplate: [] },
    });
    const out = flat(fleetView(fleetModel({ groups: [rolling] }), {}, NOW));
    for (const title of ['1 new, ready', '1 new, starting', '5 old', '1 being deleted'])
      assert.ok(out.includes(`<title>${title}</title>`), title);
    assert.match(out, /class="bar-legend muted"/);
  });

  // Fails on the code before: a group suspended in Git offered Resume, answered "done" (N11).
  it('offers no Resume for a group suspended in Git, and says where to lift it', () => {
    const g = group('web-lab', { suspendedBy: 'git' });
    const out = flat(groupPage(fleetModel({ groups: [g] }), g, undefined, [], NOW));
    assert.doesNotMatch(out, /data-action="resume"/);
    assert.match(out, /Suspended in Git \(<code>suspend: true<\/code>/);
    const api = group('web-eu', { suspendedBy: 'api' });
    assert.match(flat(groupPage(fleetModel({ groups: [api] }), api, undefined, [], NOW)), /data-action="resume"/);
  });

  // Fails on the code before: a page refused a stream read 1.5 MB every 5 s (N9).
  it('spaces status reads so that polling stays under its byte budget', () => {
    assert.equal(pollDelay(0), 5000);
    const big = 1_500_000;
    assert.ok(big / (pollDelay(big) / 1000) <= POLL_BYTES_PER_SECOND, 'at most the budget on average');
  });

  // Fails on the code before: nothing said a lane's pass was running for minutes (N8).
  it("says in the lane's heading that its pass runs, since when and how far", () => {
    const model = fleetModel({
      groups: [group('web-eu')],
      passes: { 'aws-eu': { startedAt: '2026-12-07T11:56:00Z', actionsDone: 327, actionsPlanned: 1002 } },
    });
    assert.match(flat(fleetView(model, {}, NOW)), /aws-eu <span class="muted">pass running for 4m: 327 of 1002 actions done<\/span>/);
  });

  it('marks the pager links so focus can return to them after a page change (N10)', () => {
    const many = Array.from({ length: 250 }, (_, i) => group(`g-${String(i).padStart(4, '0')}`));
    const out = flat(fleetView(fleetModel({ groups: many }), { page: 2 }, NOW));
    assert.match(out, /href="#\/\?page=1" data-page="1" data-rel="previous"/);
    assert.match(out, /href="#\/\?page=3" data-page="3" data-rel="next"/);
  });
});
