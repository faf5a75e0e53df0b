/**
 * The web page in a real headless Chromium (Debian's `chromium`, driven by puppeteer-core, which
 * downloads nothing) against `drover demo` (the four cloud simulators, a local Git repository and
 * the daemon; clock ×50). What is judged is what the page shows (the DOM), against the truth from
 * outside the page: the fleet's groups from fixtures/demo, revisions from the fleet repository's
 * own `git rev-parse`, suspensions from the status API. Screenshots of the fleet view and of a
 * group page taken during the rollout are written to tmp/ (to docs/ with UPDATE_SCREENSHOTS=1, the
 * README's copies).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Browser, Page } from 'puppeteer-core';
import { Agent, request } from 'undici';
import { loadFleet } from '../../src/desired/load.ts';
import { launchChromium } from './chromium.ts';

const exec = promisify(execFile);
/** The digest bump's commit message: markup, which the page must show as text. */
const MESSAGE = 'web: next build <b>2.4.1</b> & <i>fixes</i>';
const ROOT = path.resolve('.');
const SHOTS = process.env['UPDATE_SCREENSHOTS'] === '1' ? path.join(ROOT, 'docs') : path.join(ROOT, 'tmp', 'web-screenshots');

/** One fleet row as the DOM shows it. */
interface DomRow {
  name: string;
  state: string;
  updated: number;
  updatedReady: number;
  live: number;
  revision: string;
  text: string;
}

/** Read in the page (a string: this project's TypeScript has no DOM types). */
const READ_ROWS = `[...document.querySelectorAll('tr[data-group]')].map((tr) => ({
  name: tr.dataset.group, state: tr.dataset.state, updated: Number(tr.dataset.updated),
  updatedReady: Number(tr.dataset.updatedReady), live: Number(tr.dataset.live),
  revision: tr.querySelector('[data-live-revision]')?.dataset.liveRevision ?? '', text: tr.textContent }))`;

/** The group page's instance rows (a string, as READ_ROWS). */
const READ_INSTANCES = `[...document.querySelectorAll('tr[data-instance]')].map((tr) => ({
  id: tr.dataset.instance, zone: tr.dataset.zone, template: tr.dataset.template, state: tr.dataset.instanceState }))`;

/**
 * WCAG contrast of text against the page background for the page's kinds of text (in the page; a
 * string for the same reason as READ_ROWS).
 */
