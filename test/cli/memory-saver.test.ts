import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { useMemorySaver } from '../../src/cli/run.ts';
import { createLogger } from '../../src/status/logger.ts';

describe('drover run: memorySaver on a Node.js without V8 memory saver mode', () => {
  it('warns that it is ignored instead of setting a flag V8 does not know', async () => {
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (chunk: Buffer) =>
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      ),
    );
    useMemorySaver(createLogger('info', out), '22.23.3');
    await new Promise((resolve) => setImmediate(resolve));
    const logged = lines.map((l) => JSON.parse(l) as { level: number | string; msg: string; node?: string });
    assert.equal(logged.length, 1);
    assert.equal(logged[0]!.msg, 'memorySaver ignored: this Node.js has no V8 memory saver mode (Node 24 has)');
    assert.equal(logged[0]!.node, '22.23.3');
  });
});
