/**
 * Each cloud's simulator hands out its own loopback addresses (attack on issue 18, usability 7):
 * the EC2 and GCE simulators both gave 127.0.0.5…, so one probe server answered for an instance
 * of each cloud. Judged from the simulators' worlds.
 */
import assert from 'node:assert/strict';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import { startAzureSimulator } from '../../providers/azure/sim.ts';
import { startGceSimulator } from '../../providers/gcp/sim.ts';
import { startProxmoxSimulator } from '../../providers/proxmox/sim.ts';

describe('sim: addresses per cloud', function () {
  this.timeout(30_000);

  it('the first instances of the four simulators have four different loopback addresses', async () => {
    const sims = [await startEc2Simulator(), await startGceSimulator(), await startAzureSimulator(), await startProxmoxSimulator()];
    try {
      const addresses = sims.map(
        (sim) => sim.world.launch({ name: 'a', zone: 'z1', image: 'img', machineType: 'small', tags: {} }).address,
      );
      for (const address of addresses) assert.match(address ?? '', /^127\.\d+\.\d+\.\d+$/);
      assert.equal(new Set(addresses).size, 4, `one address each: ${addresses.join(', ')}`);
    } finally {
      await Promise.all(sims.map((sim) => sim.close()));
    }
  });
});
