/**
 * Turns ajv's errors for one document into problems a person can act on: one problem per mistake,
 * at the exact key or value, with the field's own description and a "did you mean" where it helps.
 */
import type { ErrorObject } from './schemas.ts';
import { didYouMean } from './did-you-mean.ts';
import { locate } from './parse-yaml.ts';
import type { ParsedDocument } from './parse-yaml.ts';
import type { Problem } from './problems.ts';
import { registeredProviderTypes } from '../../providers/registry.ts';

/** Turns every relevant ajv error into a problem. */
export function schemaProblems(parsed: ParsedDocument, errors: readonly ErrorObject[]): Problem[] {
  const kept = dropBranchNoise(errors);
  return kept.map((error) => toProblem(parsed, error));
}

/**
 * anyOf/oneOf report one error per failed branch; keep only the summary error. if/then reports
 * 'must match "then" schema' next to the branch's own error: keep the branch's (it says why).
 */
function dropBranchNoise(errors: readonly ErrorObject[]): ErrorObject[] {
  const summaries = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  return errors.filter((e) => {
    if ('propertyName' in e && e.keyword !== 'propertyNames') return false;
    if (e.keyword === 'if') return false;
    return !summaries.some((s) => s !== e && e.instancePath === s.instancePath && e.schemaPath.startsWith(`${s.schemaPath}/`));
  });
}

/**
 * Fields that hold or name a credential (`password`, `api.tokenEnv`, `credentials.secretFile`, a
 * notification sink's `urlFile`/`urlEnv`…). A
 * value refused there is never echoed: the classic mistake is pasting the secret itself where its
 * variable or file name belongs, and the problem message goes to stderr, CI logs and status.
 */
const CREDENTIAL_FIELD =
  /secret|passw|passphrase|token|credential|private[-_]?key|api[-_]?key|access[-_]?key|key[-_]?file|url[-_]?(?:file|env)/i;

function toProblem(parsed: ParsedDocument, error: ErrorObject): Problem {
  const segments = pathSegments(error.instancePath);
  const { message, key, child, code } = describe(
    error,
    segments.some((s) => CREDENTIAL_FIELD.test(s)),
  );
  const target = child === undefined ? segments : [...segments, child];
  const position = locate(parsed, target, key);
  const base = child === undefined ? error.instancePath : `${error.instancePath}/${child}`;
  const path = key === undefined ? base : `${base}/${key}`;
  return { file: parsed.file, line: position.line, col: position.col, path, code: `schema.${code}`, message };
}

interface Description {
  readonly message: string;
  readonly code: string;
  /** Set when the problem is about a key of the object rather than a value. */
  readonly key?: string;
  /** Set when the problem is about the value of this member of the object. */
  readonly child?: string;
}

function describe(error: ErrorObject, hidden: boolean): Description {
  const show = (value: unknown) => (hidden ? HIDDEN : showValue(value));
  const params = error.params as Record<string, unknown>;
  const field = fieldName(error.instancePath);
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params['additionalProperty']);
      const known = Object.keys(((error.parentSchema ?? {}) as { properties?: object }).properties ?? {});
      const where = field === '' ? 'the document' : `'${field}'`;
      const hint = didYouMean(name, known) || (known.length > 0 ? ` (known fields: ${known.join(', ')})` : '');
      return { code: 'unknownField', key: name, message: `unknown field '${name}' in ${where}${hint}` };
    }
    case 'required':
      return {
        code: 'missingField',
        message: `missing required field '${String(params['missingProperty'])}'${field === '' ? '' : ` in '${field}'`}`,
      };
    case 'propertyNames': {
      const name = String(params['propertyName']);
      return { code: 'invalidKey', key: name, message: `invalid key '${name}' in '${field}': ${schemaText(error)}` };
    }
    case 'type':
      return { code: 'wrongType', message: `'${field}' must be ${article(String(params['type']))}, got ${kindOf(error.data, show)}` };
    case 'enum':
    case 'const':
      return { code: 'notAllowed', message: notAllowedMessage(field, error, show, hidden) };
    case 'discriminator':
      return discriminatorMessage(field, params);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return {
        code: 'outOfRange',
        message: `'${field}' must be ${String(params['comparison'])} ${String(params['limit'])}, got ${show(error.data)}`,
      };
    case 'not':
      return { code: 'conflict', message: `'${field}' sets fields that exclude each other: ${schemaText(error)}` };
    default:
      return { code: error.keyword, message: genericMessage(field, error, show) };
  }
}

