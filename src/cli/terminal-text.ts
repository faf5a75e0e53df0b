/**
 * Text for a terminal or a CI log, with every control character shown escaped.
 *
 * What the CLI prints carries text it does not own: YAML keys and values of the fleet (echoed in
 * validation problems), cloud error messages and the daemon's status. A fleet author who writes
 * `ESC ] 0 ; … BEL` into a key would otherwise set the operator's window title, recolour the
 * output or (on some terminals) worse; a bidi override would make a line read differently than it
 * is. So C0 controls other than line feed and tab, DEL and C1 controls print as `\xHH`, and the
 * bidi embedding, override and isolate characters as `\u{HHHH}` — visible, never interpreted.
 */

/** C0 (but \t and \n), DEL, C1; the bidi marks, embeddings, overrides and isolates. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** `text` with each control or bidi-control character replaced by a visible escape. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16).toUpperCase()}}`;
  });
}

/** Writes `text` to stdout, control characters escaped (what a human reads: tables, reports). */
export function printOut(text: string): void {
  process.stdout.write(terminalSafe(text));
}

/** Writes `text` to stderr, control characters escaped (errors and problems quote fleet content). */
export function printErr(text: string): void {
  process.stderr.write(terminalSafe(text));
}
