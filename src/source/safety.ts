/**
 * Input validation for everything that reaches a git command line: repository URLs, ref names,
 * commit ids and the sub-path. Refuses transports that run commands (`ext::`, `fd::`), option
 * injection (anything starting with `-`), path traversal and control characters.
 */
import { UnsafeRef, UnsafeUrl } from './errors.ts';
import { displayUrl } from './redact.ts';

/** The URL forms drover accepts. `http` only with the test-only `allowInsecureHttp` option. */
export type UrlKind = 'https' | 'ssh' | 'scp' | 'file' | 'http';

/** A validated repository URL. */
export interface CheckedUrl {
  readonly url: string;
  readonly kind: UrlKind;
  /** Lower-case host ('' for file URLs). */
  readonly host: string;
  /** Repository path without leading '/' and trailing '.git'. */
  readonly path: string;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const SCP_LIKE = /^([A-Za-z0-9._~-]+)@([A-Za-z0-9.-]+):(?!\/\/)(.+)$/;
const TRANSPORT_PREFIX = /^[A-Za-z][A-Za-z0-9+.-]*::/;
/** A DNS name, IPv4 address or bracketed IPv6 address (lower case). */
const HOST = /^(?:[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?|\[[0-9a-f:.]+\])$/;

/** Validates a repository URL; throws UnsafeUrl with the reason when refused. */
export function checkUrl(url: string, options: { allowInsecureHttp?: boolean } = {}): CheckedUrl {
  const shown = displayUrl(url);
  const refuse = (why: string): never => {
    throw new UnsafeUrl(`repository URL refused (${why}): ${JSON.stringify(shown)}`);
  };
  if (url === '') refuse('empty');
  if (url.startsWith('-')) refuse('starts with "-"');
  if (CONTROL.test(url) || /\s/.test(url)) refuse('control or space characters');
  if (TRANSPORT_PREFIX.test(url)) refuse('transport helper syntax "<transport>::" is not allowed');
  const scp = SCP_LIKE.exec(url);
  if (scp !== null) return checkScp(url, scp[2] ?? '', scp[3] ?? '', refuse);
  return checkStandardUrl(url, options.allowInsecureHttp === true, refuse);
}

function checkScp(url: string, host: string, path: string, refuse: (why: string) => never): CheckedUrl {
  if (host.startsWith('-') || path.startsWith('-')) refuse('host or path starts with "-"');
  return { url, kind: 'scp', host: host.toLowerCase(), path: trimRepoPath(path) };
}

function checkStandardUrl(url: string, allowHttp: boolean, refuse: (why: string) => never): CheckedUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse('not a URL, nor user@host:path');
  }
  const kind = urlKind(parsed.protocol, allowHttp);
  if (kind === undefined) return refuse(`scheme ${parsed.protocol} not allowed (https, ssh, file only)`);
  if (parsed.password !== '') refuse('credentials in the URL; use the auth settings');
  if (kind !== 'ssh' && parsed.username !== '') refuse('user name in the URL; use the auth settings');
  // `https://user:pa/ss@host/x` parses as host `user`, port `pa`?, path `/ss@host/x`: a password
  // holding '/', '?' or '#' hides the userinfo from the parser. No forge puts '@' in a repository path.
  if (kind !== 'file' && `${parsed.pathname}${parsed.search}${parsed.hash}`.includes('@'))
    refuse('"@" after the host: credentials in the URL? use the auth settings');
  // git percent-decodes host and user before it connects (`ssh://%2Dx/` reaches ssh as `-x`), and
  // the URL parser leaves them encoded for ssh://: every check below is on the decoded text.
  const user = decode(parsed.username) ?? refuse('malformed percent-encoding');
  const path = decode(parsed.pathname) ?? refuse('malformed percent-encoding');
  const host = (decode(parsed.hostname) ?? refuse('malformed percent-encoding')).toLowerCase();
  if (host.startsWith('-') || user.startsWith('-')) refuse('host or user starts with "-"');
  if (kind !== 'file' && host === '') refuse('no host');
  if (host !== '' && !HOST.test(host)) refuse('host has characters no host name has (after percent-decoding)');
  if (/[@:/\\]/.test(user) || CONTROL.test(user)) refuse('user name has "@", ":", "/" or control characters (after percent-decoding)');
  if (parsed.search !== '' || parsed.hash !== '') refuse('query or fragment');
  return { url, kind, host, path: trimRepoPath(path) };
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function urlKind(protocol: string, allowHttp: boolean): UrlKind | undefined {
  if (protocol === 'https:') return 'https';
  if (protocol === 'ssh:') return 'ssh';
  if (protocol === 'file:') return 'file';
  if (protocol === 'http:' && allowHttp) return 'http';
  return undefined;
}

function trimRepoPath(path: string): string {
  return path
    .replace(/^\/+/, '')
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
}

/** Validates a branch or tag name (a subset of git check-ref-format); throws UnsafeRef. */
export function checkRefName(name: string, what = 'ref'): string {
  const refuse = (why: string): never => {
    throw new UnsafeRef(`${what} refused (${why}): ${JSON.stringify(name)}`);
  };
  if (name === '') refuse('empty');
  if (name.length > 255) refuse('too long');
  if (name.startsWith('-')) refuse('starts with "-"');
  if (CONTROL.test(name) || /[\s~^:?*[\\]/.test(name)) refuse('forbidden character');
  if (name.includes('..')) refuse('contains ".."');
  if (name.includes('@{') || name === '@') refuse('contains "@{"');
  if (name.includes('//') || name.startsWith('/') || name.endsWith('/')) refuse('empty path component');
  if (name.endsWith('.') || name.endsWith('.lock')) refuse('ends with "." or ".lock"');
  if (name.split('/').some((part) => part.startsWith('.'))) refuse('component starts with "."');
  return name;
}

/** Validates a full commit id (40 or 64 lower-case hex); throws UnsafeRef. */
export function checkCommitId(id: string): string {
  if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(id)) {
    throw new UnsafeRef(`commit refused (need a full lower-case hex id): ${JSON.stringify(id)}`);
  }
  return id;
}

/**
 * Validates and normalises the sub-path inside the repository: relative, '/'-separated, no `..`,
 * no leading '-'. Returns '' for the repository root.
 */
export function checkSubPath(path: string): string {
  const refuse = (why: string): never => {
    throw new UnsafeRef(`path refused (${why}): ${JSON.stringify(path)}`);
  };
  if (CONTROL.test(path) || path.includes('\\')) refuse('control character or backslash');
  if (path.startsWith('/')) refuse('absolute');
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.some((part) => part === '..')) refuse('contains ".."');
  if (parts.some((part) => part.startsWith('-'))) refuse('component starts with "-"');
  if (parts.some((part) => part.toLowerCase() === '.git')) refuse('.git');
  return parts.join('/');
}
