/**
 * Fleet content in the `drover diff --markdown` comment stays text (outside attack 22 F1): a
 * validation problem quoting a hostile tag key, a hostile ref and group name must not start a
 * heading, a link, emphasis, HTML or a new line of the bot's comment.
 */
import assert from 'node:assert/strict';
import { loadFleetFiles } from '../../src/desired/load.ts';
import { diffStates, invalidHeadReport } from '../../src/diff/diff.ts';
import { renderMarkdown } from '../../src/diff/render-markdown.ts';

const HOSTILE = 'a\n\n# LGTM - approved by security\n\n[details](https://evil.example/x) **urgent** <img src=x> `tick`\n';

function files(tagKey: string, group = 'web'): { file: string; text: string }[] {
  const text = [
    'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: shop }\nspec: { prune: false }\n',
    'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: sha256:${'a'.repeat(64)}\n  artifacts: { aws-eu: { id: ami-0a1b2c3d4e5f60718 } }\n`,
    `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${group} }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: 2\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n  tags: { ${JSON.stringify(tagKey)}: v }\n`,
  ].join('---\n');
  return [{ file: 'fleet.yaml', text }];
}

/** The comment without backslash-escaped characters and code spans (both literal): what Markdown would still interpret. */
const live = (comment: string) => comment.replace(/\\./g, '').replace(/`[^`\n]*`/g, '');

describe('drover diff --markdown: fleet content cannot inject Markdown', () => {
  it('a problem quoting a hostile key stays on its list item, its link, emphasis, heading and HTML inert', () => {
    const loaded = loadFleetFiles(files(HOSTILE));
    assert.ok(!loaded.ok, 'the hostile key is a validation problem');
    const refs = { base: { ref: 'main', commit: undefined }, head: { ref: 'x`y<img src=x>[l](https://e.vil)', commit: undefined } };
    const [comment] = renderMarkdown(invalidHeadReport(refs, loaded.problems));
    const lines = comment!.split('\n');
    assert.ok(!lines.some((l) => /^\s*#/.test(l)), `a heading line:\n${comment}`);
    assert.ok(!lines.some((l) => l.startsWith('[details]')), comment);
    const text = live(comment!);
    assert.ok(!/\]\(https?:/.test(text), `a live link:\n${comment}`);
    assert.ok(!/\*\*urgent\*\*/.test(text), `live emphasis:\n${comment}`);
    assert.ok(!/<img/.test(text), `HTML:\n${comment}`);
    const problemLines = lines.filter((l) => l.startsWith('- '));
    assert.equal(problemLines.length, loaded.problems.length, 'one line per problem');
    assert.ok(
      problemLines.some((l) => l.includes('LGTM - approved by security')),
      'the text is still shown',
    );
  });

  it('control characters and bidi overrides from fleet content never reach the comment (a review comment that reads otherwise than it is)', () => {
    const loaded = loadFleetFiles(files('ok\u202e\u2066evil\u001b[31m\u0007'));
    assert.ok(!loaded.ok);
    const refs = { base: { ref: 'main', commit: undefined }, head: { ref: 'feature\u202e', commit: undefined } };
    const [comment] = renderMarkdown(invalidHeadReport(refs, loaded.problems));
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    assert.doesNotMatch(comment!, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u);
    assert.match(comment!, /ok\ufffd\ufffdevil\ufffd\\\[31m\ufffd/);
  });

  it('a hostile ref in the title is escaped', () => {
    const loaded = loadFleetFiles(files('team'));
    assert.ok(loaded.ok);
    const refs = { base: { ref: 'x<img-src=x>`[l](https://e.vil)', commit: undefined }, head: { ref: 'HEAD', commit: undefined } };
    const [comment] = renderMarkdown(diffStates(loaded.state, loaded.state, refs));
    const title = comment!.split('\n')[0]!;
    assert.ok(!live(title).includes('<img'), title);
    assert.ok(!/\]\(https?:/.test(live(title)), title);
  });
});
