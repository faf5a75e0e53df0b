/**
 * A lane holder stopped (SIGSTOP) between its fence check and the socket write, on every cloud: the
 * clock of a real LaneFence (src/ha/lane-fence.ts) jumps two lease TTLs right after a check passes,
 * and the lane was taken meanwhile — the case the HA pause suite once caught on GCE (an insert
 * with the old token arrived after SIGCONT). Whatever the stack awaits after the check (auth,
 * fetch import, connection, body pipeline, a retry), the request must not be written: the
 * transport asks the fence again at the write (providers/fence-gate.ts). Verdict from the
 * simulator's record of mutating calls and of the world.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FenceLost } from '../../src/contract/fence.ts';
import type { ProviderConfig } from '../../src/contract/fleet.ts';
import type { CreateRequest, Provider } from '../../src/contract/provider.ts';
import { LaneFence } from '../../src/ha/lane-fence.ts';
import { aws } from '../clouds/aws.ts';
import { azure } from '../clouds/azure.ts';
import { gcp } from '../clouds/gcp.ts';
import { proxmox } from '../clouds/proxmox.ts';
import type { CloudSim, TestCloud } from '../clouds/types.ts';
import * as awsFixtures from './aws/fixtures.ts';
import * as azureFixtures from './azure/sim-fixtures.ts';
import { rejectionOf } from './fence-fixtures.ts';
import * as gcpFixtures from './gcp/fixtures.ts';
import * as pveFixtures from './proxmox/fixtures.ts';

const TTL_MS = 5000;
const WINDOW_MS = 1000;

/**
 * One replica's hold on a test clock that stands still (its keep-alives and confirmations stay
 * fresh) until `pauseAfterCheck` arms a pause: right after the next check() that passes while
 * `when()` holds, the process "sleeps" two TTLs and another replica takes the lane.
 */
class PausedHolder {
  clock = 100_000;
  ackedAt = this.clock;
  taken = false;
  paused = false;
  readonly fence: LaneFence;
  #armed: (() => boolean) | undefined;