function notAllowedMessage(field: string, error: ErrorObject, show: (value: unknown) => string, hidden: boolean): string {
  const allowed = error.keyword === 'const' ? [error.schema] : (error.schema as unknown[]);
  const list = allowed.map((a) => JSON.stringify(a)).join(', ');
  const hint = typeof error.data === 'string' && !hidden ? didYouMean(error.data, allowed.map(String)) : '';
  return `'${field}' must be ${allowed.length === 1 ? '' : 'one of '}${list}, got ${show(error.data)}${hint}`;
}

function discriminatorMessage(field: string, params: Record<string, unknown>): Description {
  const types = registeredProviderTypes();
  if (params['error'] === 'tag' && params['tagValue'] === undefined) {
    return { code: 'missingField', message: `missing required field 'type' in '${field}' (one of ${types.join(', ')})` };
  }
  const value = showValue(params['tagValue']);
  const hint = typeof params['tagValue'] === 'string' ? didYouMean(params['tagValue'], types) : '';
  return { code: 'notAllowed', child: 'type', message: `'${field}.type' must be one of ${types.join(', ')}, got ${value}${hint}` };
}

function genericMessage(field: string, error: ErrorObject, show: (value: unknown) => string): string {
  const subject = field === '' ? 'the document' : `'${field}'`;
  const value = typeof error.data === 'string' || typeof error.data === 'number' ? ` ${show(error.data)}` : '';
  switch (error.keyword) {
    case 'pattern':
    case 'format':
    case 'anyOf':
    case 'oneOf':
      return `invalid value${value} for ${subject}: ${schemaText(error)}`;
    case 'maxLength':
    case 'minLength':
    case 'maxItems':
    case 'minItems':
    case 'maxProperties':
    case 'minProperties':
      return `${subject} ${error.message ?? 'has the wrong size'}${describeSuffix(error)}`;
    case 'uniqueItems':
      return `${subject} lists the same item twice (items ${String((error.params as { j: number }).j)} and ${String((error.params as { i: number }).i)})`;
    default:
      return `${subject} ${error.message ?? 'is invalid'}`;
  }
}

/** The field's description from the schema (the same text editors show on hover). */
function schemaText(error: ErrorObject): string {
  const parent = (error.parentSchema ?? {}) as { description?: string };
  return parent.description ?? error.message ?? 'see the schema';
}

function describeSuffix(error: ErrorObject): string {
  const parent = (error.parentSchema ?? {}) as { description?: string };
  return parent.description === undefined ? '' : ` (${parent.description})`;
}

function pathSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `spec.rollout.maxSurge` from `/spec/rollout/maxSurge` (array indexes as [n]). */
export function fieldName(pointer: string): string {
  return pathSegments(pointer).reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc === '' ? s : `${acc}.${s}`), '');
}

function article(type: string): string {
  return type === 'integer' || type === 'object' || type === 'array' ? `an ${type}` : `a ${type}`;
}

function kindOf(value: unknown, show: (value: unknown) => string): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number' && !Number.isInteger(value)) return `a fractional number (${value})`;
  return `${article(typeof value)} (${show(value)})`;
}

/** What a message says instead of a value refused in a credential field. */
const HIDDEN = '(value not shown: this field holds or names a credential)';

/** A value for a message, kept short. Never called for credential fields (see CREDENTIAL_FIELD). */
function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
