/**
 * The page's HTML document (GET /): the header (token, reconcile), the filter and sort controls,
 * the fleet view rendered here (visible before any script runs) and the model as a JSON data
 * island the script starts from. Served with a strict Content-Security-Policy: scripts, styles and
 * images from the daemon only, no inline script or style, no frames, no form posts.
 */
import { fleetView } from './assets/render.js';
import type { FleetModel } from './model.ts';

/** The policy of the page and its assets. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every response of the page and its assets. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
};

/** The whole document for `model` at `now` (ms). */
export function pageHtml(model: FleetModel, now: number): string {
  const title = typeof model.fleet === 'string' ? `drover · ${model.fleet}` : 'drover';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeText(title)}</title>
<link rel="icon" href="/ui/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/ui/style.css">
</head>
<body data-view="fleet">
<a class="skip" href="#main">Skip to content</a>
<header>
<h1><a href="#/">drover</a></h1>
<span id="live" class="live-state" role="status">static view (the script has not started)</span>
<span id="paused" class="paused" role="status" hidden></span>
<button type="button" id="reconcile" data-action="reconcile">Reconcile now</button>
<form id="token-form" aria-label="API token">
<label for="token">API token</label>
<input id="token" type="password" autocomplete="off" spellcheck="false">
<button type="submit">Use</button>
<button type="button" id="forget" hidden>Forget</button>
<span id="token-state" class="muted"></span>
</form>
</header>
<div id="controls" role="search">
<label for="q">Filter</label>
<input id="q" type="search" placeholder="name, provider:aws-eu, image:web, is:stalled, cond:Reason" aria-describedby="q-help">
<span id="q-help" class="muted">is: ready, progressing, degraded, stalled, suspended</span>
<label for="sort">Sort</label>
<select id="sort"><option value="name">name</option><option value="provider">provider</option><option value="state">state (worst first)</option><option value="progress">progress (least first)</option></select>
</div>
<div id="notice" role="status" aria-live="polite"></div>
<main id="main" tabindex="-1">
${String(fleetView(model, { query: '', sort: 'name', page: 1 }, now))}
</main>
<script type="application/json" id="model">${jsonForScript(model)}</script>
<script type="module" src="/ui/app.js"></script>
</body>
</html>
`;
}

/** JSON that cannot end its <script> element or open a comment: `<`, `>`, `&` and line separators escaped. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
