/**
 * A daemon whose cloud SDK misbehaves outside calls stays readable (attack17 usability 4): Node
 * process warnings (google-auth's MetadataLookupWarning when there are no Application Default
 * Credentials) become JSON log lines instead of free text on stderr, and the same leaked rejection
 * repeated every pass is logged once, not once per pass. Real `drover run` process; an --import hook
 * emits the warning and three identical rejections once the daemon logs that it is listening, then
 * a marker, so the test waits on output, not on time.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const HOOK = `
const write = process.stdout.write.bind(process.stdout);
let fired = false;
process.stdout.write = (chunk, ...rest) => {
  if (!fired && String(chunk).includes('"msg":"listening"')) {
    fired = true;
    setImmediate(() => {
      process.emitWarning('probe: no metadata server', 'MetadataLookupWarning');
      for (let i = 0; i < 3; i++) Promise.reject(new Error('leaked: getaddrinfo ENOTFOUND metadata.google.internal'));
      setTimeout(() => process.emitWarning('marker-done', 'MarkerWarning'), 50);
    });
  }
  return write(chunk, ...rest);
};
`;

describe('drover run: SDK noise is logged as JSON, once', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'drover-noise-'));
    writeFileSync(path.join(dir, 'fleet.yaml'), 'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: noise }\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a process warning is a JSON log line; an identical leaked rejection is logged once', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        `data:text/javascript,${encodeURIComponent(HOOK)}`,
        path.resolve('bin/drover'),
        'run',
        '--dir',
        dir,
        '--listen',
        '127.0.0.1:0',
        '--state-dir',
        path.join(dir, 'state'),
      ],
      {
        env: { PATH: process.env['PATH'] ?? '', HOME: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    const done = new Promise<void>((resolve) => {
      const check = () => {
        if ((stdout + stderr).includes('marker-done')) resolve();
      };
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        check();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        check();
      });
      child.once('exit', () => resolve());
    });
    await done;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('close', resolve));
    assert.doesNotMatch(stderr, /MetadataLookupWarning|probe: no metadata server/, `free-text warning on stderr:\n${stderr}`);
    const lines = stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { level: number; msg: string; warning?: { name: string; message: string }; err?: { message: string } });
    assert.ok(
      lines.some((l) => l.level === 40 && l.warning?.name === 'MetadataLookupWarning' && l.warning.message === 'probe: no metadata server'),
      stdout,
    );
    const leaks = lines.filter((l) => l.err?.message.startsWith('leaked:'));
    assert.equal(leaks.length, 1, `the same leaked rejection logged ${leaks.length} times:\n${stdout}`);
  });
});
