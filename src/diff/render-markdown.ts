/**
 * The Markdown rendering for a pull-request comment, in Atlantis' style: the summary line first,
 * then a table of the groups, each group's details, document changes and the deletion guard in
 * `<details>` blocks. A forge refuses a comment over 65,536 characters, so the rendering is a list
 * of comments: split between blocks, a block too long for one comment split between its lines.
 */
import { batches, duration, observedLine, plural, replicas, rolloutNotes, summaryLine, value } from './format.ts';
import { markdownTable } from './table.ts';
import type { DiffReport, DocumentDiff, FieldChange, GroupDiff } from './types.ts';

/** GitHub's limit on a comment body (GitLab's is far larger). */
export const COMMENT_LIMIT = 65_536;

/** A block of the comment: lines between an opening and a closing line (`<details>`), split between lines when too long. */
interface Block {
  readonly open: string;
  /** Lines repeated at the top of every piece of the block (a table's header). */
  readonly head?: readonly string[];
  readonly lines: readonly string[];
  readonly close: string;
}

/** The report as one or more comment bodies, each at most `limit` characters. */
export function renderMarkdown(report: DiffReport, limit = COMMENT_LIMIT): string[] {
  // The refs are the user's text (a branch name); the rest of the line is drover's own.
  const refs = { base: { ...report.base, ref: escape(report.base.ref) }, head: { ...report.head, ref: escape(report.head.ref) } };
  const title = `**drover diff** ${summaryLine({ ...report, ...refs })}`;
  return splitComments(title, blocksOf(report), limit);
}

/**
 * The comment when the revisions could not be compared (a BASE or HEAD that is no commit, an
 * invalid BASE, a missing path): the refs and the reason, so the pull request says why it has no
 * preview instead of having none. `base`/`head` and `message` are the user's or the fleet's text.
 */
export function renderErrorMarkdown(base: string, head: string, reason: string, message: string): string {
  return [
    `**drover diff** ${code(base)} → ${code(head)}: could not compare the revisions (${escape(reason)})`,
    '',
    escape(message),
    '',
    'No preview of this change; fix the cause above (see the README\'s "Pull requests") and run the job again.',
    '',
  ].join('\n');
}

/** Problems of an invalid head listed in the comment; the rest are counted (`drover validate` lists them all). */
export const PROBLEMS_LISTED = 50;

function blocksOf(report: DiffReport): Block[] {
  if (!report.valid) {
    const listed = report.problems.slice(0, PROBLEMS_LISTED).map((p) => `- ${code(report.head.ref)}: ${escape(p.text)}`);
    const more = report.problems.length - listed.length;
    const rest = more > 0 ? ['', `… and ${more.toLocaleString('en-US')} more: run \`drover validate\` for the full list.`] : [];
    return [{ open: '', lines: ['The head revision does not load; `drover validate` reports:', '', ...listed, ...rest], close: '' }];
  }
  const blocks: Block[] = [];
  if (report.observed !== undefined) blocks.push({ open: '', lines: [escape(observedLine(report.observed))], close: '' });
  if (report.groups.length > 0) {
    const table = groupTable(report.groups).split('\n');
    blocks.push({ open: '', head: table.slice(0, 2), lines: table.slice(2), close: '' });
  }
  const guard = guardLines(report);
  if (guard.length > 0) blocks.push({ open: '', lines: guard, close: '' });
  for (const g of report.groups) {
    const block = groupBlock(g);
    if (block !== undefined) blocks.push(block);
  }
  for (const d of report.documents) {
    const table = fieldTable(d.fields).split('\n');
    blocks.push({ ...details(documentSummary(d), table.slice(2)), head: table.slice(0, 2) });
  }
  return blocks;
}

function details(summary: string, lines: readonly string[]): Block {
  return { open: `<details><summary>${escape(summary)}</summary>\n\n`, lines, close: '\n\n</details>' };
}

function groupTable(groups: readonly GroupDiff[]): string {
  const rows = groups.map((g) => {
    const r = g.rollout;
    const dash = '-';
    return [
      code(g.name),
      g.change,
      g.reasons.join(', '),
      replicas(g),
      r?.strategy ?? dash,
      r === undefined ? dash : String(r.replaced),
      r === undefined ? dash : batches(r),
      r === undefined ? dash : `+${r.peakExtra}`,
      r === undefined ? dash : String(r.capacityFloor),
      r === undefined ? dash : `~${duration(r.durationSeconds)}`,
    ];
  });
  return markdownTable(['group', 'change', 'why', 'replicas', 'strategy', 'replaced', 'batches', 'peak extra', 'floor', 'duration'], rows);
}

/**
 * A group's details: the template hashes, its field table (the header repeated in every piece when
 * the block is split between comments) and the notes.
 */
function groupBlock(g: GroupDiff): Block | undefined {
  const fields = [...g.template, ...g.settings];
  const notes = rolloutNotes(g).map((n) => `- ${escape(n)}`);
  if (fields.length === 0 && notes.length === 0) return undefined;
  const { before, after } = g.templateHash;
  const hash = before !== undefined && after !== undefined && before !== after ? `Template \`${before}\` → \`${after}\`\n\n` : '';
  const block = details(`${g.name}: ${g.change} (${g.reasons.join(', ')})`, []);
  if (fields.length === 0) return { ...block, open: `${block.open}${hash}`, lines: notes };
  const table = fieldTable(fields).split('\n');
  return {
    ...block,
    open: `${block.open}${hash}`,
    head: table.slice(0, 2),
    lines: [...table.slice(2), ...(notes.length > 0 ? ['', ...notes] : [])],
  };
}

