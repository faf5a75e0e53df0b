/**
 * The page's static files (src/web/assets: the script, the renderer it shares with the daemon, the
 * style sheet, the icon), read once from disk and served from memory under /ui/.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'assets');

const TYPES: Readonly<Record<string, string>> = {
  'app.js': 'text/javascript; charset=utf-8',
  'render.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'icon.svg': 'image/svg+xml',
};

/** One file: its bytes and content type. */
export interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

let loaded: ReadonlyMap<string, Asset> | undefined;

/** The asset served at `/ui/<name>`, or undefined (only the files listed above are served). */
export function asset(name: string): Asset | undefined {
  loaded ??= new Map(Object.entries(TYPES).map(([file, type]) => [file, { body: readFileSync(path.join(DIR, file)), type }]));
  return loaded.get(name);
}
