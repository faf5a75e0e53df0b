/**
 * Checks a schema-valid raw configuration for what JSON Schema cannot express: a port that exists,
 * durations a timer can actually wait, timeouts in the order Node requires, no NUL in strings. Each finding names its
 * field (a JSON pointer) so the caller can position it in the file or blame the variable.
 */
import { notifyValueProblems } from '../notify/config.ts';
import { bindingProblems } from './binding-checks.ts';
import { haProblems } from './ha-checks.ts';
import { durationMs } from './normalize.ts';

/** setTimeout's largest delay; longer ones fire after 1 ms (Node warns and clamps), i.e. a busy loop. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** One finding: the field and what is wrong with it. */
export interface ValueProblem {
  readonly segments: readonly string[];
  readonly code: string;
  readonly message: string;
}

type Raw = Record<string, unknown>;

/** Every duration option, as a path from the root. */
const DURATIONS: readonly (readonly string[])[] = [
  ['resyncInterval'],
  ['progressInterval'],
  ['shutdownTimeout'],
  ['source', 'git', 'interval'],
  ['webhook', 'bodyTimeout'],
  ['http', 'headersTimeout'],
  ['http', 'requestTimeout'],
  ['ha', 'etcd', 'leaseTtl'],
  ['ha', 'etcd', 'fenceWindow'],
];

/** Problems of a configuration that already passed the schema (defaults applied). */
export function valueProblems(raw: Raw): ValueProblem[] {
  const problems: ValueProblem[] = [];
  const listen = String(raw['listen'] ?? '');
  const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
  if (port > 65_535)
    problems.push({ segments: ['listen'], code: 'config.outOfRange', message: `'listen' port must be 0..65535, got ${port}` });
  for (const segments of DURATIONS) {
    const value = get(raw, segments);
    if (typeof value !== 'string') continue;
    const ms = durationMs(value);
    if (ms > MAX_TIMER_MS) {
      problems.push({
        segments,
        code: 'config.outOfRange',
        message: `'${segments.join('.')}' is ${value}, longer than drover can wait (at most ${MAX_TIMER_MS} ms, about 24 days)`,
      });
    }
  }
  for (const name of ['headersTimeout', 'requestTimeout']) {
    const value = get(raw, ['http', name]);
    if (typeof value === 'string' && durationMs(value) < 1)
      problems.push({
        segments: ['http', name],
        code: 'config.outOfRange',
        message: `'http.${name}' must be at least 1ms (a server that never times out clients can be held open by slow ones)`,
      });
  }
  for (const segments of stringsWithNul(raw, [])) {
    problems.push({
      segments,
      code: 'config.nulCharacter',
      message: `'${segments.join('.')}' contains a NUL character, which no path, URL or name can hold`,
    });
  }
  problems.push(...bindingProblems(raw['providers']));
  problems.push(...notifyValueProblems(raw));
  problems.push(...haProblems(raw['ha']));
  const headers = get(raw, ['http', 'headersTimeout']);
  const request = get(raw, ['http', 'requestTimeout']);
  if (typeof headers === 'string' && typeof request === 'string' && durationMs(headers) > durationMs(request)) {
    problems.push({
      segments: ['http', 'headersTimeout'],
      code: 'config.outOfRange',
      message: `'http.headersTimeout' (${headers}) must not be longer than 'http.requestTimeout' (${request})`,
    });
  }
  return problems;
}

/** Paths of every string value containing U+0000 (file system and URL APIs throw on them). */
function stringsWithNul(value: unknown, segments: readonly string[]): string[][] {
  if (typeof value === 'string') return value.includes('\u0000') ? [[...segments]] : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => stringsWithNul(child, [...segments, key]));
}

function get(raw: Raw, segments: readonly string[]): unknown {
  let node: unknown = raw;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Raw)[segment];
  }
  return node;
}
