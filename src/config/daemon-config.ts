/**
 * The daemon's configuration: a YAML file, overridden by DROVER_* environment variables, validated
 * by schemas/config.schema.json. Problems name the file, line and column, or the environment
 * variable, and say how to fix them; nothing starts with an invalid configuration.
 */
import { open } from 'node:fs/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYamlValue } from 'yaml';
import configSchema from '../../schemas/config.schema.json' with { type: 'json' };
import { locate, parseYamlFile } from '../desired/parse-yaml.ts';
import type { ParsedDocument } from '../desired/parse-yaml.ts';
import { sortProblems } from '../desired/problems.ts';
import type { Problem } from '../desired/problems.ts';
import { schemaProblems } from '../desired/schema-problems.ts';
import { misplacedCredentialProblems } from './binding-checks.ts';
import { valueProblems } from './config-checks.ts';
import type { ValueProblem } from './config-checks.ts';
import { normalizeConfig, providerBindings } from './normalize.ts';
import type { DaemonConfig, GitSettings } from './types.ts';

export type { DaemonConfig };

/** The configuration, or every problem with it. */
export type ConfigResult =
  { readonly ok: true; readonly config: DaemonConfig } | { readonly ok: false; readonly problems: readonly Problem[] };

/** Variables that are not config paths: endpoint overrides, the config file, drover status, CI, simulator tokens. */
const NOT_CONFIG = /^DROVER_(ENDPOINT_|CA_FILE_|CONFIG$|URL$|NODE_PREFIX$|AZURE_TOKEN$)/;
const ENV_FILE = '<environment>';

/** Largest config file read (a real one is a few KiB); beyond it, or not a regular file, is refused unread. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

type Validator = ReturnType<Ajv2020['compile']>;
let validate: Validator | undefined;
let validateBindings: Validator | undefined;

function compile(schema: object): Validator {
  return new Ajv2020({ allErrors: true, strict: true, strictRequired: false, verbose: true, useDefaults: true }).compile(schema);
}

/** Loads `file` (optional) and the environment into a validated configuration. */
export async function loadDaemonConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  overrides: Record<string, unknown> = {},
): Promise<ConfigResult> {
  validate ??= compile(configSchema);
  const result = await loadRaw(file, env, overrides, validate);
  return result.ok ? { ok: true, config: normalizeConfig(result.raw) } : result;
}

/** The provider bindings of a configuration, or every problem with it. */
export type BindingsResult =
  | {
      readonly ok: true;
      readonly bindings: Pick<DaemonConfig, 'providers' | 'requireBinding'>;
      /** `limits.providers.<name>`: client-side limits on top of each cloud's defaults. */
      readonly limits: DaemonConfig['limits']['providers'];
      /** `source.git.verify` when the file has a Git source (`drover audit`: whether revisions must be signed, and by whom). */
      readonly verify?: GitSettings['verify'];
    }
  | { readonly ok: false; readonly problems: readonly Problem[] };

/**
 * The operator's provider bindings and client-side limits for `plan` and `apply` (`--config`): the
 * daemon's file and variables, validated by the same schema, except that no `source` is needed.
 */
export async function loadProviderBindings(file: string | undefined, env: NodeJS.ProcessEnv): Promise<BindingsResult> {
  validateBindings ??= compile({ ...configSchema, required: [] });
  const result = await loadRaw(file, env, {}, validateBindings);
  if (!result.ok) return result;
  const limits = (result.raw['limits'] as { providers?: DaemonConfig['limits']['providers'] } | undefined)?.providers ?? {};
  const git = (result.raw['source'] as { git?: { verify?: GitSettings['verify'] } } | undefined)?.git;
  return {
    ok: true,
    bindings: providerBindings(result.raw['providers'] as Record<string, unknown> | undefined),
    limits,
    ...(git === undefined ? {} : { verify: git.verify ?? { mode: 'off' } }),
  };
}

