/**
 * Fleet content in a Teams Adaptive Card stays text (outside attack 22 F4): TextBlocks and facts
 * render Markdown, so a rejected commit's field name with a link, emphasis, a heading or line
 * breaks must reach the ops channel inert, and still readable.
 */
import assert from 'node:assert/strict';
import type { NotifyEvent } from '../../src/notify/events.ts';
import { teamsBody } from '../../src/notify/sinks.ts';

const HOSTILE =
  "unknown field '[Click to approve](https://evil.example/phish) <!channel> **urgent** _now_'\n\n# Approved\n- item\n1. first";

/** Text with backslash-escaped characters removed: what Markdown would still interpret. */
const live = (text: string) => text.replace(/\\./g, '');

describe('notify: Teams cards escape fleet content', () => {
  it('a hostile rejection message and group name give no link, emphasis, heading, list or line break', () => {
    const event: NotifyEvent = {
      kind: 'RevisionRejected',
      severity: 'error',
      fleet: 'prod',
      group: '# web**x**',
      revision: 'a'.repeat(40),
      reason: 'InvalidRevision',
      message: HOSTILE,
      at: '2026-12-07T03:00:00.000Z',
    };
    const body = teamsBody(event) as { attachments: { content: { body: { text?: string; facts?: { value: string }[] }[] } }[] };
    const blocks = body.attachments[0]!.content.body;
    const texts = [blocks[0]!.text!, blocks[1]!.text!, ...blocks[2]!.facts!.map((f) => f.value)];
    for (const text of texts) {
      assert.ok(!/[\r\n]/.test(text), `a line break: ${JSON.stringify(text)}`);
      const inert = live(text);
      assert.ok(!/\[[^\]]*\]\(/.test(inert) && !inert.includes('['), `a live link: ${text}`);
      assert.ok(!/[*_]/.test(inert), `live emphasis: ${text}`);
      assert.ok(!/^\s*(#|-|\d+\.)/.test(inert), `a heading or list: ${text}`);
    }
    assert.ok(blocks[1]!.text!.includes('Click to approve'), 'still readable');
  });
});
