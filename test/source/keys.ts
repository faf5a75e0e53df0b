/** Throwaway signing keys for tests: GPG (ed25519, no passphrase) and SSH (ed25519). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A GPG key living in its own GNUPGHOME. */
export interface GpgKey {
  readonly home: string;
  readonly fingerprint: string;
  /** Armored public key file. */
  readonly publicFile: string;
  /** git args that sign with it (`git <args> commit -S`). */
  readonly signArgs: string[];
}

/** Generates a GPG key under `dir/<name>`. */
export function makeGpgKey(dir: string, name: string): GpgKey {
  const home = join(dir, `gpg-${name}`);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const env = { PATH: process.env.PATH, GNUPGHOME: home, HOME: dir };
  const uid = `${name} <${name}@example.test>`;
  execFileSync('gpg', ['--batch', '--quiet', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never'], {
    env,
    stdio: 'ignore',
  });
  const listing = execFileSync('gpg', ['--batch', '--with-colons', '--list-keys', uid], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const fingerprint = /^fpr:+([0-9A-F]+):/m.exec(listing)?.[1] ?? '';
  const publicFile = join(dir, `${name}.asc`);
  writeFileSync(
    publicFile,
    execFileSync('gpg', ['--batch', '--armor', '--export', fingerprint], { env, stdio: ['ignore', 'pipe', 'ignore'] }),
  );
  const signArgs = ['-c', `gpg.program=gpg`, '-c', `user.signingkey=${fingerprint}`];
  return { home, fingerprint, publicFile, signArgs };
}

/** Stops the gpg-agent of a key's home (started by signing). */
export function stopAgent(key: GpgKey): void {
  try {
    execFileSync('gpgconf', ['--kill', 'all'], { env: { PATH: process.env.PATH, GNUPGHOME: key.home }, stdio: 'ignore' });
  } catch {
    // no agent running
  }
}

/** An SSH signing key. */
export interface SshKey {
  readonly privateFile: string;
  readonly publicKey: string;
  readonly signArgs: string[];
}

/** Generates an ed25519 SSH key. */
export function makeSshKey(dir: string, name: string): SshKey {
  const privateFile = join(dir, `ssh-${name}`);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', privateFile], { stdio: 'ignore' });
  const publicKey = execFileSync('cat', [`${privateFile}.pub`], { encoding: 'utf8' }).trim();
  const signArgs = ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${privateFile}.pub`];
  return { privateFile, publicKey, signArgs };
}
