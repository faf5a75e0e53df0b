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
 * `!!binary`, a pasted `base64 -w0` of a key) are decoded and searched too, gzip inside included
 * (`encoding: gz+b64`): an encoded secret is as public in Git as a plain one.
 */
function secretIn(text: string, decode: boolean): string | undefined {
  const plain = SECRET_VALUES.find((s) => s.pattern.test(text));
  if (plain !== undefined) return plain.what;
  if (!decode) return undefined;
  let budget = MAX_DECODED;
  for (const run of text.matchAll(BASE64_RUN)) {
    if (budget <= 0) break;
    const decoded = decodedText(run[0].replace(/\s+/g, ''), budget);
    if (decoded === undefined) continue;
    budget -= decoded.length;
    const hit = SECRET_VALUES.find((s) => s.pattern.test(decoded));
    if (hit !== undefined) return `${hit.what} (base64-encoded)`;
  }
  return undefined;
}

/** Base64 of at least 18 bytes, possibly wrapped over indented lines (YAML block scalars). */
const BASE64_RUN = /(?:[A-Za-z0-9+/]{4}(?:\r?\n[ \t]*)?){6,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?/g;

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
