/**
 * Refuses credentials written into the fleet repository. Credentials come from the environment or
 * files at run time, never from Git. Messages name the field but never repeat the value.
 */
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
    const valueHit = typeof value === 'string' ? SECRET_VALUES.find((s) => s.pattern.test(value)) : undefined;
    if (!keyHit && !valueHit) return;
    const field = segments.join('.');
    const what = valueHit ? `contains ${valueHit.what}` : 'looks like an inline secret';
    const how =
      findProviderPlugin(providerType as ProviderType)?.credentials.instead ?? 'read it at run time from an environment variable or a file';
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
