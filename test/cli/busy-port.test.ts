/**
 * A daemon that cannot serve its API must not act (issue 19 item 2). Real `drover` processes
 * against a port the test holds: `run` exits 1 naming the address and how to change it before any
 * pass (the EC2 simulator it points at saw no call and has no instance); `demo` and `sim` say the
 * same with their own flag and leave nothing running.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { minimalFleet, writeFleet } from '../helpers/fleet-files.ts';
import { drover } from './drover-process.ts';

async function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as { port: number }).port };
}

describe('drover on a busy port', function () {
  this.timeout(120_000);
  let held: { server: Server; port: number };
  let tmp: string;

  beforeEach(async () => {
    held = await holdPort();
    tmp = mkdtempSync(path.join(tmpdir(), 'drover-busy-'));
  });
  afterEach(async () => {
    await new Promise((resolve) => held.server.close(resolve));
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('drover run', () => {
    let sim: Ec2Simulator;
    before(async () => {
      sim = await startEc2Simulator({
        region: 'eu-west-1',
        factor: 50,
        images: [{ id: 'ami-0a1b2c3d4e5f60718', tags: { 'drover:digest': `sha256:${'a'.repeat(64)}` } }],
      });
    });
    after(async () => sim.close());

    it('exits 1 naming the address and --listen, before any pass: the cloud saw no call', async () => {
      const fleet = await writeFleet(minimalFleet());
      try {
        const { code, stderr, stdout } = await drover(['run', '--dir', fleet.dir, '--listen', `127.0.0.1:${held.port}`], {
          DROVER_STATE_DIR: path.join(tmp, 'state'),
          DROVER_PROVIDERS__AWS_EU__TYPE: 'aws',
          DROVER_ENDPOINT_AWS_EU: sim.url,
          AWS_ACCESS_KEY_ID: 'AKIDBUSY',
          AWS_SECRET_ACCESS_KEY: 'busy-secret',
        });
        assert.equal(code, 1, stderr);
        assert.match(stderr, new RegExp(`^drover run: cannot listen on 127\\.0\\.0\\.1:${held.port}: the address is already in use`));
        assert.match(stderr, /--listen HOST:PORT/);
        assert.ok(!stderr.includes('internal error'), stderr);
        assert.ok(!stdout.includes('pass finished'), stdout);
        assert.deepEqual(sim.engine.calls.counts(), {});
        assert.equal(sim.world.list().length, 0);
      } finally {
        await fleet.cleanup();
      }
    });
  });

  it('drover demo: exits 1 naming the address and --port; no simulator or daemon is left running', async () => {
    const { code, stderr, stdout } = await drover([
      'demo',
      'fixtures/demo',
      '--workspace',
      path.join(tmp, 'ws'),
      '--port',
      String(held.port),
      '--sim-port',
      '0',
    ]);
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`^drover demo: cannot listen on 127\\.0\\.0\\.1:${held.port}: the address is already in use`));
    assert.match(stderr, /--port N/);
    assert.ok(!stdout.includes('drover demo is up'), stdout);
  });

  it('drover sim: exits 1 naming the address and --port', async () => {
    const { code, stderr } = await drover(['sim', 'fixtures/demo', '--port', String(held.port)]);
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`^drover sim: cannot listen on 127\\.0\\.0\\.1:${held.port}: the address is already in use`));
    assert.match(stderr, /--port N/);
    assert.ok(!stderr.includes('internal error'), stderr);
  });
});