const CONTRASTS = `(() => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const bg = lum(rgb(getComputedStyle(document.body).backgroundColor));
  return ['main', 'main .muted', 'main a', 'main .ok', 'main .badge.suspended', 'main .cond.on b', 'header', 'main code']
    .map((selector) => ({ selector, element: document.querySelector(selector) }))
    .filter((x) => x.element)
    .map(({ selector, element }) => {
      const fg = lum(rgb(getComputedStyle(element).color));
      return { selector, ratio: (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05) };
    });
})()`;

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let failure: unknown;
  for (;;) {
    const value = await check().catch((error: unknown) => {
      failure = error;
      return undefined;
    });
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${failure ? `: ${String(failure)}` : ''}`);
    await sleep(100);
  }
}

describe('web: the page in headless Chromium against drover demo', function () {
  this.timeout(180_000);
  const workspace = path.join(ROOT, 'tmp', `web-browser-${process.pid}`);
  const fleetDir = path.join(workspace, 'fleet');
  let demo: ChildProcess | undefined;
  let output = '';
  let url = '';
  let browser: Browser | undefined;
  let page: Page;
  const problems: string[] = [];
  let names: string[] = [];
  let replicas: Record<string, number> = {};

  const git = async (...args: string[]) => (await exec('git', ['-C', fleetDir, ...args])).stdout.trim();
  const rows = async (on: Page = page) => (await on.evaluate(READ_ROWS)) as DomRow[];
  /** Clicks in the page in one step: the page re-renders on every update, and a two-step click may find its button replaced. */
  const press = async (selector: string) => {
    await page.waitForSelector(selector);
    await page.evaluate(`document.querySelector(${JSON.stringify(selector)}).click()`);
  };
  /** A simulator's world (GET /_sim/world), at the address (and CA) the demo's banner gives for `provider`. */
  const simWorld = async (provider: string) => {
    const line = output.split('\n').find((l) => l.includes(`(provider ${provider})`)) ?? '';
    const simUrl = /\s(https?:\/\/\S+)\s/.exec(line)?.[1];
    assert.ok(simUrl, `the banner names ${provider}'s simulator: ${line}`);
    const ca = /--cacert (\S+)/.exec(line)?.[1];
    const dispatcher = ca === undefined ? undefined : new Agent({ connect: { ca: readFileSync(path.resolve(ROOT, ca)) } });
    const response = await request(`${simUrl}/_sim/world`, dispatcher === undefined ? {} : { dispatcher });
    return (await response.body.json()) as { instances: { id: string; zone: string; state: string; tags: Record<string, string> }[] };
  };
  const status = async () => (await (await fetch(`${url}/api/v1/status`)).json()) as { groups: { name: string; suspendedBy?: string }[] };

  before(async function () {
    const fleet = await loadFleet(path.join(ROOT, 'fixtures/demo'));
    assert.ok(fleet.ok);
    names = Object.keys(fleet.state.groups).sort();
    replicas = Object.fromEntries(Object.values(fleet.state.groups).map((g) => [g.name, g.replicas]));
    mkdirSync(SHOTS, { recursive: true });
    demo = spawn(
      process.execPath,
      ['bin/drover', 'demo', 'fixtures/demo', '--workspace', workspace, '--port', '0', '--sim-port', '0', '--factor', '50'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    demo.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    demo.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    url = await waitFor('the demo banner', async () => /^ {2}web page\s+(http:\/\/\S+?)\/\s/m.exec(output)?.[1], 60_000);
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('request', (r) => {
      if (!r.url().startsWith(url) && !r.url().startsWith('data:')) problems.push(`external request: ${r.url()}`);
    });
  });

  after(async () => {
    await browser?.close();
    demo?.kill('SIGINT');
    await sleep(500);
    demo?.kill('SIGKILL');
    rmSync(workspace, { recursive: true, force: true });
  });

  it('loads with no console error and no external request, and shows every group at the revision Git has', async () => {
    await page.goto(`${url}/`);
    await page.waitForSelector('#live[data-state="live"]');
    const head = await git('rev-parse', 'HEAD');
    const shown = await waitFor('every group converged on the page', async () => {
      const all = await rows();
      const done = all.every((r) => r.state === 'suspended' || (r.state === 'ready' && r.revision === head));
      return all.length === names.length && done ? all : undefined;
    });
    assert.deepEqual(shown.map((r) => r.name).sort(), names);
    for (const row of shown.filter((r) => r.state !== 'suspended')) {
      assert.equal(row.revision, head, `${row.name} shows the revision Git has`);
      assert.equal(row.updatedReady, replicas[row.name], `${row.name}: every wanted instance new and ready`);
    }
    assert.match(shown.find((r) => r.name === 'web-lab')!.text, /suspended \(git\)/);
    // Filter: by state, then by provider and image; cleared, every group again.
    const filter = async (query: string, expected: string[]) => {
      await page.evaluate(
        `(() => { const q = document.getElementById('q'); q.value = ${JSON.stringify(query)}; q.dispatchEvent(new Event('input')); })()`,
      );
      await waitFor(`the filter '${query}' to show ${expected.join(', ')}`, async () => {
        const now = (await rows()).map((r) => r.name).sort();
        return now.join() === expected.join() ? true : undefined;
      });
    };
    await filter('is:suspended', ['web-lab']);
    await filter('provider:aws image:web', ['web-eu']);
    await filter('', names);
    assert.deepEqual(problems, []);
  });

  it('a digest bump moves the progress bars live and ends with the new revision on every group that uses the image', async () => {
    const before = await git('rev-parse', 'HEAD');
    const groupPage = await browser!.newPage();
    await groupPage.setViewport({ width: 1100, height: 900 });
    await groupPage.goto(`${url}/#/groups/web-eu`);
    await groupPage.waitForSelector('#group-h[data-group="web-eu"]');
    const lastReload = await page.evaluate('performance.getEntriesByType("navigation").length');
    await exec('cp', [path.join(workspace, 'next/images/web.yaml'), path.join(fleetDir, 'images/web.yaml')]);
    await git('commit', '-qam', MESSAGE);
    await git('push', '-q');
    const head = await git('rev-parse', 'HEAD');
    assert.notEqual(head, before);
    const seen = new Map<string, Set<number>>([
      ['web-eu', new Set()],
      ['web-gcp', new Set()],
    ]);
    let fleetShot = false;
    let groupShot = false;
    const final = await waitFor(
      'web-eu and web-gcp at the new revision on the page',
      async () => {
        const all = await rows();
        for (const row of all) seen.get(row.name)?.add(row.updatedReady);
        const eu = all.find((r) => r.name === 'web-eu');
        if (!fleetShot && all.some((r) => r.state === 'progressing' && r.updated > 0)) {
          await page.screenshot({ path: path.join(SHOTS, 'web-fleet.png'), fullPage: true });
          fleetShot = true;
        }
        if (!groupShot && eu && eu.updatedReady >= 1 && eu.updatedReady < replicas['web-eu']!) {
          await groupPage.screenshot({ path: path.join(SHOTS, 'web-group.png'), fullPage: true });
          groupShot = true;
        }
        const done = ['web-eu', 'web-gcp'].every((name) => {
          const row = all.find((r) => r.name === name);
          return row?.revision === head && row.state === 'ready' && row.updatedReady === replicas[name];
        });
        return done ? all : undefined;
      },
      120_000,
    );
    // The bars moved on screen: each group showed a state between none and all of its new instances ready.
    for (const [name, values] of seen) {
      const between = [...values].filter((n) => n > 0 && n < replicas[name]!);
      assert.ok(between.length > 0, `${name} showed progress between 0 and ${replicas[name]}: ${[...values].join(', ')}`);
    }
    for (const row of final.filter((r) => r.state !== 'suspended' && r.name !== 'web-lab'))
      assert.equal(row.revision, head, `${row.name} shows the new revision`);
    assert.ok(fleetShot && groupShot, 'screenshots taken during the rollout');
    // The commit's subject and author, from Git, shown as text.
    const commit = (await page.evaluate(`document.getElementById('applied-commit')?.textContent ?? ''`)) as string;
    assert.ok(commit.includes(MESSAGE), `the commit message as text: ${commit}`);
    assert.match(commit, /drover demo/, 'the author the demo repository commits as');
    assert.equal(
      await page.evaluate(`document.querySelectorAll('.commit b, .commit i, #applied-commit b').length`),
      0,
      'no markup from it',
    );
    for (const file of ['web-fleet.png', 'web-group.png']) assert.ok(readFileSync(path.join(SHOTS, file)).length > 10_000, file);
    // Live, not reloaded: the same navigation all along, and the group page drew its timeline.
    assert.equal(await page.evaluate('performance.getEntriesByType("navigation").length'), lastReload);
    assert.ok(await groupPage.$('svg.timeline path.new-ready'), 'the group page charts the rollout');
    // Its instance rows are the EC2 simulator's world: every instance of web-eu not terminated, with
    // its zone, its template tag and whether it runs (outside attack 23 F7: the page had no rows).
    const match = await waitFor(
      "web-eu's instance rows equal to the simulator's world",
      async () => {
        const world = (await simWorld('aws-eu')).instances
          .filter((i) => i.tags['drover:group'] === 'web-eu' && i.state !== 'terminated')
          .map((i) => ({ id: i.id, zone: i.zone, template: i.tags['drover:template'] ?? '', running: i.state === 'running' }))
          .sort((a, b) => (a.id < b.id ? -1 : 1));
        const shown = ((await groupPage.evaluate(READ_INSTANCES)) as { id: string; zone: string; template: string; state: string }[])
          .map((i) => ({ id: i.id, zone: i.zone, template: i.template, running: i.state === 'running' }))
          .sort((a, b) => (a.id < b.id ? -1 : 1));
        return world.length === replicas['web-eu'] && JSON.stringify(shown) === JSON.stringify(world) ? shown : undefined;
      },
      60_000,
    );
    assert.equal(new Set(match.map((i) => i.template)).size, 1, 'all on the new template once converged');
    await groupPage.close();
    assert.deepEqual(problems, []);
  });

  it('a rejected commit shows its problem, as text: a field named like markup runs nothing', async () => {
    const applied = await git('rev-parse', 'HEAD');
    const file = path.join(fleetDir, 'groups/api.yaml');
    const hostile = '<img src=x onerror=window.__xss=1>';
    const text = readFileSync(file, 'utf8').replace('  machine: { type: m6i.large }', `  machine: { type: m6i.large }\n  "${hostile}": 1`);
    await exec('sh', ['-c', `cat > "$0" <<'EOF'\n${text}EOF`, file]);
    await git('commit', '-qam', `api-eu: ${hostile} <script>window.__xss=2</script>`);
    await git('push', '-q');
    const rejected = await git('rev-parse', 'HEAD');
    const alert = await waitFor('the rejection on the page', async () => {
      const shown = (await page.evaluate(`document.getElementById('rejected')?.textContent ?? ''`)) as string;
      return shown.includes(rejected.slice(0, 7)) ? shown : undefined;
    });
    assert.match(alert, /unknown field/);
    assert.ok(alert.includes(hostile), 'the field name is shown as text');
    assert.match(alert, /groups\/api\.yaml:\d+:\d+/, 'the problem names its file and line');
    assert.equal(await page.evaluate('window.__xss ?? null'), null, 'no script ran');
    assert.equal(await page.evaluate(`document.querySelectorAll('main img, main script').length`), 0);
    // The last good revision stays in force on every group.
    for (const row of (await rows()).filter((r) => r.state !== 'suspended')) assert.equal(row.revision, applied, row.name);
    assert.deepEqual(problems, []);
  });

  it('is usable by keyboard, labelled, readable in light and dark, and fits a phone', async () => {
    const phone = await browser!.newPage();
    try {
      for (const scheme of ['light', 'dark'] as const) {
        await phone.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: scheme }]);
        await phone.setViewport({ width: 390, height: 844 });
        await phone.goto(`${url}/`);
        await phone.waitForSelector('#live[data-state="live"]');
        assert.ok(
          (await phone.evaluate('document.documentElement.scrollWidth <= window.innerWidth')) === true,
          `${scheme}: no sideways scrolling of the page at 390 px`,
        );
        const contrasts = (await phone.evaluate(CONTRASTS)) as { selector: string; ratio: number }[];
        assert.ok(contrasts.length >= 5, JSON.stringify(contrasts));
        for (const c of contrasts) assert.ok(c.ratio >= 4.5, `${scheme}: ${c.selector} has contrast ${c.ratio.toFixed(2)} (WCAG AA: 4.5)`);
      }
      assert.equal(
        await phone.evaluate(`[...document.querySelectorAll('input, select')].filter((e) => e.labels.length === 0).length`),
        0,
        'every control has a label',
      );
      // Keyboard: tab to the first group's link and follow it with Enter.
      await phone.setViewport({ width: 1280, height: 900 });
      for (let i = 0; i < 40; i++) {
        await phone.keyboard.press('Tab');
        if ((await phone.evaluate(`document.activeElement?.getAttribute('href') ?? ''`)) === '#/groups/api-azure') break;
      }
      await phone.keyboard.press('Enter');
      await phone.waitForSelector('#group-h[data-group="api-azure"]');
      // The group page at 375 px: its tables scroll inside their own container, the page does not widen.
      await phone.setViewport({ width: 375, height: 812 });
      await phone.goto(`${url}/#/groups/web-eu`);
      await phone.waitForSelector('table.templates');
      assert.ok(
        (await phone.evaluate('document.documentElement.scrollWidth <= window.innerWidth')) === true,
        `the group page at 375 px lays out ${String(await phone.evaluate('document.documentElement.scrollWidth'))} px wide`,
      );
    } finally {
      await phone.close();
    }
    assert.deepEqual(problems, []);
  });

  it('suspend is refused without the token and works with it; the token stays in session storage, never a cookie', async () => {
    await page.goto(`${url}/#/groups/worker-eu`);
    await page.waitForSelector('#group-h[data-group="worker-eu"]');
    await press('button[data-action="suspend"]');
    await page.waitForFunction(`document.getElementById('notice').textContent.includes('refused (401)')`);
    assert.equal((await status()).groups.find((g) => g.name === 'worker-eu')?.suspendedBy, undefined, 'not suspended');
    assert.deepEqual(
      problems.splice(0).filter((p) => !p.includes('401')),
      [],
      'only the refused request is reported',
    );

    const token = readFileSync(path.join(workspace, 'api-token'), 'utf8').trim();
    await page.type('#token', token);
    await page.click('#token-form button[type="submit"]');
    await press('button[data-action="suspend"]');
    await page.waitForFunction(`document.getElementById('notice').textContent.includes('suspend worker-eu: done')`);
    await waitFor('worker-eu suspended through the API', async () =>
      (await status()).groups.find((g) => g.name === 'worker-eu')?.suspendedBy === 'api' ? true : undefined,
    );
    await page.waitForFunction(`document.getElementById('group-h').textContent.includes('suspended (api)')`);
    assert.equal(await page.evaluate('document.cookie'), '');
    assert.equal(await page.evaluate(`sessionStorage.getItem('drover.apiToken')`), token);
    assert.equal(await page.evaluate(`document.getElementById('token').value`), '', 'the field is emptied');

    await press('button[data-action="resume"]');
    await waitFor('worker-eu resumed', async () =>
      (await status()).groups.find((g) => g.name === 'worker-eu')?.suspendedBy === undefined ? true : undefined,
    );
    await press('#reconcile');
    await page.waitForFunction(`document.getElementById('notice').textContent.includes('reconcile: done')`);
    assert.deepEqual(problems, []);
  });
});
