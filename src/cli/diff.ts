/**
 * `drover diff BASE HEAD`: the offline preview of a change to a fleet repository. Reads two Git
 * refs (or, with --dir, two directories), validates HEAD as `validate` does, and reports what
 * merging would do: groups changed and why, per rolled group the planner's batches, surge cost,
 * capacity floor and duration, the deletion guard's verdict, Provider and Image changes. Touches
 * no cloud. Exit 0 = no change to the fleet, 2 = changes, 1 = error (bad ref, invalid HEAD).
 */
import type { Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadDaemonConfig } from '../config/daemon-config.ts';
import { capInstances } from '../desired/instance-cap.ts';
import type { LoadResult } from '../desired/load-result.ts';
import type { DesiredState } from '../contract/fleet.ts';
import { formatProblem } from '../desired/problems.ts';
import { diffStates, invalidHeadReport } from '../diff/diff.ts';
import { renderErrorMarkdown, renderMarkdown } from '../diff/render-markdown.ts';
import { renderText } from '../diff/render-text.ts';
import type { DiffReport } from '../diff/types.ts';
import { observeInventory } from './diff-observe.ts';
import { DiffInputError, loadDirectory, loadGitRevisions, underPath, type LoadedRevision } from './diff-revisions.ts';
import { parseMaxInstances, parseMaxProviders } from './max-instances.ts';
import { UsageError } from './usage-error.ts';
import { printErr, printOut } from './terminal-text.ts';

interface DiffOptions {
  readonly dir?: boolean;
  readonly repo?: string;
  readonly path?: string;
  readonly config?: string;
  readonly json?: boolean;
  readonly markdown?: boolean;
  readonly commentDir?: string;
  readonly bootSeconds?: string;
  readonly maxInstances?: string;
  readonly maxProviders?: string;
  readonly observe?: boolean;
  readonly endpoint?: string[];
  readonly stateDir?: string;
}

/** Between two comments on stdout with --markdown (each is also a file with --comment-dir). */
export const COMMENT_SEPARATOR = '<!-- drover diff: next comment -->';

/** Registers `drover diff` on the CLI program. */
export function register(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('diff')
    .description('preview what merging HEAD over BASE would do to the fleet, offline (exit 0 no change, 2 changes, 1 error)')
    .argument('<base>', 'the base revision: a Git ref (origin/main), or a directory with --dir')
    .argument('<head>', 'the head revision: a Git ref (HEAD), or a directory with --dir')
    .option('--dir', 'BASE and HEAD are fleet directories, not Git refs')
    .option('--repo <path>', 'the Git repository (default: the one holding the current directory)')
    .option(
      '--path <path>',
      "the fleet's directory inside the repository (default: --config's source.git.path, else the current directory's)",
    )
    .option('--config <file>', "the daemon's config, for source.git.path (also DROVER_CONFIG)")
    .option('--json', 'print the report as JSON (schemas/diff.schema.json)')
    .option('--markdown', 'print the report as Markdown for a pull-request comment')
    .option('--comment-dir <dir>', 'with --markdown: also write each comment (65,536 characters at most) to DIR/comment-N.md')
    .option('--boot-seconds <n|type=n,...>', 'seconds from launch to ready, for every provider type (N) or per type (aws=60,azure=120)')
    .option('--max-instances <n>', "fleet-wide cap on total replicas, as the daemon's limits.maxInstances (default 10000)")
    .option('--max-providers <n>', "fleet-wide cap on Provider documents, as the daemon's limits.maxProviders (default 32)")
    .option('--observe', "count the base revision's instances in the clouds (read-only listings; bindings from --config, as plan)")
    .option(
      '--endpoint <provider=url...>',
      'with --observe: point a provider at another endpoint, e.g. a drover sim (also DROVER_ENDPOINT_<NAME>)',
    )
    .option('--state-dir <dir>', "with --observe: drover's state directory (read, never written)", '.drover')
    .action(async (base: string, head: string, options: DiffOptions) => {
      try {
        setExitCode(await runDiff(base, head, options));
      } catch (error) {
        // Exit 2 means "changes" here: a bad flag value is an error like a bad ref (exit 1).
        if (!(error instanceof DiffInputError) && !(error instanceof UsageError)) throw error;
        printErr(`drover diff: ${error.message}\n`);
        if (options.markdown === true && options.json !== true) await printErrorComment(base, head, error, options.commentDir);
        setExitCode(1);
      }
    });
}

async function runDiff(base: string, head: string, options: DiffOptions): Promise<number> {
  checkFlags(options, process.env);
  const cap = parseMaxInstances(options.maxInstances);
  const providerCap = parseMaxProviders(options.maxProviders);
  const bootSeconds = parseBootSeconds(options.bootSeconds);
  const [b, h] = await loadBoth(base, head, options);
  const refs = { base: { ref: b.ref, commit: b.commit }, head: { ref: h.ref, commit: h.commit } };
  if (h.result === 'absent') throw new DiffInputError('PathNotFound', `${h.ref} has no fleet directory at the path`);
  // The caps' problems are found on the loaded state: named under the fleet's path like the loader's.
  const headResult = h.result.ok ? underPath(capInstances(h.result, cap, providerCap), h.subPath) : h.result;
  const baseResult = b.result === 'absent' ? absentBase(headResult) : b.result;
  if (!baseResult.ok) {
    const first = baseResult.problems[0];
    throw new DiffInputError(
      'InvalidBase',
      `BASE ${b.ref}${b.commit === undefined ? '' : ` (${b.commit.slice(0, 12)})`} is an invalid revision, so there is nothing valid to compare HEAD with (${baseResult.problems.length} problem(s); first: ${first === undefined ? 'invalid' : formatProblem(first)}); compare against the revision the daemon still applies (lastAppliedRevision of drover status)`,
    );
  }
  if (!headResult.ok) {
    const report = invalidHeadReport(refs, headResult.problems);
    await print(report, options);
    return 1;
  }
  const inventory = options.observe === true ? await observeInventory(sessionDir(base, options), baseResult.state, options) : undefined;
  const estimated = diffStates(baseResult.state, headResult.state, refs, {
    bootSeconds,
    observedCounts: inventory?.counts,
    observedUndeclared: inventory?.undeclared,
  });
  const report = inventory === undefined ? estimated : { ...estimated, observed: inventory.providers };
  await print(report, options);
  if (!report.valid) return 1;
  return report.changed ? 2 : 0;
}

