/**
 * Signature verification of revisions (like Flux's `verify.mode`). Trust is explicit: GPG public
 * keys given as files are imported into a keyring private to the source, and SSH keys come from
 * an allowed-signers file. A revision that is unsigned, or signed by anything else, is refused.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { InvalidConfig, VerificationFailed } from './errors.ts';
import { GitExit } from './git.ts';
import type { GitRunner } from './git.ts';
import type { GitEnvironment } from './git-env.ts';

const exec = promisify(execFile);

/**
 * What must be signed.
 * - `off`: nothing is checked.
 * - `head`: the commit the ref resolves to.
 * - `tag`: the annotated tag object (tag and semver refs only).
 * - `tag-and-head`: both.
 * - `all-new-commits`: the commit the ref resolves to and every commit it brings beyond the last
 *   applied revision (`git rev-list tip ^applied`, merged side branches included), so an unsigned
 *   commit cannot ride under a signed merge. The first sync (nothing applied yet) checks the tip
 *   only; after a force-push, every commit since the merge base with the applied revision. Needs
 *   full history: fetches are not shallow in this mode.
 */
export type VerifyMode = 'off' | 'head' | 'tag' | 'tag-and-head' | 'all-new-commits';

/** Per-source verification settings. */
export interface VerifyConfig {
  readonly mode: VerifyMode;
  /** ASCII-armored (or binary) OpenPGP public key files; their primary keys are trusted. */
  readonly gpgPublicKeyFiles?: readonly string[];
  /** An ssh allowed-signers file (see ssh-keygen(1) ALLOWED SIGNERS). */
  readonly sshAllowedSignersFile?: string;
}

/** Who signed a verified object. */
export interface SignatureInfo {
  readonly format: 'gpg' | 'ssh';
  /** GPG primary key fingerprint, or SSH key fingerprint (SHA256:...). */
  readonly key: string;
}

/** Trust material prepared for one source. */
export interface TrustStore {
  /** Extra env for git (GNUPGHOME). */
  readonly env: Readonly<Record<string, string>>;
  /** Extra config for git (gpg.ssh.allowedSignersFile). */
  readonly config: readonly (readonly [string, string])[];
  /** Trusted GPG primary key fingerprints (upper-case hex). */
  readonly gpgFingerprints: ReadonlySet<string>;
}

/** Builds a fresh private keyring in `gnupgHome` from the configured key files. */
export async function prepareTrust(config: VerifyConfig, gnupgHome: string): Promise<TrustStore> {
  const files = config.gpgPublicKeyFiles ?? [];
  if (config.mode !== 'off' && files.length === 0 && config.sshAllowedSignersFile === undefined) {
    throw new InvalidConfig('verification is on but no gpgPublicKeyFiles or sshAllowedSignersFile is configured');
  }
  await rm(gnupgHome, { recursive: true, force: true });
  await mkdir(gnupgHome, { recursive: true, mode: 0o700 });
  for (const file of files) await importKey(gnupgHome, file);
  const fingerprints = files.length > 0 ? await listFingerprints(gnupgHome) : new Set<string>();
  const sshFile = config.sshAllowedSignersFile;
  return {
    env: { GNUPGHOME: gnupgHome },
    config: sshFile === undefined ? [] : [['gpg.ssh.allowedSignersFile', sshFile]],
    gpgFingerprints: fingerprints,
  };
}

async function importKey(home: string, file: string): Promise<void> {
  try {
    await exec('gpg', ['--homedir', home, '--batch', '--no-autostart', '--quiet', '--import', '--', file], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GNUPGHOME: home },
    });
  } catch {
    throw new InvalidConfig(`cannot import GPG public key file ${JSON.stringify(file)}`);
  }
}

async function listFingerprints(home: string): Promise<Set<string>> {
  const { stdout } = await exec('gpg', ['--homedir', home, '--batch', '--no-autostart', '--with-colons', '--list-keys'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GNUPGHOME: home },
  });
  const fingerprints = new Set<string>();
  let expectPrimary = false;
  for (const line of stdout.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === 'pub') expectPrimary = true;
    if (fields[0] === 'fpr' && expectPrimary) {
      fingerprints.add((fields[9] ?? '').toUpperCase());
      expectPrimary = false;
    }
  }
  return fingerprints;
}

/** Checks one commit or tag object. Throws VerificationFailed with a detail. */
export async function verifyObject(
  git: GitRunner,
  repoDir: string,
  kind: 'commit' | 'tag',
  id: string,
  trust: TrustStore,
  env: GitEnvironment,
  timeoutMs: number,
): Promise<SignatureInfo> {
  const body = await git.run(['cat-file', kind, id], { cwd: repoDir, env, timeoutMs });
  if (!hasSignature(body)) throw new VerificationFailed(`${kind} ${id} is not signed`, 'unsigned', id);
  const result = await runVerify(git, repoDir, kind, id, env, timeoutMs);
  return interpret(result, kind, id, trust);
}

function hasSignature(body: string): boolean {
  return /-----BEGIN (PGP|SSH) SIGNATURE-----/.test(body);
}

interface VerifyOutput {
  readonly ok: boolean;
  readonly output: string;
}

async function runVerify(
  git: GitRunner,
  repoDir: string,
  kind: 'commit' | 'tag',
  id: string,
  env: GitEnvironment,
  timeoutMs: number,
): Promise<VerifyOutput> {
  try {
    const { stdout, stderr } = await git.runDetailed([`verify-${kind}`, '--raw', id], { cwd: repoDir, env, timeoutMs });
    return { ok: true, output: `${stdout}\n${stderr}` };
  } catch (error) {
    if (error instanceof GitExit) return { ok: false, output: error.stderr };
    throw error;
  }
}

function interpret(result: VerifyOutput, kind: string, id: string, trust: TrustStore): SignatureInfo {
  const gpg = /^\[GNUPG:\] VALIDSIG (?:\S+ ){9}([0-9A-Fa-f]+)\s*$/m.exec(result.output);
  const ssh = /^Good "git" signature .*with \S+ key (SHA256:\S+)/m.exec(result.output);
  if (result.ok && gpg?.[1] !== undefined) {
    const fingerprint = gpg[1].toUpperCase();
    if (trust.gpgFingerprints.has(fingerprint)) return { format: 'gpg', key: fingerprint };
    throw new VerificationFailed(`${kind} ${id} is signed by untrusted GPG key ${fingerprint}`, 'untrusted-key', id);
  }
  if (result.ok && ssh?.[1] !== undefined) return { format: 'ssh', key: ssh[1] };
  if (/^\[GNUPG:\] BADSIG /m.test(result.output)) {
    throw new VerificationFailed(`${kind} ${id} has a bad GPG signature`, 'bad-signature', id);
  }
  if (
    !/\[GNUPG:\]|signature/i.test(result.output) ||
    /needs to be configured|cannot run|failed to run|unable to open/i.test(result.output)
  ) {
    throw new VerificationFailed(
      `${kind} ${id}: the signature could not be checked (verifier unavailable or misconfigured)`,
      'verifier-error',
      id,
    );
  }
  if (/^\[GNUPG:\] (ERRSIG|NO_PUBKEY) /m.test(result.output) || /No principal matched/.test(result.output)) {
    throw new VerificationFailed(`${kind} ${id} is not signed by a trusted key`, 'untrusted-key', id);
  }
  throw new VerificationFailed(`${kind} ${id}: signature could not be verified by a trusted key`, 'untrusted-key', id);
}
