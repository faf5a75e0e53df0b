/**
 * Every file the operator's configuration names (the API token, the webhook secret, git
 * credentials, trusted signing keys, provider CAs and credentials) must lie outside the directories
 * a commit can write to: the state directory (it holds the fleet's checkout) and, with `source.dir`,
 * the fleet directory. A file there would be the commit's choice: a committed allowed-signers file
 * trusts the attacker's key, a committed token file becomes the API's bearer token. Checked once at
 * start, after resolving symlinks, and reported with the option's config path.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { CREDENTIAL_FILE_FIELDS } from '../contract/provider.ts';
import { shownPath } from '../contract/shown-path.ts';
import { notifyFiles } from '../notify/config.ts';
import type { DaemonConfig } from './types.ts';

/** One file option: its config path (e.g. `source.git.verify.sshAllowedSignersFile`) and value. */
export interface FileSetting {
  readonly setting: string;
  readonly file: string;
}

/** A directory a commit can write to, and how to name it. */
export interface UntrustedRoot {
  readonly dir: string;
  readonly what: string;
}

/** Every file option set in `config`. */
export function operatorFiles(config: DaemonConfig): FileSetting[] {
  const files: FileSetting[] = [];
  const add = (setting: string, file: string | undefined) => {
    if (file !== undefined && file !== '') files.push({ setting, file });
  };
  add('api.tokenFile', config.api.tokenFile);
  add('webhook.secretFile', config.webhook.secretFile);
  if (config.source.kind === 'git') {
    const { auth, verify } = config.source.git;
    if (auth.type === 'token') add('source.git.auth.tokenFile', auth.tokenFile);
    if (auth.type === 'ssh') {
      add('source.git.auth.sshKeyFile', auth.privateKeyFile);
      add('source.git.auth.knownHostsFile', auth.knownHostsFile);
    }
    add('source.git.verify.sshAllowedSignersFile', verify.sshAllowedSignersFile);
    (verify.gpgPublicKeyFiles ?? []).forEach((file, i) => add(`source.git.verify.gpgPublicKeyFiles[${i}]`, file));
  }
  for (const [name, binding] of Object.entries(config.providers)) {
    add(`providers.${name}.caFile`, binding.caFile);
    for (const field of CREDENTIAL_FILE_FIELDS) add(`providers.${name}.credentials.${field}`, binding.credentials?.[field]);
  }
  if (config.notify !== undefined) files.push(...notifyFiles(config.notify));
  add('ha.etcd.caFile', config.ha?.caFile);
  add('ha.etcd.certFile', config.ha?.certFile);
  add('ha.etcd.keyFile', config.ha?.keyFile);
  add('ha.etcd.passwordFile', config.ha?.passwordFile);
  return files;
}

/** The directories of `config` a commit can write to. */
export function untrustedRoots(config: DaemonConfig): UntrustedRoot[] {
  return [
    { dir: config.stateDir, what: 'the state directory' },
    ...(config.source.kind === 'dir' ? [{ dir: config.source.dir, what: 'the fleet directory (source.dir)' }] : []),
  ];
}

/** One message per file option that resolves (symlinks followed) into an untrusted root. */
export async function untrustedFileProblems(files: readonly FileSetting[], roots: readonly UntrustedRoot[]): Promise<string[]> {
  const realRoots = await Promise.all(roots.map(async (root) => ({ ...root, real: await realOrResolved(root.dir) })));
  const problems: string[] = [];
  for (const { setting, file } of files) {
    const real = await realOrResolved(file);
    const root = realRoots.find((r) => isInside(real, r.real));
    if (root === undefined) continue;
    problems.push(
      `${setting} ${shownPath(file)} lies inside ${root.what} ${shownPath(root.dir)}, where a commit can put files; move it outside (e.g. /etc/drover or /run/secrets)`,
    );
  }
  return problems;
}

/** The file's real path; for a file that does not exist yet, its parent's real path plus its name. */
async function realOrResolved(file: string): Promise<string> {
  const absolute = path.resolve(file);
  const real = await realpath(absolute).catch(() => undefined);
  if (real !== undefined) return real;
  const parent = await realpath(path.dirname(absolute)).catch(() => path.dirname(absolute));
  return path.join(parent, path.basename(absolute));
}

function isInside(file: string, root: string): boolean {
  const relative = path.relative(root, file);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}
