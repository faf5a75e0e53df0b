/**
 * resolveLink against the kernel: random trees of relative symlinks (links through links, `.`,
 * `..`), written to disk inside an outer directory; wherever realpath(2) resolves a link, drover's
 * verdict must agree on whether it stays in the tree.
 */
import assert from 'node:assert/strict';
import { mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { resolveLink } from '../../src/source/tree-links.ts';
import { tempDir } from './helpers.ts';

const LINK_PATHS = ['l1', 'd/l2', 'd/e/l3', 'l4'];
const PARTS = ['.', '..', 'd', 'e', 'f', 'l1', 'l2', 'l3', 'l4'];

describe('source/tree-links: resolveLink agrees with the kernel', () => {
  it('the attack of issue 17 and plain cases', () => {
    const links = new Map([
      ['.h/y', '.'],
      ['.h/x', `${'y/'.repeat(8)}${'../'.repeat(8)}etc/hostname`],
    ]);
    assert.equal(resolveLink('.h/x', links), 'escapes');
    assert.equal(resolveLink('.h/y', links), 'inside');
    assert.equal(resolveLink('a', new Map([['a', '/etc/passwd']])), 'absolute');
    assert.equal(
      resolveLink(
        'a',
        new Map([
          ['a', 'b'],
          ['b', 'a'],
        ]),
      ),
      'loop',
    );
    assert.equal(resolveLink('d/a', new Map([['d/a', '../x']])), 'inside');
    assert.equal(resolveLink('d/a', new Map([['d/a', '../../x']])), 'escapes');
  });

  it('random link trees (property)', () => {
    const tmp = tempDir('drover-links-');
    let run = 0;
    try {
      const target = fc.array(fc.constantFrom(...PARTS), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/'));
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.constantFrom(...LINK_PATHS), target), { minLength: 1, maxLength: 4 }), (pairs) => {
          const outer = path.join(tmp.path, String(run++));
          const root = path.join(outer, 'tree');
          // The outer directory mirrors the tree's names, so an escaping path usually exists.
          for (const base of [outer, root]) {
            mkdirSync(path.join(base, 'd', 'e'), { recursive: true });
            writeFileSync(path.join(base, 'f'), 'f');
          }
          const links = new Map(pairs);
          for (const [link, text] of links) symlinkSync(text, path.join(root, link));
          for (const link of links.keys()) {
            const verdict = resolveLink(link, links);
            let real: string | undefined;
            try {
              real = realpathSync(path.join(root, link));
            } catch {
              real = undefined;
            }
            if (real === undefined) continue;
            const inside = real === root || real.startsWith(`${root}/`);
            assert.equal(verdict === 'inside', inside, `${link} in ${JSON.stringify([...links])}: verdict ${verdict}, kernel ${real}`);
          }
          rmSync(outer, { recursive: true, force: true });
        }),
        { seed: 17, numRuns: 300 },
      );
    } finally {
      tmp.cleanup();
    }
  });
});
