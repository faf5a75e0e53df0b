/** Schema-valid documents, indexed by kind and name, with where each came from. */
import type { Fleet, Image, Provider, VmGroup } from '../contract/schema-types.ts';
import type { ParsedDocument } from './parse-yaml.ts';
import type { Problem } from './problems.ts';
import { locate } from './parse-yaml.ts';

/** A document that passed its kind's schema. */
export type ValidDocument =
  | { readonly kind: 'Fleet'; readonly value: Fleet; readonly parsed: ParsedDocument }
  | { readonly kind: 'Provider'; readonly value: Provider; readonly parsed: ParsedDocument }
  | { readonly kind: 'Image'; readonly value: Image; readonly parsed: ParsedDocument }
  | { readonly kind: 'VmGroup'; readonly value: VmGroup; readonly parsed: ParsedDocument };

/** Documents of one kind by name. */
export interface DocumentIndex {
  readonly fleets: Extract<ValidDocument, { kind: 'Fleet' }>[];
  readonly providers: Map<string, Extract<ValidDocument, { kind: 'Provider' }>>;
  readonly images: Map<string, Extract<ValidDocument, { kind: 'Image' }>>;
  readonly groups: Map<string, Extract<ValidDocument, { kind: 'VmGroup' }>>;
  /** `Kind/name` of documents that exist but failed validation: references to them are not dangling. */
  readonly invalid: ReadonlySet<string>;
}

/** Indexes documents; a second document with the same kind and name is a problem at its name. */
export function indexDocuments(
  documents: readonly ValidDocument[],
  problems: Problem[],
  invalid: ReadonlySet<string> = new Set(),
): DocumentIndex {
  const index: DocumentIndex = { fleets: [], providers: new Map(), images: new Map(), groups: new Map(), invalid };
  for (const document of documents) {
    if (document.kind === 'Fleet') index.fleets.push(document);
    else if (document.kind === 'Provider') addUnique(index.providers, document, problems);
    else if (document.kind === 'Image') addUnique(index.images, document, problems);
    else addUnique(index.groups, document, problems);
  }
  return index;
}

function addUnique<D extends ValidDocument>(map: Map<string, D>, document: D, problems: Problem[]): void {
  const name = document.value.metadata.name;
  const first = map.get(name);
  if (first === undefined) {
    map.set(name, document);
    return;
  }
  const where = positionOf(first, ['metadata', 'name']);
  problems.push(
    problemAt(
      document,
      ['metadata', 'name'],
      'ref.duplicateName',
      `duplicate ${document.kind} '${name}': also defined at ${first.parsed.file}:${where.line}:${where.col}; names must be unique per kind`,
    ),
  );
}

/** Position of a path inside a document. */
export function positionOf(document: ValidDocument, segments: readonly string[]): { line: number; col: number } {
  return locate(document.parsed, segments);
}

/** A problem located at `segments` of `document`. */
export function problemAt(document: ValidDocument, segments: readonly string[], code: string, message: string): Problem {
  const { line, col } = positionOf(document, segments);
  return { file: document.parsed.file, line, col, path: `/${segments.join('/')}`, code, message };
}
