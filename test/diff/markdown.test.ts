/**
 * The Markdown rendering of a large change: split into comments of at most 65,536 characters
 * (GitHub's limit), the summary line first in each, every group in exactly one comment, every
 * `<details>` closed in the comment that opens it, and the groups table's header repeated in each
 * piece of the table.
 */
import assert from 'node:assert/strict';
import { loadFleetFiles } from '../../src/desired/load.ts';
import type { DesiredState } from '../../src/contract/fleet.ts';
import { diffStates } from '../../src/diff/diff.ts';
import { COMMENT_LIMIT, renderMarkdown } from '../../src/diff/render-markdown.ts';

function fleet(groups: number, digest: string, machine: string): DesiredState {
  const head = [
    'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: shop }\nspec: { prune: false }\n',
    'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: sha256:${digest.repeat(64)}\n  artifacts: { aws-eu: { id: ami-0a1b2c3d4e5f60718 } }\n`,
  ];
  const docs = Array.from(
    { length: groups },
    (_, i) =>
      `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: service-${String(i).padStart(4, '0')} }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: 2\n  machine: { type: ${machine} }\n  placement: { zones: [eu-west-1a] }\n  tags: { team: team-${i} }\n`,
  );
  const r = loadFleetFiles([{ file: 'fleet.yaml', text: [...head, ...docs].join('---\n') }]);
  if (!r.ok) throw new Error(r.problems[0]?.message);
  return r.state;
}

describe('drover diff --markdown: comments split at 65,536 characters', function () {
  this.timeout(60_000);

  it('a change to 600 groups: several comments, each within the limit, every group once, details balanced', () => {
    const n = 600;
    const report = diffStates(fleet(n, 'a', 't3.small'), fleet(n, 'b', 't3.medium'), {
      base: { ref: 'origin/main', commit: undefined },
      head: { ref: 'HEAD', commit: undefined },
    });
    const comments = renderMarkdown(report);
    assert.ok(comments.length > 1, `${comments.length} comment(s)`);
    for (const [i, c] of comments.entries()) {
      assert.ok(c.length <= COMMENT_LIMIT, `comment ${i + 1}: ${c.length} characters`);
      assert.ok(c.startsWith('**drover diff** origin/main → HEAD: 600 groups changed'), c.slice(0, 120));
      assert.ok(c.includes(`(part ${i + 1} of ${comments.length})`));
      assert.equal((c.match(/<details>/g) ?? []).length, (c.match(/<\/details>/g) ?? []).length, `comment ${i + 1}`);
    }
    const all = comments.join('\n');
    for (let i = 0; i < n; i += 1) {
      const name = `service-${String(i).padStart(4, '0')}`;
      assert.equal(all.split(`| \`${name}\` |`).length - 1, 1, `${name} in the table once`);
      assert.equal(all.split(`<summary>${name}: changed`).length - 1, 1, `${name} details once`);
    }
    const tablePieces = comments.filter((c) => c.includes('| `service-'));
    for (const c of tablePieces) assert.ok(c.includes('| group | change | why |'), 'each piece of the table has its header');
  });

  it('a small change is one comment without a part number', () => {
    const report = diffStates(fleet(2, 'a', 't3.small'), fleet(2, 'b', 't3.small'), {
      base: { ref: 'base', commit: undefined },
      head: { ref: 'HEAD', commit: undefined },
    });
    const comments = renderMarkdown(report);
    assert.equal(comments.length, 1);
    assert.doesNotMatch(comments[0]!, /\(part 1 of/);
  });
});
