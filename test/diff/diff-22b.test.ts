/**
 * `drover diff` after the second outside attack on issue 22: a resumed group's numbers are not
 * stated as certain (N10: it converges from whatever runs now, which the base revision does not say).
 */
import assert from 'node:assert/strict';
import { loadFleetFiles } from '../../src/desired/load.ts';
import type { DesiredState } from '../../src/contract/fleet.ts';
import { diffStates } from '../../src/diff/diff.ts';
import { renderMarkdown } from '../../src/diff/render-markdown.ts';
import { renderText } from '../../src/diff/render-text.ts';
import { groupYaml, minimalFleet } from '../helpers/fleet-files.ts';

const REFS = { base: { ref: 'base', commit: undefined }, head: { ref: 'head', commit: undefined } };

function load(extra: string, replicas = 3): DesiredState {
  const files = minimalFleet({ group: groupYaml(extra, replicas) });
  const r = loadFleetFiles(Object.entries(files).map(([file, text]) => ({ file, text })));
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.state;
}

describe('drover diff: attack 22b', () => {
  it('N10: a resumed group says its numbers assume the base revision ran (use --observe)', () => {
    const report = diffStates(load('  suspend: true\n'), load(''), REFS);
    for (const out of [renderText(report), renderMarkdown(report).join('\n')]) assert.match(out, /resumed: .*--observe/, out);
  });
});