function fieldTable(fields: readonly FieldChange[]): string {
  return markdownTable(
    ['field', 'before', 'after'],
    fields.map((f) => [`\`${f.path}\``, code(value(f.before)), code(value(f.after))]),
  );
}

function documentSummary(d: DocumentDiff): string {
  const used = d.usedBy.length === 0 ? '' : `, used by ${d.usedBy.join(', ')}`;
  return `${d.kind} ${d.name}: ${d.change} (${plural(d.fields.length, 'field')}${used})`;
}

function guardLines(report: DiffReport): string[] {
  const lines: string[] = [];
  for (const r of report.guard.refusals)
    lines.push(
      `- :no_entry: **deletion guard refuses** (${r.code}): ${escape(r.message)}. Opt in with \`${r.optIn}\` in the Fleet document.`,
    );
  for (const r of report.guard.removedGroups) {
    const what = {
      kept: 'kept: prune is off',
      deleted: 'deleted (prune)',
      refused: 'would be deleted (prune): refused by the deletion guard',
    }[r.outcome];
    const which = r.earlier === true ? 'group removed earlier (seen in the clouds)' : 'removed group';
    lines.push(`- ${which} ${code(r.group)}: ${plural(r.instances, 'instance')} ${what}`);
  }
  for (const note of report.guard.notes ?? []) lines.push(`- ${escape(note)}`);
  return lines;
}

/** A code span on one line (backticks replaced, line breaks and control characters shown as `⏎`/`�`). */
function code(text: string): string {
  return text === '-' ? '-' : `\`${oneLine(text).replace(/`/g, "'")}\``;
}

/**
 * Free text from the fleet (problems, names, refs, messages) confined to where it is put: on one
 * line (a line break would start a heading, a list or a quote), Markdown's emphasis, link, code and
 * table characters backslash-escaped, and what would start HTML or a mention defused.
 */
function escape(text: string): string {
  return oneLine(text)
    .replace(/[\\`*_[\]~|#]/g, '\\$&')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@/g, '@\u200b');
}

/** Controls, and the bidi marks, overrides and isolates (a line that would read otherwise than it is). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSHOWN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Line breaks shown as ` ⏎ `, other control and bidi characters as U+FFFD: the text stays on its line, read as written. */
function oneLine(text: string): string {
  return text.replace(/\r\n|[\r\n\u2028\u2029]/g, ' ⏎ ').replace(UNSHOWN, '\ufffd');
}

/** Room kept for the part header (`title (part 10 of 12)`). */
const PART_HEADER_ROOM = 64;

/**
 * Packs blocks into comments of at most `limit` characters, the title first in each (the first
 * as is, the others marked as continuations), splitting between blocks, and a block too long for
 * one comment between its lines, each piece re-opened and closed.
 */
export function splitComments(title: string, blocks: readonly Block[], limit = COMMENT_LIMIT): string[] {
  const room = limit - title.length - PART_HEADER_ROOM;
  if (room < 256) throw new RangeError(`comment limit ${limit} leaves no room for the report`);
  const pieces = blocks.flatMap((b) => pieceBlock(b, room));
  const bodies: string[] = [];
  let current = '';
  for (const piece of pieces) {
    if (current !== '' && current.length + piece.length + 2 > room) {
      bodies.push(current);
      current = '';
    }
    current = current === '' ? piece : `${current}\n\n${piece}`;
  }
  if (current !== '' || bodies.length === 0) bodies.push(current);
  const n = bodies.length;
  return bodies.map((body, i) => {
    const head = n === 1 ? title : `${title} (part ${i + 1} of ${n})`;
    return body === '' ? `${head}\n` : `${head}\n\n${body}\n`;
  });
}

/** A block as one or more texts each at most `room` characters (lines longer than that are cut). */
function pieceBlock(block: Block, room: number): string[] {
  const head = block.head ?? [];
  const open = head.length === 0 ? block.open : `${block.open}${head.join('\n')}\n`;
  const frame = open.length + block.close.length + 2;
  const whole = `${open}${block.lines.join('\n')}${block.close}`;
  if (whole.length <= room) return [whole];
  const out: string[] = [];
  let lines: string[] = [];
  let size = frame;
  const flush = () => {
    if (lines.length > 0) out.push(`${open}${lines.join('\n')}${block.close}`);
    lines = [];
    size = frame;
  };
  for (const raw of block.lines) {
    const line = raw.length > room - frame ? `${raw.slice(0, room - frame - 1)}…` : raw;
    if (size + line.length + 1 > room) flush();
    lines.push(line);
    size += line.length + 1;
  }
  flush();
  return out;
}

/** The code span and free-text escapes of the comment, for other Markdown reports of fleet content (drover audit). */
export { code as markdownCode, escape as markdownText };
