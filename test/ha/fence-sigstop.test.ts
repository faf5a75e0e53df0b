/**
 * A lane holder really stopped (SIGSTOP) between its fence check and the socket write, with a real
 * etcd lease and the Compute Engine simulator: the child (paused-sender.ts) stops itself right
 * after the insert's check passes; another replica takes the lane (the lease expires); SIGCONT.
 * The check was passed before the pause, so only a decision at the write can stop the insert.
 * Verdict from the simulator's record of mutating calls: none with the paused holder's token.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Etcd3 } from 'etcd3';
import type { GceSimulator } from '../../providers/gcp/sim.ts';
import { startSim } from '../providers/gcp/fixtures.ts';
import { EtcdServer } from '../helpers/etcd.ts';
import { fleetId, laneKeys, observer, startReplica, waitFor } from './ha-fixture.ts';
import type { Replica } from './ha-fixture.ts';

interface Line {
  readonly event: string;
  readonly token: string;
  readonly reason?: string;
}

describe('LaneFence: a holder stopped between its check and the write (real SIGSTOP, real etcd)', function () {
  this.timeout(180_000);
  let etcd: EtcdServer;
  let world: Etcd3;
  let sim: GceSimulator;
  const replicas: Replica[] = [];

  beforeEach(async () => {
    etcd = await EtcdServer.start();
    world = observer(etcd.endpoint);
    sim = await startSim();
  });
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((replica) => replica.coordinator.stop()));
    world.close();
    await sim.close();
    await etcd.stop();
  });

  it('never writes the insert whose check passed before the pause, once another replica holds the lane', async () => {
    const fleet = fleetId();
    const script = fileURLToPath(new URL('paused-sender.ts', import.meta.url));
    const child = spawn(process.execPath, [script, etcd.endpoint, fleet, sim.url], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: Line[] = [];
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const complete = buffered.split('\n');
      buffered = complete.pop() ?? '';
      for (const line of complete) if (line !== '') lines.push(JSON.parse(line) as Line);
    });
    try {
      await waitFor('the child stopped itself right after its check passed', () => lines.some((l) => l.event === 'stopping'), 90_000);
      const paused = lines.find((l) => l.event === 'stopping')!.token;
      const b = await startReplica(etcd.endpoint, fleet, 'b', ['x']);
      replicas.push(b);
      await waitFor('b holds x under a newer token', () => b.coordinator.holds().has('x'), 40_000);
      const key = (await laneKeys(world, fleet)).get('x');
      assert.ok(key?.replica === 'b' && BigInt(key.token) > BigInt(paused), 'etcd shows b as the holder');
      child.kill('SIGCONT');
      await waitFor('the child finished its create', () => lines.some((l) => l.event === 'created' || l.event === 'refused'), 20_000);
      const outcome = lines.find((l) => l.event === 'created' || l.event === 'refused')!;
      assert.deepEqual(
        sim.engine.mutations.mutating().map((r) => [r.action, r.fence]),
        [],
        'no mutating call reached the cloud with the paused holder token',
      );
      assert.equal(outcome.event, 'refused');
      assert.ok(
        ['KeepAliveStale', 'LaneTaken'].includes(outcome.reason ?? ''),
        `refused by the fence for the lost hold, got ${outcome.reason}`,
      );
    } finally {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  });
});
