/**
 * AWS subnets are zonal, judged from the EC2 simulator's world: a launch goes into its zone's own
 * subnet, EC2 refuses a subnet outside the requested zone, and checkPlacement (what `drover plan`
 * asks) finds a mismatch or a missing subnet from DescribeSubnets before anything is launched.
 */
import assert from 'node:assert/strict';
import type { Ec2Simulator } from '../../../providers/aws/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { liveIn, providerFor, REGION, rejectionOf, request, startSim, TEMPLATE } from './fixtures.ts';

const A = `${REGION}a`;
const B = `${REGION}b`;
const C = `${REGION}c`;

describe('AWS placement: a subnet per zone (EC2 simulator)', () => {
  let sim: Ec2Simulator;
  let provider: Provider;

  beforeEach(async () => {
    sim = await startSim({ subnets: { 'subnet-0abc': A, 'subnet-0abd': B, 'subnet-0abe': C } });
    provider = await providerFor(sim);
  });
  afterEach(async () => {
    await provider.close();
    await sim.close();
  });

  it("each launch goes into its own zone's subnet", async () => {
    await provider.create(request('web', 0, { zone: A }));
    await provider.create(request('web', 1, { zone: B }));
    const placed = liveIn(sim)
      .map((i) => [i.zone, i.attributes['subnetId']])
      .sort();
    assert.deepEqual(placed, [
      [A, 'subnet-0abc'],
      [B, 'subnet-0abd'],
    ]);
  });

  it('EC2 refuses a subnet in another zone (Invalid, nothing launched); a single subnet for two zones fails in the second', async () => {
    const single = { ...TEMPLATE, placement: { subnet: 'subnet-0abc' } };
    await provider.create({ ...request('one', 0, { zone: A }), template: single });
    const refused = await rejectionOf(provider.create({ ...request('one', 1, { zone: B }), template: single }));
    assert.deepEqual([refused.kind, refused.reason], ['Invalid', 'InvalidParameterValue']);
    // The cloud's own words reach the operator (apply, status, events): which subnet is in which zone.
    assert.match(
      (refused as { message?: string }).message ?? '',
      new RegExp(`: InvalidParameterValue: .*Subnet 'subnet-0abc' is in the availability zone ${A}`),
    );
    assert.deepEqual(
      liveIn(sim).map((i) => i.zone),
      [A],
    );
  });

  it('checkPlacement reads every subnet in one DescribeSubnets and names each mismatch and unknown subnet', async () => {
    const groups = [
      { group: 'web', zones: [A, B], template: TEMPLATE },
      { group: 'api', zones: [A, B], template: { ...TEMPLATE, placement: { subnets: { [A]: 'subnet-0abc', [B]: 'subnet-0abe' } } } },
      { group: 'one', zones: [C], template: { ...TEMPLATE, placement: { subnet: 'subnet-0abf' } } },
    ];
    sim.engine.calls.clear();
    const problems = await provider.checkPlacement!(groups);
    assert.deepEqual(
      problems.map((p) => [p.group, p.reason]),
      [
        ['api', 'SubnetZoneMismatch'],
        ['one', 'SubnetNotFound'],
      ],
    );
    assert.match(problems[0]!.message, new RegExp(`subnet subnet-0abe is in availability zone ${C}, not ${B}`));
    const described = sim.engine.calls.counts()['DescribeSubnets'] ?? 0;
    assert.ok(
      described >= 1 && described <= 5,
      `one call for all, then one per subnet after EC2 refused the batch for the unknown one (${described})`,
    );
    assert.deepEqual(await provider.checkPlacement!(groups.slice(0, 1)), [], 'a right placement has no problem');
    assert.equal(liveIn(sim).length, 0, 'nothing launched');
  });
});
