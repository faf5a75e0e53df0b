/**
 * The environment every git child process runs with. Nothing is inherited but PATH: no ambient
 * GIT_* variables, no system or user config (HOME points into the state directory), no prompts,
 * only the protocols the source needs. Credentials travel through environment-based config
 * (GIT_CONFIG_COUNT/KEY/VALUE) or GIT_SSH_COMMAND — never through the URL or process arguments.
 */
import { readFile } from 'node:fs/promises';
import { shownPath } from '../contract/shown-path.ts';
import { InvalidConfig } from './errors.ts';
import type { Redactor } from './redact.ts';
import type { UrlKind } from './safety.ts';

/** How the source authenticates to the remote. Secrets are referenced, never inlined. */
export type SourceAuth =
  | { readonly type: 'none' }
  | {
      readonly type: 'token';
      /** Environment variable holding the token (read at every fetch, so rotation works). */
      readonly tokenEnv?: string;
      /** File holding the token (trailing whitespace trimmed). One of tokenEnv/tokenFile is required. */
      readonly tokenFile?: string;
      /** User name for Basic auth; default `x-access-token` (GitHub; GitLab accepts any). */
      readonly username?: string;
      /** `basic` (default, what git hosts expect) or `bearer`. */
      readonly scheme?: 'basic' | 'bearer';
    }
  | {
      readonly type: 'ssh';
      readonly privateKeyFile: string;
      /** known_hosts file with the server's host key. Required while strict checking is on. */
      readonly knownHostsFile?: string;
      /** Default true. Turning it off accepts any host key (man-in-the-middle risk). */
      readonly strictHostKeyChecking?: boolean;
    };

/** A ready-to-use environment plus the guarded keys simple-git must be told about. */
export interface GitEnvironment {
  readonly env: Readonly<Record<string, string>>;
  readonly allowEnvironment: readonly string[];
}

/** Inputs to {@link buildGitEnv}. */
export interface GitEnvOptions {
  /** HOME for git (inside the state directory). */
  readonly home: string;
  /** The transport the remote URL uses; only it (and nothing else) is allowed. */
  readonly protocol: UrlKind;
  readonly auth: SourceAuth;
  readonly redactor: Redactor;
  /** Abort a transfer slower than 1 KiB/s for this long (seconds). */
  readonly lowSpeedTimeSeconds: number;
  /** Extra config pairs (e.g. gpg.ssh.allowedSignersFile) — set by the source, never by users. */
  readonly extraConfig?: readonly (readonly [string, string])[];
  /** Extra plain variables (e.g. GNUPGHOME). */
  readonly extraEnv?: Readonly<Record<string, string>>;
}

/** Builds the minimal environment for one git invocation (reads the token afresh). */
export async function buildGitEnv(options: GitEnvOptions): Promise<GitEnvironment> {
  const config: [string, string][] = [
    ['protocol.allow', 'never'],
    [`protocol.${transportName(options.protocol)}.allow`, 'always'],
    ['http.lowSpeedLimit', '1024'],
    ['http.lowSpeedTime', String(options.lowSpeedTimeSeconds)],
    ['transfer.fsckObjects', 'true'],
    ['core.askPass', ''],
    ['credential.helper', ''],
    ['gc.auto', '0'],
    // Nothing in a repository runs a program: no fsmonitor daemon, no hooks (defence in depth; the
    // bare repository is drover's own, and a commit cannot create `.git` paths in the checkout).
    ['core.fsmonitor', 'false'],
    ['core.hooksPath', '/dev/null'],
    ...(options.extraConfig ?? []).map(([key, value]): [string, string] => [key, value]),
  ];
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: options.home,
    XDG_CONFIG_HOME: `${options.home}/.config`,
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: 'false',
    SSH_ASKPASS: 'false',
    ...options.extraEnv,
  };
  await addAuth(options, config, env);
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  env.GIT_CONFIG_COUNT = String(config.length);
  return { env, allowEnvironment: Object.keys(env).filter(isGuarded) };
}

function isGuarded(key: string): boolean {
  const k = key.toLowerCase();
  return k.startsWith('git_') || k === 'ssh_askpass';
}

function transportName(kind: UrlKind): string {
  return kind === 'scp' ? 'ssh' : kind;
}

async function addAuth(options: GitEnvOptions, config: [string, string][], env: Record<string, string>): Promise<void> {
  const auth = options.auth;
  if (auth.type === 'token') {
    const token = await readToken(auth);
    options.redactor.add(token);
    const username = auth.username ?? 'x-access-token';
    const value = auth.scheme === 'bearer' ? `Bearer ${token}` : `Basic ${Buffer.from(`${username}:${token}`).toString('base64')}`;
    options.redactor.add(value.slice(value.indexOf(' ') + 1));
    config.push(['http.extraHeader', `Authorization: ${value}`]);
  }
  if (auth.type === 'ssh') env.GIT_SSH_COMMAND = sshCommand(auth);
  env.GIT_SSH_VARIANT = 'ssh';
}

/** Reads the token from the configured env var or file; throws InvalidConfig (without the value). */
export async function readToken(auth: { readonly tokenEnv?: string; readonly tokenFile?: string }): Promise<string> {
  let token: string | undefined;
  if (auth.tokenEnv !== undefined) token = process.env[auth.tokenEnv];
  else if (auth.tokenFile !== undefined) token = await readTokenFile(auth.tokenFile);
  else throw new InvalidConfig('token auth needs tokenEnv or tokenFile');
  token = token?.trim();
  if (token === undefined || token === '') throw new InvalidConfig('token auth: the token is empty or missing');
  if (/[\r\n\0]/.test(token)) throw new InvalidConfig('token auth: the token contains line breaks');
  return token;
}

async function readTokenFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidConfig(`token auth: cannot read token file ${shownPath(path)} (${(error as NodeJS.ErrnoException).code ?? 'EIO'})`);
  }
}

/** Single-quotes a value for the shell git uses to run GIT_SSH_COMMAND. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The ssh command line: no user config, key only, batch mode, strict host keys by default. */
export function sshCommand(auth: Extract<SourceAuth, { type: 'ssh' }>): string {
  const strict = auth.strictHostKeyChecking !== false;
  if (strict && auth.knownHostsFile === undefined) {
    throw new InvalidConfig('ssh auth: knownHostsFile is required while strictHostKeyChecking is on');
  }
  const knownHosts = auth.knownHostsFile ?? '/dev/null';
  return [
    'ssh',
    '-F',
    '/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'ConnectTimeout=30',
    '-o',
    'ServerAliveInterval=15',
    '-o',
    'ServerAliveCountMax=3',
    '-o',
    `StrictHostKeyChecking=${strict ? 'yes' : 'no'}`,
    '-o',
    `UserKnownHostsFile=${shellQuote(knownHosts)}`,
    '-i',
    shellQuote(auth.privateKeyFile),
  ].join(' ');
}
