/**
 * Problems found while loading a fleet repository. Every problem names a file and position so a
 * user can fix it; the loader reports all of them at once.
 */

/** One thing wrong with the fleet repository. */
export interface Problem {
  /** Path relative to the fleet directory ('/' separators); '' for repository-wide problems. */
  readonly file: string;
  /** 1-based; 0 when the problem has no position (e.g. an unreadable file). */
  readonly line: number;
  readonly col: number;
  /** JSON path inside the document, e.g. /spec/rollout/maxSurge ('' for the document itself). */
  readonly path: string;
  /** Stable machine-readable code, e.g. schema.unknownField, ref.danglingProvider, yaml.syntax. */
  readonly code: string;
  readonly message: string;
}

/** Renders `file:line:col: message` (the form every drover command prints). */
export function formatProblem(problem: Problem): string {
  const where = problem.file === '' ? '<repository>' : problem.file;
  const pos = problem.line > 0 ? `:${problem.line}:${problem.col}` : '';
  const at = problem.path === '' ? '' : ` (at ${problem.path})`;
  return `${where}${pos}: ${problem.message}${at}`;
}

/** Orders problems by file, then position, for stable output. */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.code.localeCompare(b.code));
}
