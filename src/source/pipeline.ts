/**
 * One sync pass, as ordered steps: resolve the ref on the remote, fetch, verify signatures, detect
 * history rewinds, bound and check out the tree into its snapshot, and load it. Every step throws a
 * typed SourceError; nothing here mutates the source's "last known good" — the caller applies the
 * returned candidate only when every step succeeded.
 */
import { formatProblem } from '../desired/problems.ts';
import type { FleetLoader } from '../desired/load-result.ts';
import type { DesiredState } from '../contract/fleet.ts';
import type { ResolvedConfig } from './config.ts';
import { HistoryRewound, InvalidRevision, VerificationFailed } from './errors.ts';
import type { GitRunner } from './git.ts';
import type { GitEnvironment } from './git-env.ts';
import { lsRemotePatterns, parseLsRemote, resolveFromListing } from './refs.ts';
import type { ResolvedRef } from './refs.ts';
import type { Repository } from './repository.ts';
import type { SnapshotStore } from './snapshots.ts';
import { verifyObject } from './verify.ts';
import type { SignatureInfo, TrustStore } from './verify.ts';

/** Everything a pass needs. */
export interface PipelineContext {
  readonly config: ResolvedConfig;
  readonly git: GitRunner;
  readonly repo: Repository;
  readonly snapshots: SnapshotStore;
  readonly loader: FleetLoader;
  readonly trust: TrustStore;
  /** Environment of network commands (carries credentials). */
  readonly env: GitEnvironment;
  /** Environment of local commands (no credentials). */
  readonly localEnv: GitEnvironment;
}

/** A fetched revision, before it is checked and loaded. */
export interface FetchedRevision {
  readonly revision: string;
  readonly refName: string | undefined;
  readonly tagObject: string | undefined;
}

/** A revision that passed every step. */
export interface Candidate extends FetchedRevision {
  readonly state: DesiredState;
  readonly dir: string;
  readonly signature: SignatureInfo | undefined;
}

/** Asks the remote where the ref points (no objects transferred). */
export async function resolveRemote(ctx: PipelineContext): Promise<ResolvedRef> {
  const ref = ctx.config.ref;
  if (ref.kind === 'commit') return resolveFromListing(ref, new Map());
  const listing = await ctx.repo.listRemote(ctx.config.url.url, lsRemotePatterns(ref), ctx.env);
  return resolveFromListing(ref, parseLsRemote(listing));
}

/** Fetches the resolved ref and returns what actually arrived. */
export async function fetchRevision(ctx: PipelineContext, resolved: ResolvedRef): Promise<FetchedRevision> {
  const { url, ref, shallow } = ctx.config;
  const revision = await ctx.repo.fetch(url.url, ref, resolved, shallow, ctx.env);
  const tagObject = resolved.tagObject === undefined ? undefined : await ctx.repo.fetchedObject(ctx.localEnv);
  return { revision, refName: resolved.refName, tagObject };
}

/**
 * Checks signatures as the verify mode demands. `lastApplied` bounds the range of `all-new-commits`
 * (undefined: first sync, or re-checking the restored revision — the tip only). Throws VerificationFailed.
 */
export async function verifyRevision(
  ctx: PipelineContext,
  fetched: FetchedRevision,
  lastApplied?: string,
): Promise<SignatureInfo | undefined> {
  const mode = ctx.config.verify.mode;
  if (mode === 'off') return undefined;
  const timeout = ctx.config.limits.localTimeoutMs;
  let signature: SignatureInfo | undefined;
  if (mode === 'tag' || mode === 'tag-and-head') {
    if (fetched.tagObject === undefined) {
      throw new VerificationFailed(`${fetched.refName ?? 'ref'} is not an annotated tag`, 'tag-not-annotated', fetched.revision);
    }
    signature = await verifyObject(ctx.git, ctx.repo.dir, 'tag', fetched.tagObject, ctx.trust, ctx.localEnv, timeout);
  }
  if (mode === 'head' || mode === 'tag-and-head' || mode === 'all-new-commits') {
    signature = await verifyObject(ctx.git, ctx.repo.dir, 'commit', fetched.revision, ctx.trust, ctx.localEnv, timeout);
  }
  if (mode === 'all-new-commits') await verifyNewCommits(ctx, fetched.revision, lastApplied);
  return signature;
}

