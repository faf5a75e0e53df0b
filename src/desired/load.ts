/**
 * The fleet loader: a directory of YAML in, a frozen DesiredState or every problem out. Steps:
 * read files → parse YAML → refuse secrets → validate each document's schema → index by name →
 * check references and provider rules → normalize. Nothing in the directory can make it throw.
 */
import { didYouMean } from './did-you-mean.ts';
import type { ValidDocument } from './documents.ts';
import { indexDocuments } from './documents.ts';
import type { LoadResult } from './load-result.ts';
import { locate, parseYamlFile } from './parse-yaml.ts';
import type { ParsedDocument } from './parse-yaml.ts';
import { sortProblems } from './problems.ts';
import type { Problem } from './problems.ts';
import { DEFAULT_READ_LIMITS, readFleetFiles } from './read-files.ts';
import type { ReadLimits, SourceFile } from './read-files.ts';
import { resolveDesiredState } from './resolve.ts';
import { rolloutRuleProblems } from './group-rules.ts';
import { schemaProblems } from './schema-problems.ts';
import { DOCUMENT_KINDS, validators } from './schemas.ts';
import type { DocumentKind } from './schemas.ts';
import { MOVED_SPEC_FIELDS, movedFieldProblems } from './provider-moved.ts';
import { secretProblems } from './secrets.ts';

/** Loads and validates the fleet repository at `dir`. */
export async function loadFleet(dir: string, limits: ReadLimits = DEFAULT_READ_LIMITS): Promise<LoadResult> {
  let read;
  try {
    read = await readFleetFiles(dir, limits);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    const problem: Problem = {
      file: '',
      line: 0,
      col: 0,
      path: '',
      code: 'fs.unreadableRoot',
      message: `cannot read fleet directory '${dir}' (${code})`,
    };
    return { ok: false, problems: [problem], files: 0, documents: 0 };
  }
  return loadFleetFiles(read.files, read.problems);
}

/** Loads already-read files (used by loadFleet and by tests that build repositories in memory). */
export function loadFleetFiles(files: readonly SourceFile[], initialProblems: readonly Problem[] = []): LoadResult {
  const problems: Problem[] = [...initialProblems];
  const documents: ValidDocument[] = [];
  const invalid = new Set<string>();
  let count = 0;
  let lostDocuments = false;
  for (const file of files) {
    try {
      const before = problems.length;
      const parsed = parseYamlFile(file.file, file.text, problems);
      if (problems.length > before) lostDocuments = true;
      count += parsed.length;
      for (const document of parsed) {
        const valid = validateDocument(document, problems);
        if (valid) documents.push(valid);
        else invalid.add(documentKey(document.value));
      }
    } catch (error) {
      problems.push(internalProblem(file.file, error));
    }
  }
  if (files.length === 0 && problems.length === 0) {
    problems.push({
      file: '',
      line: 0,
      col: 0,
      path: '',
      code: 'fs.noFiles',
      message: 'no *.yaml or *.yml files found; point drover at the directory that holds the fleet documents',
    });
  }
  const resolved: Problem[] = [];
  const state = resolveSafely(documents, invalid, resolved);
  // A document a file lost to a YAML error may define what others refer to: its fix comes first.
  problems.push(...(lostDocuments ? resolved.filter((p) => !CASCADES.has(p.code)) : resolved));
  if (state === undefined || problems.length > 0) {
    return { ok: false, problems: sortProblems(problems), files: files.length, documents: count };
  }
  return { ok: true, state, files: files.length, documents: count };
}

/** Reference problems a document lost to a YAML error could cause (withheld until every file parses). */
const CASCADES: ReadonlySet<string> = new Set([
  'ref.danglingProvider',
  'ref.danglingImage',
  'ref.danglingArtifactProvider',
  'ref.missingArtifact',
  'ref.noFleet',
]);

function resolveSafely(documents: readonly ValidDocument[], invalid: ReadonlySet<string>, problems: Problem[]) {
  try {
    return resolveDesiredState(indexDocuments(documents, problems, invalid), problems);
  } catch (error) {
    problems.push(internalProblem('', error));
    return undefined;
  }
}

