/**
 * Credential scrubbing. Every message that leaves the Git source (errors, status, logs) goes
 * through a Redactor, which removes the exact secrets it was told about plus anything that looks
 * like a credential (URL userinfo, Authorization header values), so a token can never leak even
 * when git echoes it back in an unexpected form.
 */

const MASK = '***';

/** Shortest secret the redactor will register (masking tiny strings would shred messages). */
const MIN_SECRET_LENGTH = 4;

const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi;
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
  return text
    .replace(URL_USERINFO, `$1${MASK}@`)
    .replace(AUTH_HEADER, `$1${MASK}`)
    .replace(EXTRAHEADER, `$1${MASK}`);
}

/** Removes userinfo from a URL for display (`https://user:tok@host/x` → `https://host/x`). */
export function displayUrl(url: string): string {
  return url.replace(URL_USERINFO, '$1');
}