/**
 * Flags that do not go together. `--observe` without any binding (no --config, DROVER_CONFIG or
 * DROVER_PROVIDERS__* variable) would list the real clouds with whatever ambient credentials the
 * machine has (a CI runner's): refused, as its usage pairs it with --config.
 */
function checkFlags(options: DiffOptions, env: NodeJS.ProcessEnv): void {
  if (options.json === true && options.markdown === true)
    throw new UsageError('--json and --markdown cannot be used together: choose one output');
  const bound =
    options.config !== undefined || env['DROVER_CONFIG'] !== undefined || Object.keys(env).some((k) => k.startsWith('DROVER_PROVIDERS__'));
  if (options.observe === true && !bound)
    throw new UsageError(
      "--observe needs --config FILE (or DROVER_CONFIG, or DROVER_PROVIDERS__* variables) for the providers' bindings; without any it would list the real clouds with this machine's ambient credentials",
    );
}

/**
 * A base revision without the fleet's directory (the pull request that adds it): an empty fleet
 * with the head's settings, so every group, Provider and Image shows as added.
 */
function absentBase(head: LoadResult): LoadResult {
  if (!head.ok) return head;
  const state: DesiredState = { fleet: head.state.fleet, providers: {}, images: {}, groups: {} };
  return { ok: true, state, files: 0, documents: 0 };
}

/** The directory --observe names as the fleet checkout (no credential or CA file may lie in it). */
function sessionDir(base: string, options: DiffOptions): string {
  return options.dir === true ? base : (options.repo ?? '.');
}

async function loadBoth(base: string, head: string, options: DiffOptions): Promise<[LoadedRevision, LoadedRevision]> {
  if (options.dir === true) return [await loadDirectory(base, 'BASE'), await loadDirectory(head, 'HEAD')];
  const configPath = await fleetPathFromConfig(options.config ?? process.env['DROVER_CONFIG']);
  const input = { repo: options.repo ?? '.', path: options.path ?? configPath, cwdRelative: options.repo === undefined };
  const [b, h] = await loadGitRevisions(input, [base, head], [base]);
  return [b as LoadedRevision, h as LoadedRevision];
}

/** `source.git.path` of the daemon's config, when one is given. */
async function fleetPathFromConfig(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  const result = await loadDaemonConfig(file, process.env);
  if (!result.ok) {
    const first = result.problems[0];
    throw new DiffInputError('InvalidConfig', `--config ${file} is invalid: ${first === undefined ? 'invalid' : formatProblem(first)}`);
  }
  return result.config.source.kind === 'git' ? result.config.source.git.path : undefined;
}

/**
 * With --markdown, an error is a comment too (stdout and --comment-dir): the pull request then
 * says why it has no preview (a BASE that is no commit or an invalid revision, a missing path)
 * instead of getting nothing. The exit code stays 1.
 */
async function printErrorComment(
  base: string,
  head: string,
  error: DiffInputError | UsageError,
  commentDir: string | undefined,
): Promise<void> {
  const reason = error instanceof DiffInputError ? error.reason : 'UsageError';
  const body = renderErrorMarkdown(base, head, reason, error.message);
  printOut(body);
  if (commentDir === undefined) return;
  await mkdir(commentDir, { recursive: true });
  await writeFile(path.join(commentDir, 'comment-1.md'), body);
}

async function print(report: DiffReport, options: DiffOptions): Promise<void> {
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  if (options.markdown !== true) {
    printOut(renderText(report));
    return;
  }
  const comments = renderMarkdown(report);
  printOut(comments.join(`\n${COMMENT_SEPARATOR}\n\n`));
  if (options.commentDir === undefined) return;
  await mkdir(options.commentDir, { recursive: true });
  for (const [i, body] of comments.entries()) await writeFile(path.join(options.commentDir, `comment-${i + 1}.md`), body);
}

/** `--boot-seconds 60` (every type) or `aws=60,azure=120`; a DiffInputError names a bad value. */
export function parseBootSeconds(value: string | undefined): Record<string, number> {
  if (value === undefined) return {};
  const out: Record<string, number> = {};
  for (const part of value.split(',')) {
    const [key, seconds] = part.includes('=') ? part.split('=', 2) : ['*', part];
    const n = Number(seconds);
    if (!/^\d+$/.test(seconds ?? '') || n > 86_400 || key === undefined || key === '')
      throw new DiffInputError(
        'BadFlag',
        `--boot-seconds must be seconds (0 to 86400) for every type, or type=seconds pairs such as aws=60,azure=120; got '${value}'`,
      );
    out[key.trim()] = n;
  }
  return out;
}
