/**
 * Credential scrubbing. Every message that leaves the Git source (errors, status, logs) goes
 * through a Redactor, which removes the exact secrets it was told about plus anything that looks
 * like a credential (URL userinfo, Authorization header values), so a token can never leak even
 * when git echoes it back in an unexpected form.
 */

const MASK = '***';

/** Shortest secret the redactor will register (masking tiny strings would shred messages). */
const MIN_SECRET_LENGTH = 4;

/**
 * `scheme://userinfo@` in free text. The userinfo runs to the LAST '@' before whitespace: a password
 * may itself hold '@', '/', '?' or '#' (unencoded, as people paste them), and stopping at the first
 * one would leave the rest of the password in the message. Over-masking a path that contains '@'
 * is the price. The scheme starts a word and is at most 32 characters (a URI scheme is short), so
 * the scan is linear: an unbounded one made every long run of letters quadratic (a 40,000-letter
 * commit subject took 2.7 s per status read; outside attack on issue 23).
 */
const URL_USERINFO = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}:\/\/)(?:[^\s@]*@)+/gi;
/** `user@host:path`, git's scp-like syntax: the user part holds no password (no ':'). */
const SCP_LIKE = /^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:(?!\/\/)/;
const AUTH_HEADER = /(authorization:\s*(?:basic|bearer|token)?\s*)[^\s'"]+/gi;
const EXTRAHEADER = /(extraheader\s*=?\s*)[^\n]+/gi;

/** Scrubs known secrets and credential-shaped text from strings. */
export class Redactor {
  readonly #secrets = new Set<string>();

  /** Registers a secret (and its base64 form, as used in Basic auth) to be masked everywhere. */
  add(secret: string): void {
    if (secret.length < MIN_SECRET_LENGTH) return;
    this.#secrets.add(secret);
    this.#secrets.add(Buffer.from(secret).toString('base64'));
    this.#secrets.add(encodeURIComponent(secret));
  }

  /** Returns `text` with every secret and credential-shaped substring masked. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.#sortedSecrets()) out = out.split(secret).join(MASK);
    return redactPatterns(out);
  }

  /** Longest first, so a secret containing another is masked whole. */
  #sortedSecrets(): string[] {
    return [...this.#secrets].sort((a, b) => b.length - a.length);
  }
}

/** Masks credential-shaped text only (URL userinfo, Authorization and extraHeader values). */
export function redactPatterns(text: string): string {
  return text.replace(URL_USERINFO, `$1${MASK}@`).replace(AUTH_HEADER, `$1${MASK}`).replace(EXTRAHEADER, `$1${MASK}`);
}

/**
 * Removes userinfo from a URL for display (`https://user:tok@host/x` → `https://host/x`). Also for
 * strings that are not valid URLs (those are what error messages echo) and URLs with an '@' left
 * after parsing: everything up to the last '@' is masked, so a password holding '/', '@', '#' or a
 * space never survives in part (`https://u:pa/ss@host/x` parses as host `u`, port-less path `/ss@…`).
 */
export function displayUrl(url: string): string {
  if (!url.includes('@') || SCP_LIKE.test(url)) return url;
  try {
    const parsed = new URL(url);
    if (parsed.username !== '' || parsed.password !== '') {
      parsed.username = '';
      parsed.password = '';
    }
    const shown = parsed.href;
    if (!shown.includes('@')) return shown;
  } catch {
    // not a URL: fall through to the textual cut
  }
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
  return `${scheme}${MASK}@${url.slice(url.lastIndexOf('@') + 1)}`;
}