function validateDocument(parsed: ParsedDocument, problems: Problem[]): ValidDocument | undefined {
  const kind = documentKind(parsed, problems);
  if (kind === undefined) return undefined;
  const secrets = secretProblems(parsed, kind);
  const flagged = new Set(secrets.map((s) => s.path));
  const moved = kind === 'Provider' ? movedFieldProblems(parsed).filter((m) => !flagged.has(m.path)) : [];
  if (secrets.length > 0) {
    problems.push(...secrets, ...moved);
    return undefined;
  }
  problems.push(...moved);
  const validate = validators()[kind];
  if (!validate(parsed.value)) {
    const errors = (validate.errors ?? []).filter((e) => moved.length === 0 || !isMovedField(e));
    problems.push(...schemaProblems(parsed, errors));
    if (kind === 'VmGroup') problems.push(...rulesDespiteSchema(parsed, errors));
    return undefined;
  }
  if (moved.length > 0) return undefined;
  return { kind, value: parsed.value, parsed } as ValidDocument;
}

/**
 * A VmGroup's rollout rules, also when its schema failed elsewhere (health, machine…), so one
 * validate run reports every problem; not when the rollout or replicas themselves are invalid.
 */
function rulesDespiteSchema(parsed: ParsedDocument, errors: readonly { readonly instancePath: string }[]): Problem[] {
  const touched = errors.some(
    (e) =>
      e.instancePath === '' ||
      e.instancePath === '/spec' ||
      e.instancePath.startsWith('/spec/rollout') ||
      e.instancePath.startsWith('/spec/replicas'),
  );
  if (touched) return [];
  try {
    return rolloutRuleProblems({ kind: 'VmGroup', value: parsed.value, parsed } as Extract<ValidDocument, { kind: 'VmGroup' }>);
  } catch {
    return [];
  }
}

function documentKind(parsed: ParsedDocument, problems: Problem[]): DocumentKind | undefined {
  const value = parsed.value;
  const at = (code: string, message: string, segments: string[] = []) => {
    const { line, col } = locate(parsed, segments);
    problems.push({ file: parsed.file, line, col, path: segments.length ? `/${segments.join('/')}` : '', code, message });
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    at('schema.notAMapping', 'a fleet document must be a mapping with apiVersion, kind, metadata and spec');
    return undefined;
  }
  const kind = (value as Record<string, unknown>)['kind'];
  if (kind === undefined) {
    at('schema.missingField', `missing required field 'kind' (one of ${DOCUMENT_KINDS.join(', ')})`);
    return undefined;
  }
  if (typeof kind !== 'string' || !DOCUMENT_KINDS.includes(kind as DocumentKind)) {
    const hint = typeof kind === 'string' ? didYouMean(kind, DOCUMENT_KINDS) : '';
    at('schema.unknownKind', `unknown kind ${JSON.stringify(kind)}; expected one of ${DOCUMENT_KINDS.join(', ')}${hint}`, ['kind']);
    return undefined;
  }
  return kind as DocumentKind;
}

/** A schema error that only says a moved field is unknown (its provider.fieldMoved problem says more). */
function isMovedField(error: { keyword: string; instancePath: string; params: Record<string, unknown> }): boolean {
  return (
    error.keyword === 'additionalProperties' &&
    error.instancePath === '/spec' &&
    MOVED_SPEC_FIELDS.has(String(error.params['additionalProperty']))
  );
}

/** `Kind/name` of a document, as far as it can be read. */
function documentKey(value: unknown): string {
  const doc = (value ?? {}) as { kind?: unknown; metadata?: { name?: unknown } };
  return `${String(doc.kind)}/${String(doc.metadata?.name)}`;
}

function internalProblem(file: string, error: unknown): Problem {
  const name = error instanceof Error ? error.name : typeof error;
  return {
    file,
    line: 0,
    col: 0,
    path: '',
    code: 'internal',
    message: `drover failed to process this input (${name}); this is a bug in drover, please report it with the file`,
  };
}
