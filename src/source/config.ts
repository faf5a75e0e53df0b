/**
 * Configuration of a Git source, and its validation into a normalised form with every default
 * applied. All validation happens here, before any git process runs.
 */
import { resolve } from 'node:path';
import { InvalidConfig } from './errors.ts';
import type { SourceAuth } from './git-env.ts';
import { checkRef } from './refs.ts';
import type { CheckedRef, RefSelector } from './refs.ts';
import { checkSubPath, checkUrl } from './safety.ts';
import type { CheckedUrl } from './safety.ts';
import type { VerifyConfig } from './verify.ts';

/** Bounds on what a sync may cost. */
export interface SourceLimits {
  /** Files under the sub-path (default 20 000). */
  readonly maxFiles: number;
  /** Bytes under the sub-path (default 256 MiB). */
  readonly maxBytes: number;
  /** ls-remote / fetch time budget (default 120 s); the process is killed after it. */
  readonly fetchTimeoutMs: number;
  /** Local git commands (default 60 s). */
  readonly localTimeoutMs: number;
}

/**
 * What happens when the new tip of a followed branch does not descend from the last applied
 * revision (force-push that rewrites history):
 * - `apply` (default): Git is the source of truth — apply it, and report the rewind (status + event).
 * - `hold`: keep the last applied revision, fail with HistoryRewound until `allowRewind()` is called.
 */
export type RewindPolicy = 'apply' | 'hold';

/** How a source is configured. */
export interface GitSourceConfig {
  /** Name used in status and logs (default: the URL without credentials). */
  readonly name?: string;
  /** https://, ssh://, file:// or user@host:path. */
  readonly url: string;
  readonly ref: RefSelector;
  /** Sub-path of the fleet inside the repository (default: root). */
  readonly path?: string;
  /** Directory owned by this source (repository, snapshots, keyring, persisted state). */
  readonly stateDir: string;
  /** Poll interval (default 60 s); 0 disables polling (webhooks / manual triggers only). */
  readonly intervalMs?: number;
  /** Poll jitter as a fraction of the interval (default 0.1). */
  readonly jitter?: number;
  /** First retry delay after a transient failure (default 2 s), doubling up to the interval. */
  readonly minBackoffMs?: number;
  readonly auth?: SourceAuth;
  readonly verify?: VerifyConfig;
  readonly limits?: Partial<SourceLimits>;
  /** Fetch with depth 1 where the ref allows (default true). */
  readonly shallow?: boolean;
  readonly onRewind?: RewindPolicy;
  /** Applied snapshots kept on disk, newest first (default 2, minimum 1). */
  readonly keepSnapshots?: number;
  /** PEM bundle of CAs trusted for https remotes (private CAs); default: the system store. */
  readonly caFile?: string;
  /** TEST ONLY: accept http:// URLs (local test servers). Never set in production. */
  readonly allowInsecureHttp?: boolean;
}

/** A validated configuration with defaults applied. */
export interface ResolvedConfig {
  readonly name: string;
  readonly url: CheckedUrl;
  readonly ref: CheckedRef;
  readonly path: string;
  readonly stateDir: string;
  readonly intervalMs: number;
  readonly jitter: number;
  readonly minBackoffMs: number;
  readonly auth: SourceAuth;
  readonly verify: VerifyConfig;
  readonly limits: SourceLimits;
  readonly shallow: boolean;
  readonly onRewind: RewindPolicy;
  readonly keepSnapshots: number;
  readonly caFile: string | undefined;
}

const DEFAULT_LIMITS: SourceLimits = {
  maxFiles: 20_000,
  maxBytes: 256 * 1024 * 1024,
  fetchTimeoutMs: 120_000,
  localTimeoutMs: 60_000,
};

/** Validates a configuration. Throws UnsafeUrl, UnsafeRef or InvalidConfig. */
export function resolveConfig(config: GitSourceConfig): ResolvedConfig {
  const url = checkUrl(config.url, { allowInsecureHttp: config.allowInsecureHttp === true });
  const ref = checkRef(config.ref);
  const verify = config.verify ?? { mode: 'off' };
  checkVerify(verify, ref);
  const auth = config.auth ?? { type: 'none' };
  checkAuth(auth, url);
  if (typeof config.stateDir !== 'string' || config.stateDir === '') throw new InvalidConfig('stateDir is required');
  const limits = { ...DEFAULT_LIMITS, ...config.limits };
  if (Object.values(limits).some((n) => !(n > 0))) throw new InvalidConfig('limits must be positive numbers');
  return {
    name: config.name ?? `${url.host}/${url.path}`,
    url,
    ref,
    path: checkSubPath(config.path ?? ''),
    stateDir: resolve(config.stateDir),
    intervalMs: nonNegative(config.intervalMs ?? 60_000, 'intervalMs'),
    jitter: Math.min(Math.max(config.jitter ?? 0.1, 0), 1),
    minBackoffMs: nonNegative(config.minBackoffMs ?? 2_000, 'minBackoffMs'),
    auth,
    verify,
    limits,
    // all-new-commits walks the history between two revisions: a shallow clone would cut it short.
    shallow: verify.mode === 'all-new-commits' ? false : (config.shallow ?? true),
    onRewind: config.onRewind ?? 'apply',
    keepSnapshots: Math.max(1, Math.floor(config.keepSnapshots ?? 2)),
    caFile: checkCaFile(config.caFile),
  };
}

function checkCaFile(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  if (file === '' || /[\r\n\0]/.test(file)) throw new InvalidConfig('caFile must be a file path');
  return resolve(file);
}

function nonNegative(value: number, what: string): number {
  if (!Number.isFinite(value) || value < 0) throw new InvalidConfig(`${what} must be a non-negative number`);
  return value;
}

function checkVerify(verify: VerifyConfig, ref: CheckedRef): void {
  const tagModes = verify.mode === 'tag' || verify.mode === 'tag-and-head';
  if (tagModes && ref.kind !== 'tag' && ref.kind !== 'semver') {
    throw new InvalidConfig(`verify mode ${verify.mode} needs a tag or semver ref`);
  }
}

function checkAuth(auth: SourceAuth, url: CheckedUrl): void {
  if (auth.type === 'token' && url.kind !== 'https' && url.kind !== 'http') {
    throw new InvalidConfig('token auth needs an https URL');
  }
  if (auth.type === 'ssh' && url.kind !== 'ssh' && url.kind !== 'scp') {
    throw new InvalidConfig('ssh auth needs an ssh:// or user@host:path URL');
  }
}
