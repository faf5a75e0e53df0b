/**
 * Fleet content and daemon status never reach the terminal as control sequences: `drover diff`,
 * `validate` and `status` print ESC, BEL, C1 controls and bidi overrides as visible escapes
 * (attack22 F2: a tag key holding `ESC[31m` and an OSC window-title sequence was printed raw).
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { terminalSafe } from '../../src/cli/terminal-text.ts';
import { FIXTURES } from '../diff/git-fixtures.ts';
import { droverInProcess } from './drover-in-process.ts';

/** Any character a terminal would interpret rather than show (line feed and tab excepted). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const HOSTILE = 'k\u001b[31mRED\u001b]0;pwned\u0007\u009b2J\u202eevil\u2066';

describe('terminal output escapes control characters from fleet content and status', function () {
  this.timeout(30_000);
  let work: string;
  beforeEach(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'drover-terminal-'));
  });
  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
  });

  /** The digest-bump head with a tag key holding escape sequences (JSON-style escapes in a YAML double-quoted key). */
  async function hostileHead(): Promise<string> {
    const head = path.join(work, 'head');
    await cp(path.join(FIXTURES, 'digest-bump', 'head'), head, { recursive: true });
    const file = path.join(head, 'groups.yaml');
    const yamlKey = JSON.stringify(HOSTILE).replace('\u009b', '\\x9b').replace('\u202e', '\\u202e').replace('\u2066', '\\u2066');
    const text = (await readFile(file, 'utf8')).replace(
      'machine: { type: t3.small }',
      `machine: { type: t3.small }\n  tags: { ${yamlKey}: v }`,
    );
    await writeFile(file, text);
    return head;
  }

  it('drover diff (text) and validate show the escapes, never the raw characters', async () => {
    const head = await hostileHead();
    const diff = await droverInProcess('diff', '--dir', path.join(FIXTURES, 'digest-bump', 'base'), head);
    assert.equal(diff.code, 1, diff.stderr);
    const all = diff.stdout + diff.stderr;
    assert.match(all, /k\\x1b\[31mRED\\x1b\]0;pwned\\x07\\x9b2J\\u\{202E\}evil\\u\{2066\}/);
    assert.doesNotMatch(all, RAW_CONTROL);
    const validate = await droverInProcess('validate', head);
    assert.equal(validate.code, 1);
    assert.match(validate.stdout, /\\x1b\[31mRED/);
    assert.doesNotMatch(validate.stdout + validate.stderr, RAW_CONTROL);
  });

  it("drover status escapes the daemon's messages (cloud errors, rejected revisions)", async () => {
    const body = {
      fleet: 'acme',
      source: { lastAppliedRevision: 'abc', lastAttemptError: { reason: 'InvalidRevision', message: `bad key '${HOSTILE}'` } },
      groups: [
        {
          name: 'web',
          provider: 'aws-eu',
          replicas: 2,
          strategy: 'rolling',
          desiredTemplateHash: 'f00',
          conditions: [{ type: 'Stalled', status: 'True', reason: 'CreateFailed', message: `cloud said \u001b]8;;http://x\u0007` }],
          waitingFor: [],
          lastError: { reason: 'CreateFailed', message: HOSTILE },
        },
      ],
    };
    const server: Server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const status = await droverInProcess('status', '--url', `http://127.0.0.1:${port}`);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /bad key 'k\\x1b\[31mRED/);
      assert.doesNotMatch(status.stdout, RAW_CONTROL);
    } finally {
      server.close();
    }
  });

  it('keeps line feeds, tabs and ordinary non-ASCII text as they are', () => {
    assert.equal(terminalSafe('a\tb\nc é ⏎ → ✓'), 'a\tb\nc é ⏎ → ✓');
    assert.equal(terminalSafe('\r\u0000\u007f\u0085'), '\\x0d\\x00\\x7f\\x85');
  });
});
