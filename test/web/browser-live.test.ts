/**
 * The page's live behaviour in headless Chromium against the real HTTP server with a scripted
 * daemon (no clouds: what is judged is the page): hostile group messages render as text and run
 * nothing, a change reaches the page without a reload, the page reconnects on its own when its
 * stream ends, and a page refused a stream (the cap) shows it and gets one once a stream is free.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'puppeteer-core';
import { startHttpServer } from '../../src/status/http-server.ts';
import type { DaemonControl, HttpServer } from '../../src/status/http-server.ts';
import { launchChromium } from './chromium.ts';

const XSS = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`;

function group(name: string, ready: number) {
  return {
    name,
    provider: 'aws-eu',
    image: 'web',
    imageDigest: 'sha256:' + '0'.repeat(64),
    desiredTemplateHash: '0123456789ab',
    strategy: 'rolling',
    replicas: 3,
    conditions: [
      {
        type: 'Ready',
        status: ready === 3 ? 'True' : 'False',
        reason: 'Progressing',
        message: XSS,
        lastTransitionTime: '2026-12-07T00:00:00Z',
      },
      { type: 'Stalled', status: 'False', reason: 'NotStalled', message: 'none', lastTransitionTime: '2026-12-07T00:00:00Z' },
    ],
    counts: { live: 3, terminating: 0, ready, updated: ready, updatedReady: ready, available: ready, locked: 0, byTemplate: [] },
    waitingFor: [],
    lastAppliedRevision: 'a'.repeat(40),
    lastError: { reason: 'CreateFailed', message: XSS, at: '2026-12-07T00:00:00Z' },
    events: [{ at: '2026-12-07T00:00:00Z', type: 'Warning', reason: 'CreateFailed', message: XSS, group: name }],
  };
}

describe('web: the page live in headless Chromium (scripted daemon)', function () {
  this.timeout(60_000);
  const listeners = new Set<() => void>();
  let status = { fleet: 'f', source: { lastAppliedRevision: 'a'.repeat(40) }, groups: [group('web-a', 0)] };
  const change = (ready: number) => {
    status = { ...status, groups: [group('web-a', ready)] };
    listeners.forEach((l) => l());
  };
  const control: DaemonControl = {
    readiness: () => ({ ready: true, reason: 'ok' }),
    status: () => status,
    group: (name) => status.groups.find((g) => g.name === name),
    reconcile: () => undefined,
    setSuspended: async () => false,
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  let server: HttpServer;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    server = await startHttpServer(control, { host: '127.0.0.1', port: 0, apiToken: 't', streams: { maxPerClient: 1, intervalMs: 100 } });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('console', (m) => (m.type() === 'error' ? problems.push(m.text()) : undefined));
    page.on('pageerror', (e) => problems.push(String(e)));
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows hostile messages as text, on the fleet view and the group page, and runs nothing', async () => {
    await page.goto(`${server.url}/`);
    await page.waitForSelector('#live[data-state="live"]');
    const row = (await page.evaluate(`document.querySelector('tr[data-group="web-a"]').textContent`)) as string;
    assert.ok(row.includes(XSS), 'the message is shown as its own text');
    await page.goto(`${server.url}/#/groups/web-a`);
    await page.waitForFunction(`document.querySelector('.events')?.textContent.includes('window.__xss=2')`);
    const text = (await page.evaluate(`document.getElementById('main').textContent`)) as string;
    assert.ok(text.split(XSS).length - 1 >= 3, 'condition, last error and event all shown as text');
    assert.equal(await page.evaluate('window.__xss ?? null'), null);
    assert.equal(await page.evaluate(`document.querySelectorAll('main img, main script').length`), 0);
    assert.deepEqual(problems, []);
  });

  it('follows changes without reloading, and reconnects on its own when the stream ends', async () => {
    await page.goto(`${server.url}/`);
    await page.waitForSelector('#live[data-state="live"]');
    change(1);
    await page.waitForFunction(`document.querySelector('tr[data-group="web-a"]').dataset.updatedReady === '1'`);
    server.web.close(); // ends every stream, as a daemon restart would
    change(2); // nobody is listening now: the page learns it from the snapshot of its next stream
    await page.waitForFunction(`document.querySelector('tr[data-group="web-a"]').dataset.updatedReady === '2'`, { timeout: 20_000 });
    assert.equal(await page.evaluate('performance.getEntriesByType("navigation").length'), 1, 'not reloaded');
    change(3);
    await page.waitForFunction(`document.querySelector('tr[data-group="web-a"]').dataset.updatedReady === '3'`);
    assert.deepEqual(problems, []);
  });

  it('a page refused a stream (the per-address cap) says so and gets one when a stream is free', async () => {
    const second = await browser.newPage();
    await second.goto(`${server.url}/`);
    await second.waitForFunction(`document.getElementById('live').textContent.includes('unavailable')`, { timeout: 20_000 });
    await page.close();
    await second.waitForSelector('#live[data-state="live"]', { timeout: 20_000 });
    change(0);
    await second.waitForFunction(`document.querySelector('tr[data-group="web-a"]').dataset.updatedReady === '0'`);
    await second.close();
  });
});
