/**
 * `drover diff` after the second outside attack on issue 22: a resumed group's numbers are not
 * stated as certain (N10: it converges from whatever runs now, which the base revision does not say);
 * a field table split between comments keeps its header, long values are cut (N5); an invalid head
 * with thousands of problems lists the first ones and a count (N6); turning prune on says what it
 * does to groups removed earlier: with --observe, their instances (deleted or refused), without it,
 * that it cannot know (N14).
 */
import assert from 'node:assert/strict';
import { loadFleetFiles } from '../../src/desired/load.ts';
import type { DesiredState } from '../../src/contract/fleet.ts';
import { diffStates, invalidHeadReport } from '../../src/diff/diff.ts';
import type { Problem } from '../../src/desired/problems.ts';
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

/** 30 tags whose values are `v` × 55 and the tag's number. */
const tags = (v: string) => `  tags: { ${Array.from({ length: 30 }, (_, i) => `k${i}: ${v.repeat(55)}${i}`).join(', ')} }\n`;

/** A Fleet document with `spec.prune`. */
const fleet = (prune: boolean) => `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: test-fleet }\nspec: { prune: ${prune} }\n`;
/** The minimal fleet with `spec.prune` set. */
const loadFleet = (prune: boolean): DesiredState => {
  const files = minimalFleet({ fleet: fleet(prune) });
  const r = loadFleetFiles(Object.entries(files).map(([file, text]) => ({ file, text })));
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.state;
};

describe('drover diff: attack 22b', () => {
  it('N10: a resumed group says its numbers assume the base revision ran (use --observe)', () => {
    const report = diffStates(load('  suspend: true\n'), load(''), REFS);
    for (const out of [renderText(report), renderMarkdown(report).join('\n')]) assert.match(out, /resumed: .*--observe/, out);
  });

  it('N5: a field table split between comments repeats its header; a long value is cut', () => {
    const report = diffStates(load(tags('a')), load(`${tags('b')}  health: { http: { port: 80, path: /${'A'.repeat(900)} } }\n`), REFS);
    const comments = renderMarkdown(report, 1_500);
    assert.ok(comments.length > 1, 'split');
    for (const c of comments)
      if (c.includes('| `tags.')) assert.match(c, /\| field \| before \| after \|\n\| --- \| --- \| --- \|\n\| `tags\./, c);
    const all = comments.join('\n');
    assert.doesNotMatch(all, /A{300}/, 'the 900-character path is cut');
    assert.match(all, /A{150}/);
    assert.match(all, /901 characters/);
  });

  it('N6: an invalid head with 3,000 problems: the first 50 listed and a count, in one comment', () => {
    const problems: Problem[] = Array.from({ length: 3000 }, (_, i) => ({
      file: `groups/g${i}.yaml`,
      line: 1,
      col: 1,
      path: 'spec.bogus',
      code: 'schema',
      message: `unknown field bogus${i}`,
    })) as unknown as Problem[];
    const comments = renderMarkdown(invalidHeadReport(REFS, problems));
    assert.equal(comments.length, 1);
    assert.match(comments[0]!, /bogus49\b/);
    assert.doesNotMatch(comments[0]!, /bogus50\b/);
    assert.match(comments[0]!, /2,950 more/);
  });

  it('N14: prune false → true lists the groups removed earlier that the clouds run (--observe), else says it cannot know', () => {
    const blind = diffStates(loadFleet(false), loadFleet(true), REFS);
    assert.ok(blind.changed);
    assert.match((blind.guard.notes ?? []).join(' '), /removed earlier.*--observe/);
    assert.match(renderText(blind), /removed earlier.*--observe/);
    assert.match(renderMarkdown(blind).join('\n'), /removed earlier.*--observe/);

    const observed = diffStates(loadFleet(false), loadFleet(true), REFS, {
      observedCounts: new Map([['web', 3]]),
      observedUndeclared: new Map([['worker-lab', { provider: 'aws-eu', count: 4 }]]),
    });
    assert.deepEqual(observed.guard.removedGroups, [{ group: 'worker-lab', instances: 4, outcome: 'refused', earlier: true }]);
    assert.ok(observed.guard.refusals.some((r) => r.optIn === 'spec.deletionGuard.allowGroupDeletion: [worker-lab]'));
    assert.match(renderText(observed), /worker-lab.*4 instances/);
  });
});
