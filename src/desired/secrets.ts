/**
 * Refuses credentials written into the fleet repository. Credentials come from the environment or
 * files at run time, never from Git. Messages name the field but never repeat the value.
 */
import { gunzipSync } from 'node:zlib';
import { locate } from './parse-yaml.ts';
import type { ParsedDocument } from './parse-yaml.ts';
import type { Problem } from './problems.ts';
import type { ProviderType } from '../contract/fleet.ts';
import { CREDENTIAL_FILE_FIELDS } from '../contract/provider.ts';
import { findProviderPlugin } from '../../providers/registry.ts';

/** Key names that hold secrets when given a value (Provider documents). */
const SECRET_KEY = /(secret|password|passwd|passphrase|private[-_]?key|access[-_]?key|api[-_]?key|token|credential)s?$/i;
/** Keys that name where a secret lives, or a public identifier: allowed. */
const REFERENCE_KEYS: ReadonlySet<string> = new Set(['tokenId', 'secretEnv', ...CREDENTIAL_FILE_FIELDS, 'caFile', 'credentials']);

/** What to do instead of a credential in userData (README "Secrets at run time"). */
const USER_DATA_INSTEAD =
  "give the instance an identity (spec.placement.instanceProfile on aws, serviceAccount on gcp, managedIdentities on azure; on Proxmox a Vault AppRole or certificate) and let it fetch its secrets at run time from the platform's secret store (README 'Secrets at run time')";

/** Values that are unmistakably credentials, wherever they appear. */
const SECRET_VALUES: readonly { readonly pattern: RegExp; readonly what: string }[] = [
  { pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/, what: 'a private key' },
  { pattern: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/, what: 'an AWS access key id' },
  { pattern: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/, what: 'a GitHub token' },
  { pattern: /\bglpat-[A-Za-z0-9_-]{20,}\b/, what: 'a GitLab token' },
  { pattern: /\bAIza[0-9A-Za-z_-]{35}\b/, what: 'a Google API key' },
  { pattern: /PVEAPIToken=[^\s=]+=[0-9a-f-]{36}/i, what: 'a Proxmox API token' },
  { pattern: /"private_key"\s*:\s*"-----BEGIN/, what: 'a service-account key' },
];

/** Problems for secrets in `parsed`; an empty list means none were found. */
export function secretProblems(parsed: ParsedDocument, kind: string): Problem[] {
  const problems: Problem[] = [];
  const providerType = kind === 'Provider' ? String((parsed.value as { spec?: { type?: unknown } }).spec?.type ?? '') : '';
  visit(parsed.value, [], (segments, key, value) => {
    const keyHit = kind === 'Provider' && key !== undefined && SECRET_KEY.test(key) && !REFERENCE_KEYS.has(key) && hasValue(value);
    const valueHit = typeof value === 'string' ? secretIn(value, key === 'userData') : undefined;
    if (!keyHit && !valueHit) return;
    const field = segments.join('.');
    const what = valueHit ? `contains ${valueHit}` : 'looks like an inline secret';
    const how =
      key === 'userData'
        ? USER_DATA_INSTEAD
        : (findProviderPlugin(providerType as ProviderType)?.credentials.instead ??
          'read it at run time from an environment variable or a file');
    const { line, col } = locate(parsed, segments);
    problems.push({
      file: parsed.file,
      line,
      col,
      path: `/${segments.join('/')}`,
      code: 'secret.inline',
      message: `'${field}' ${what}: drover never takes credentials from Git. Remove it, rotate it (it is in the Git history), and ${how}`,
    });
  });
  return problems;
}

/**
 * What credential `text` carries, if any. In userData, base64 runs (cloud-init `encoding: b64`,
 * `!!binary`, a pasted `base64 -w0` of a key), URL-safe base64 (`-`/`_`) included, are decoded and
 * searched too, gzip inside included (`encoding: gz+b64`), and what they decode to is searched for
 * base64 once more (base64 of base64, attack24 F4): an encoded secret is as public in Git as a
 * plain one. Bounded by {@link MAX_DECODED} bytes in all and {@link MAX_DEPTH} levels.
 */
function secretIn(text: string, decode: boolean): string | undefined {
  const plain = SECRET_VALUES.find((s) => s.pattern.test(text));
  if (plain !== undefined) return plain.what;
  if (!decode) return undefined;
  return encodedSecret(text, { left: MAX_DECODED }, 1);
}

/** Levels of base64 decoded: base64, and base64 of base64. */
const MAX_DEPTH = 2;

function encodedSecret(text: string, budget: { left: number }, depth: number): string | undefined {
  for (const run of base64Runs(text)) {
    if (budget.left <= 0) return undefined;
    const decoded = decodedText(run.replace(/\s+/g, ''), budget.left);
    if (decoded === undefined) continue;
    budget.left -= decoded.length;
    const hit = SECRET_VALUES.find((s) => s.pattern.test(decoded));
    if (hit !== undefined) return `${hit.what} (base64-encoded)`;
    const inner = depth < MAX_DEPTH ? encodedSecret(decoded, budget, depth + 1) : undefined;
    if (inner !== undefined) return inner;
  }
  return undefined;
}

/** The base64 runs of `text`, then its URL-safe ones (only those using `-` or `_`: the others were the first kind). */
function* base64Runs(text: string): Generator<string> {
  for (const run of text.matchAll(BASE64_RUN)) yield run[0];
  for (const run of text.matchAll(BASE64URL_RUN)) if (/[-_]/.test(run[0])) yield run[0];
}

/** Base64 of at least 18 bytes, possibly wrapped over indented lines (YAML block scalars). */
const BASE64_RUN = /(?:[A-Za-z0-9+/]{4}(?:\r?\n[ \t]*)?){6,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?/g;

/** URL-safe base64 (RFC 4648 §5: `-` and `_`, padding optional) of at least 18 bytes. Node's base64 decoder reads both alphabets. */
const BASE64URL_RUN = /(?:[A-Za-z0-9_-]{4}(?:\r?\n[ \t]*)?){6,}(?:[A-Za-z0-9_-]{2,3}={0,2})?/g;

/**
 * Most bytes decoded (and inflated) per userData: far above the 16 KiB userData takes, far below
 * what a commit of many small gzip bombs could make the loader inflate (it runs before the schema).
 */
const MAX_DECODED = 1 << 20;

function decodedText(base64: string, budget: number): string | undefined {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes.toString('latin1');
  try {
    return gunzipSync(bytes, { maxOutputLength: budget }).toString('latin1');
  } catch {
    return undefined;
  }
}

function hasValue(value: unknown): boolean {
  return (typeof value === 'string' && value.trim() !== '') || typeof value === 'number';
}

type Visitor = (segments: string[], key: string | undefined, value: unknown) => void;

function visit(value: unknown, segments: string[], visitor: Visitor, key?: string, depth = 0): void {
  if (depth > 64) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => visit(item, [...segments, String(i)], visitor, undefined, depth + 1));
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) visit(v, [...segments, k], visitor, k, depth + 1);
    return;
  }
  visitor(segments, key, value);
}
