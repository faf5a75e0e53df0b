/**
 * What the diff says changed, field by field: launch-template fields (these roll the group),
 * settings, the reasons, and userData by size only (its text never reaches a report, which may
 * become a pull-request comment).
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

describe('drover diff: what changed', () => {
  it('lists template fields, settings and reasons; userData by size only, never its text', () => {
    const base = load('  userData: "#cloud-config\\npassword: hunter2-base"\n  tags: { team: a }\n');
    const head = load(
      '  userData: "#cloud-config\\npassword: hunter2-head-longer"\n  tags: { team: b }\n  rollout: { maxSurge: 2 }\n  suspend: true\n',
      5,
    );
    const report = diffStates(base, head, REFS);
    const g = report.groups[0]!;
    assert.deepEqual(g.reasons, ['template', 'replicas', 'rollout', 'suspend']);
    assert.deepEqual(
      g.template.map((f) => [f.path, f.before, f.after]),
      [
        ['tags.team', 'a', 'b'],
        ['userData', '36 bytes', '43 bytes'],
      ],
    );
    assert.deepEqual(
      g.settings.map((f) => f.path),
      ['replicas', 'rollout.maxSurge', 'suspend'],
    );
    assert.equal(g.rollout, undefined, 'a suspended group has no estimate');
    for (const out of [JSON.stringify(report), renderText(report), ...renderMarkdown(report)]) assert.doesNotMatch(out, /hunter2/);
  });

  it('drift.modified switched to report is a settings change that replaces nothing', () => {
    const report = diffStates(load(''), load('  drift: { modified: report }\n'), REFS);
    const g = report.groups[0]!;
    assert.deepEqual(g.reasons, ['drift']);
    assert.deepEqual(
      g.settings.map((f) => [f.path, f.before, f.after]),
      [['drift.modified', 'replace', 'report']],
    );
    assert.deepEqual(g.template, []);
    assert.equal(g.rollout?.replaced ?? 0, 0, 'no instance replaced');
  });

  it('userData of the same size but other text is still a change', () => {
    const report = diffStates(load('  userData: "aaaa"\n'), load('  userData: "bbbb"\n'), REFS);
    assert.deepEqual(report.groups[0]?.template, [{ path: 'userData', before: '4 bytes', after: '4 bytes, other content' }]);
    assert.deepEqual(report.groups[0]?.reasons, ['template']);
  });
});