  constructor(token: string) {
    this.fence = new LaneFence({
      lane: 'x',
      token,
      holder: 'replica-paused',
      windowMs: WINDOW_MS,
      giveUpMs: TTL_MS / 2,
      now: () => this.clock,
      keepAliveSentAt: () => this.ackedAt,
      confirmedSentAt: this.clock,
      confirm: () => Promise.resolve(this.taken ? 'taken' : 'ours'),
      onLost: () => undefined,
    });
    const check = this.fence.check.bind(this.fence);
    this.fence.check = async () => {
      await check();
      if (this.#armed?.() !== true) return;
      this.#armed = undefined;
      this.paused = true;
      this.clock += 2 * TTL_MS;
      this.taken = true;
    };
  }

  /** Stalls `ms` (keep-alives unanswered meanwhile, the lane still ours), right now. */
  stall(ms: number): void {
    this.clock += ms;
  }

  /** A keep-alive sent now is answered: the lease lives a TTL from now. */
  answered(): void {
    this.ackedAt = this.clock;
  }

  /** Pauses right after the next passing check made while `when()` is true. */
  pauseAfterCheck(when: () => boolean = () => true): void {
    this.#armed = when;
  }
}

interface Case {
  readonly cloud: TestCloud<CloudSim, object, object>;
  readonly config: ProviderConfig;
  readonly request: (group: string, slot: number) => CreateRequest;
  /** The cloud's provider-test simulator (images, templates, subscription as its fixtures set them up). */
  readonly startSim: () => Promise<CloudSim>;
  readonly fleet: string;
}

const CASES: Case[] = [
  { cloud: aws as unknown as Case['cloud'], config: awsFixtures.CONFIG, ...pick(awsFixtures) },
  { cloud: gcp as unknown as Case['cloud'], config: gcpFixtures.CONFIG, ...pick(gcpFixtures) },
  { cloud: azure as unknown as Case['cloud'], config: azureFixtures.CONFIG, ...pick(azureFixtures) },
  { cloud: proxmox as unknown as Case['cloud'], config: pveFixtures.configOf(), ...pick(pveFixtures) },
];

/** A cloud's provider-test fixtures, as a case needs them. */
function pick(fixtures: {
  request: Case['request'];
  startSim: () => Promise<unknown>;
  FLEET: string;
}): Pick<Case, 'request' | 'startSim' | 'fleet'> {
  return { request: fixtures.request, startSim: () => fixtures.startSim() as Promise<CloudSim>, fleet: fixtures.FLEET };
}

/** Live instances in the world (every state but terminating/terminated). */
function live(sim: CloudSim): number {
  return sim.world.all().filter((i) => i.state !== 'terminating' && i.state !== 'terminated').length;
}

for (const { cloud, config, request, startSim, fleet } of CASES) {
  describe(`${cloud.kind}: a holder paused between its fence check and the write`, function () {
    this.timeout(30_000);
    let sim: CloudSim;
    let stateDir: string;
    const providers: Provider[] = [];

    beforeEach(async () => {
      sim = await startSim();
      stateDir = mkdtempSync(path.join(tmpdir(), 'drover-fence-pause-'));
    });
    afterEach(async () => {
      await Promise.all(providers.splice(0).map((p) => p.close?.()));
      await sim.close();
      rmSync(stateDir, { recursive: true, force: true });
    });

    const open = async (holder: PausedHolder): Promise<Provider> => {
      const provider = await cloud.createProvider(config, sim, { fleet, stateDir, fence: holder.fence });
      providers.push(provider);
      await provider.list({ fleet });
      return provider;
    };

    /** Asserts the create or delete was refused for the lost hold and nothing mutating reached the cloud after `since`. */
    const assertRefused = (error: unknown, holder: PausedHolder, since: number) => {
      assert.ok(holder.paused, 'the pause happened');
      assert.ok(
        error instanceof FenceLost || (error as { cause?: unknown }).cause instanceof FenceLost,
        `refused with FenceLost, got ${String(error)}`,
      );
      assert.equal(holder.fence.lost.aborted, true, 'the hold is lost');
      assert.deepEqual(
        cloud.mutatingCalls(sim, since).map((r) => [r.action, r.fence]),
        [],
        'no mutating call reached the cloud after the pause',
      );
    };

    it('a create whose check passed right before the pause is never written', async () => {
      const holder = new PausedHolder('188');
      const provider = await open(holder);
      holder.pauseAfterCheck();
      const error = await rejectionOf(provider.create(request('web', 0)));
      assertRefused(error, holder, 0);
      assert.equal(live(sim), 0);
    });

    it("a create's retry whose check passed right before the pause is never written", async () => {
      sim.faults.add({ kind: 'throttle', actions: [cloud.actions.create], count: 1 });
      const holder = new PausedHolder('188');
      const provider = await open(holder);
      const throttled = () => cloud.mutatingCalls(sim).some((r) => r.action === cloud.actions.create);
      holder.pauseAfterCheck(throttled);
      const error = await rejectionOf(provider.create(request('web', 0)));
      const since = cloud.mutatingCalls(sim).find((r) => r.action === cloud.actions.create)!.seq;
      assertRefused(error, holder, since);
      assert.equal(live(sim), 0);
    });

    it('a delete whose check passed right before the pause is never written', async () => {
      const holder = new PausedHolder('188');
      const provider = await open(holder);
      const created = await provider.create(request('web', 0));
      const since = cloud.mutatingCalls(sim).at(-1)!.seq;
      holder.pauseAfterCheck();
      const error = await rejectionOf(provider.destroy(created));
      assertRefused(error, holder, since);
      assert.equal(live(sim), 1, 'the instance is still there');
    });

    it('a stall shorter than half the TTL refuses the create unsent and keeps the hold; once answered, it goes out with the same token', async () => {
      const holder = new PausedHolder('188');
      const provider = await open(holder);
      holder.stall((WINDOW_MS + TTL_MS / 2) / 2);
      const error = await rejectionOf(provider.create(request('web', 0)));
      const lost = error instanceof FenceLost ? error : (error as { cause?: unknown }).cause;
      assert.ok(lost instanceof FenceLost && lost.reason === 'KeepAliveStale', `refused with KeepAliveStale, got ${String(error)}`);
      assert.equal(holder.fence.lost.aborted, false, 'the hold is kept');
      assert.deepEqual(cloud.mutatingCalls(sim), [], 'nothing mutating was sent while stale');
      holder.answered();
      await provider.create(request('web', 0));
      assert.ok(cloud.mutatingCalls(sim).length > 0);
      assert.ok(
        cloud.mutatingCalls(sim).every((r) => r.fence === '188'),
        'every call carries the same token',
      );
      assert.equal(live(sim), 1);
    });
  });
}