/** Verifies every commit between the last applied revision and the tip, oldest first. */
async function verifyNewCommits(ctx: PipelineContext, tip: string, lastApplied: string | undefined): Promise<void> {
  if (lastApplied === undefined || lastApplied === tip) return;
  // The applied revision is pinned by a local ref, so it is present unless the repository was
  // replaced; then there is no range to speak of and the tip alone was checked, as on a first sync.
  if (!(await ctx.repo.hasCommit(lastApplied, ctx.localEnv))) return;
  const timeout = ctx.config.limits.localTimeoutMs;
  for (const commit of await ctx.repo.newCommits(lastApplied, tip, ctx.localEnv)) {
    if (commit === tip) continue;
    try {
      await verifyObject(ctx.git, ctx.repo.dir, 'commit', commit, ctx.trust, ctx.localEnv, timeout);
    } catch (error) {
      if (!(error instanceof VerificationFailed)) throw error;
      // The operator sees the branch tip: say which tip the refused commit sits under.
      throw new VerificationFailed(
        `${error.message}, under the tip ${tip}, among the commits it brings beyond the applied ${lastApplied} (verify.mode all-new-commits: every one must be signed)`,
        error.detail,
        tip,
      );
    }
  }
}

/**
 * True when a followed branch moved to a commit that does not descend from `lastApplied`.
 * Tags, semver ranges and pinned commits legitimately jump, so they never count as rewinds.
 */
export async function isRewind(ctx: PipelineContext, lastApplied: string | undefined, next: string): Promise<boolean> {
  if (lastApplied === undefined || lastApplied === next || ctx.config.ref.kind !== 'branch') return false;
  if (!(await ctx.repo.hasCommit(lastApplied, ctx.localEnv))) return false;
  return !(await ctx.repo.isAncestor(lastApplied, next, ctx.localEnv));
}

/** Refuses a rewind under the `hold` policy. */
export function holdRewind(from: string, to: string): never {
  throw new HistoryRewound(
    `history rewritten: ${to} does not descend from the applied ${from}; holding (onRewind: hold): push a commit that descends from ${from.slice(0, 12)} (e.g. a signed revert), or, to accept the rewind, set source.git.onRewind: apply and restart`,
    to,
  );
}

/** Bounds the tree, writes the snapshot, and loads it. Throws CheckoutTooLarge, UnsafeContent, InvalidRevision. */
export async function checkoutAndLoad(ctx: PipelineContext, revision: string): Promise<{ state: DesiredState; dir: string }> {
  const { path, limits } = ctx.config;
  if (!(await ctx.repo.hasTree(revision, path, ctx.localEnv))) {
    const problem = {
      file: '',
      line: 0,
      col: 0,
      path: '',
      code: 'source.pathNotFound',
      message: `path "${path}" is not a directory in this revision`,
    };
    throw new InvalidRevision(formatProblem(problem), [problem], revision);
  }
  await ctx.repo.inspectTree(revision, path, limits, ctx.localEnv);
  const dir = await ctx.snapshots.materialize(revision, (tmp) => ctx.repo.checkout(revision, path, tmp, ctx.localEnv));
  const result = await ctx.loader(dir);
  if (!result.ok) {
    const first = result.problems[0];
    const summary = first === undefined ? 'invalid' : formatProblem(first);
    throw new InvalidRevision(`revision does not load: ${result.problems.length} problem(s); first: ${summary}`, result.problems, revision);
  }
  return { state: result.state, dir };
}