type RawResult =
  { readonly ok: true; readonly raw: Record<string, unknown> } | { readonly ok: false; readonly problems: readonly Problem[] };

async function loadRaw(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  overrides: Record<string, unknown>,
  validator: Validator,
): Promise<RawResult> {
  const problems: Problem[] = [];
  const parsed = file === undefined ? undefined : await readConfigFile(file, problems);
  if (problems.length > 0) return { ok: false, problems };
  const raw = structuredClone((parsed?.value ?? {}) as Record<string, unknown>);
  const fromEnv = applyEnv(raw, env);
  for (const [path, value] of Object.entries(overrides)) if (value !== undefined) setPath(raw, path.split('.'), value);
  if (!validator(raw)) {
    // A credential of another type is named as such, not by the pattern its value fails.
    const misplaced = misplacedCredentialProblems(raw['providers']);
    const pointers = misplaced.map((p) => `/${p.segments.join('/')}`);
    const schema = locateProblems(validator.errors ?? [], parsed, fromEnv, file).filter(
      (p) => !pointers.some((ptr) => p.path === ptr || p.path.startsWith(`${ptr}/`)),
    );
    return { ok: false, problems: ordered([...schema, ...misplaced.map((v) => positioned(v, parsed, fromEnv, file))]) };
  }
  const values = valueProblems(raw);
  if (values.length > 0) return { ok: false, problems: ordered(values.map((v) => positioned(v, parsed, fromEnv, file))) };
  return { ok: true, raw };
}

async function readConfigFile(file: string, problems: Problem[]): Promise<ParsedDocument | undefined> {
  const text = await readBounded(file).catch((error: NodeJS.ErrnoException) => {
    problems.push({
      file,
      line: 0,
      col: 0,
      path: '',
      code: 'config.unreadable',
      message: `cannot read the config file (${error.code ?? 'EIO'}); check --config / DROVER_CONFIG`,
    });
    return undefined;
  });
  if (text === undefined) return undefined;
  if (text === NOT_A_FILE || text === TOO_LARGE) {
    const message =
      text === NOT_A_FILE
        ? 'the config path is not a regular file; check --config / DROVER_CONFIG'
        : `the config file is over ${MAX_CONFIG_BYTES} bytes; a drover config is a few KiB (check --config / DROVER_CONFIG)`;
    problems.push({ file, line: 0, col: 0, path: '', code: text === NOT_A_FILE ? 'config.notAFile' : 'config.tooLarge', message });
    return undefined;
  }
  const docs = parseYamlFile(file, text, problems);
  if (docs.length > 1)
    problems.push({
      file,
      line: 1,
      col: 1,
      path: '',
      code: 'config.multipleDocuments',
      message: 'the config file must hold one YAML document',
    });
  const doc = docs[0];
  if (doc !== undefined && (doc.value === null || typeof doc.value !== 'object' || Array.isArray(doc.value))) {
    problems.push({
      file,
      line: 1,
      col: 1,
      path: '',
      code: 'config.notAMapping',
      message: 'the config file must be a YAML mapping (see docs: source, listen, stateDir, …)',
    });
  }
  return doc;
}

const NOT_A_FILE = Symbol('not a regular file');
const TOO_LARGE = Symbol('too large');

/** The file's text, read no further than MAX_CONFIG_BYTES + 1 (a device or a huge file is never slurped). */
async function readBounded(file: string): Promise<string | typeof NOT_A_FILE | typeof TOO_LARGE> {
  const handle = await open(file, 'r');
  try {
    if (!(await handle.stat()).isFile()) return NOT_A_FILE;
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_CONFIG_BYTES) return TOO_LARGE;
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Applies DROVER_A__B_C=value as a.bC; returns the JSON pointer → variable name of each. */
function applyEnv(target: Record<string, unknown>, env: NodeJS.ProcessEnv): Map<string, string> {
  const applied = new Map<string, string>();
  for (const [name, value] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!name.startsWith('DROVER_') || NOT_CONFIG.test(name) || value === undefined) continue;
    const path = name
      .slice('DROVER_'.length)
      .split('__')
      .map((segment, i, all) => (isProviderName(all, i) ? providerName(segment) : camel(segment)));
    setPath(target, path, parseEnvValue(value));
    applied.set(`/${path.join('/')}`, name);
  }
  return applied;
}

