/**
 * Fields a Provider document no longer holds: credentials, endpoints and TLS settings moved to the
 * operator's configuration (`providers.<name>` in drover.yaml), because whoever can push to the fleet
 * repository must not choose the authority drover acts with, the server it sends credentials to, or
 * the CA it trusts. Each is refused at its own position with where it now belongs.
 */
import { locate } from './parse-yaml.ts';
import type { ParsedDocument } from './parse-yaml.ts';
import type { Problem } from './problems.ts';

/** Top-level spec fields that moved, and the binding field each became. */
const MOVED: Readonly<Record<string, (leaf: string | undefined) => string>> = {
  credentials: (leaf) => `credentials${leaf === undefined ? '' : `.${leaf}`}`,
  endpoint: () => 'endpoint',
  tls: (leaf) => (leaf === 'insecureSkipVerify' ? 'insecureSkipVerify' : 'caFile'),
};

/** Names of the spec fields that moved (their schema "unknown field" errors are replaced by these problems). */
export const MOVED_SPEC_FIELDS: ReadonlySet<string> = new Set(Object.keys(MOVED));

/** One problem per moved field (per leaf under credentials and tls) of a Provider document. */
export function movedFieldProblems(parsed: ParsedDocument): Problem[] {
  const doc = parsed.value as { metadata?: { name?: unknown }; spec?: unknown };
  const spec = doc.spec;
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return [];
  const name = typeof doc.metadata?.name === 'string' ? doc.metadata.name : '<name>';
  const problems: Problem[] = [];
  for (const [field, value] of Object.entries(spec as Record<string, unknown>)) {
    const target = MOVED[field];
    if (target === undefined) continue;
    const leaves =
      value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0
        ? Object.keys(value)
        : [undefined];
    for (const leaf of leaves) {
      const segments = ['spec', field, ...(leaf === undefined ? [] : [leaf])];
      const { line, col } = locate(parsed, segments);
      const what = field === 'credentials' ? 'credentials' : field === 'endpoint' ? 'endpoints' : 'TLS settings';
      problems.push({
        file: parsed.file,
        line,
        col,
        path: `/${segments.join('/')}`,
        code: 'provider.fieldMoved',
        message: `'${segments.join('.')}': ${what} moved to the operator's config: providers.${name}.${target(leaf)} in drover.yaml (a commit must not choose drover's authority); remove it here`,
      });
    }
  }
  return problems;
}
