/**
 * How error messages name a credential file: its path, or nothing when the value does not look
 * like one (it may be the secret itself). Used by the clouds' credential readers and by the
 * daemon's config and Git checks alike.
 */

/**
 * A configured credential file path, for an error message about it. A value that does not look
 * like a path (`/…`, `./…`, `../…`, `~/…`) is not repeated: the usual reason a "file" cannot be read
 * is that the secret itself was pasted where its file name belongs.
 */
export function shownPath(value: string): string {
  return /^(?:\/|\.{1,2}\/|~\/)[^\s]*$/.test(value)
    ? JSON.stringify(value)
    : '(a value that is not a path; not shown in case it is the secret itself)';
}