/**
 * Whether segment `i` is a Provider name (`providers.<name>`, `limits.providers.<name>`): names are
 * lowercase with '-', so DROVER_PROVIDERS__PVE_LAB__ENDPOINT means providers.pve-lab.endpoint.
 * PROVIDERS__REQUIRE_BINDING is the lockdown flag, not a name.
 */
function isProviderName(segments: readonly string[], i: number): boolean {
  if (i === 1 && segments[0] === 'PROVIDERS') return segments[1] !== 'REQUIRE_BINDING';
  return i === 2 && segments[0] === 'LIMITS' && segments[1] === 'PROVIDERS';
}

function providerName(segment: string): string {
  return segment.toLowerCase().replace(/_/g, '-');
}

function camel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Env values are YAML scalars or flow collections: 32, true, [github, gitlab]; anything else is a string. */
function parseEnvValue(value: string): unknown {
  try {
    const parsed: unknown = parseYamlValue(value, { logLevel: 'error' });
    return parsed === null ? value : parsed;
  } catch {
    return value;
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function locateProblems(
  errors: Parameters<typeof schemaProblems>[1],
  parsed: ParsedDocument | undefined,
  fromEnv: Map<string, string>,
  file: string | undefined,
): Problem[] {
  const document = parsed ?? emptyDocument(file ?? ENV_FILE);
  return schemaProblems(document, errors).map((problem) => attribute(problem, parsed, fromEnv));
}

/** A value problem at its field in the file (or at the variable that set it). */
function positioned(
  value: ValueProblem,
  parsed: ParsedDocument | undefined,
  fromEnv: Map<string, string>,
  file: string | undefined,
): Problem {
  const { line, col } = parsed ? locate(parsed, value.segments) : { line: 0, col: 0 };
  const problem = { file: file ?? ENV_FILE, line, col, path: `/${value.segments.join('/')}`, code: value.code, message: value.message };
  return attribute(problem, parsed, fromEnv);
}

/**
 * Blames the environment variable that set the value, or that created the field (DROVER_LIMTS__X=1
 * creates 'limts', which the file does not have); otherwise the file, at the problem's position.
 */
function attribute(problem: Problem, parsed: ParsedDocument | undefined, fromEnv: Map<string, string>): Problem {
  const inFile = parsed !== undefined && hasPath(parsed.value, problem.path);
  const variable = [...fromEnv].find(
    ([pointer]) =>
      problem.path === pointer || problem.path.startsWith(`${pointer}/`) || (!inFile && pointer.startsWith(`${problem.path}/`)),
  )?.[1];
  if (variable === undefined) return parsed ? problem : { ...problem, line: 0, col: 0 };
  return { ...problem, file: ENV_FILE, line: 0, col: 0, message: `${variable}: ${problem.message}` };
}

/** Whether the file's document has a value at `pointer` ('/a/b'). */
function hasPath(value: unknown, pointer: string): boolean {
  let node = value;
  for (const segment of pointer === '' ? [] : pointer.slice(1).split('/')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment)) return false;
    node = (node as Record<string, unknown>)[segment];
  }
  return true;
}

/** File problems in position order, then environment problems. */
function ordered(problems: Problem[]): Problem[] {
  const sorted = sortProblems(problems);
  return [...sorted.filter((p) => p.file !== ENV_FILE), ...sorted.filter((p) => p.file === ENV_FILE)];
}

function emptyDocument(file: string): ParsedDocument {
  const [doc] = parseYamlFile(file, '{}\n', []);
  return doc!;
}
