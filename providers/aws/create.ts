/**
 * The AWS create path: RunInstances under a ClientToken per generation of a slot or batch
 * (tokens.ts), held in the launch ledger from before it is sent until EC2 lists it
 * (launch-ledger.ts), refused while the ledger's fence holds.
 */
import { RunInstancesCommand, type Instance, type RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { ProviderError } from '../../src/contract/errors.ts';
import type { CallOptions, CreateRequest, ObservedInstance } from '../../src/contract/provider.ts';
import type { Ec2Calls } from './calls.ts';
import { batchRunInstancesInput, sharesUserData } from './launch.ts';
import type { LaunchLedger, LaunchRecord } from './launch-ledger.ts';
import { idsByLaunchIndex } from './listing.ts';
import type { ProviderLogger } from './retry.ts';
import { isDead, toObserved } from './tags.ts';
import { clientToken, type GenerationBook, MAX_GENERATION_STEPS, tokenKey } from './tokens.ts';

/** Most slots one batched RunInstances launches (their list must fit the 256-character `drover:slot` tag). */
export const MAX_BATCH = 40;

/** Outcome of one generation's RunInstances: what its token launched (all of it, for a batch), or that all of that is dead. */
type Attempt = { readonly kind: 'live'; readonly instances: readonly Instance[] } | { readonly kind: 'dead' };

/** What launches read and update of the provider's state. */
export interface LauncherInit {
  readonly provider: string;
  readonly fleet: string;
  readonly calls: Ec2Calls;
  readonly ledger: LaunchLedger;
  readonly generations: GenerationBook;
  readonly logger?: ProviderLogger | undefined;
  /** EC2's list lag (AwsProviderOptions.listLagMs, resolved). */
  readonly listLagMs: () => number;
  /** The lane holder's fencing token (HA): tagged on every launch and kept in its ledger record. */
  readonly fence?: string | undefined;
  /** The key space of that token (HA): tagged next to it. */
  readonly keySpace?: string | undefined;
}

/** Launches slots, alone or in batches, never one slot twice (tokens.ts, launch-ledger.ts). */
export class Launcher {
  readonly #init: LauncherInit;
  /** When each in-use token was first found invisible (mismatch and nothing under its client-token filter). */
  readonly #invisibleSince = new Map<string, number>();

  constructor(init: LauncherInit) {
    this.#init = init;
  }

  /** Launches the slot's instance, or returns the live one its token already launched (see tokens.ts). */
  async create(request: CreateRequest, options: CallOptions): Promise<ObservedInstance> {
    this.#refuseWhileFenced();
    const instances = await this.#launchBatch([request], options);
    const instance = instances.find((i) => !isDead(i)) ?? instances[0];
    const observed = instance && toObserved(instance, this.#init.provider, this.#init.fleet);
    if (observed === undefined)
      throw this.#init.calls.error(
        'create',
        'Conflict',
        'OwnershipTagsMissing',
        `instance ${instance?.InstanceId ?? '(none)'} lacks the fleet tag`,
      );
    return observed;
  }

  /** Launches requests of one group, template, revision and zone (see {@link sameLaunch}) with ONE RunInstances. */
  async createBatch(requests: readonly CreateRequest[], options: CallOptions): Promise<PromiseSettledResult<ObservedInstance>[]> {
    if (requests.length > 1 && !this.#sharesUserData(requests)) return this.#createEach(requests, options);
    try {
      this.#refuseWhileFenced();
      const instances = await this.#launchBatch(requests, options);
      return requests.map((request, i) =>
        this.#outcome(
          request,
          instances.find((inst) => inst.AmiLaunchIndex === i),
        ),
      );
    } catch (error) {
      return requests.map(() => ({ status: 'rejected', reason: error }));
    }
  }

  /** False when the requests' filled userData differ (or cannot be filled: each create then says why). */
  #sharesUserData(requests: readonly CreateRequest[]): boolean {
    try {
      return sharesUserData(requests, this.#init.provider);
    } catch {
      return false;
    }
  }

  /** Each request launched alone, one after another (per-instance userData cannot share a RunInstances). */
  async #createEach(requests: readonly CreateRequest[], options: CallOptions): Promise<PromiseSettledResult<ObservedInstance>[]> {
    const out: PromiseSettledResult<ObservedInstance>[] = [];
    for (const request of requests) {
      try {
        out.push({ status: 'fulfilled', value: await this.create(request, options) });
      } catch (error) {
        out.push({ status: 'rejected', reason: error });
      }
    }
    return out;
  }

  /**
   * Walks the generations of a slot (one request: the slot's own key, tokens.ts) or of a batch (the
   * key of its set of slots) until one has live instances. The ledger holds the launch throughout,
   * a single slot's too: a slot launched alone that EC2 does not list yet must not be launched again
   * in a batch with other slots (another token).
   */
  async #launchBatch(requests: readonly CreateRequest[], options: CallOptions): Promise<readonly Instance[]> {
    const { ledger, generations, calls } = this.#init;
    const setKey =
      requests.length === 1 ? (requests[0] as CreateRequest).idempotencyKey : tokenKey(requests.map((r) => r.idempotencyKey).join(','));
    let generation = generations.start(setKey);
    let previous: string | undefined;
    for (let step = 0; step < MAX_GENERATION_STEPS; step++, generation++) {
      const token = clientToken(setKey, generation);
      // A token the ledger does not hold before this send cannot be a launch still in flight.
      const settled = !ledger.tracks(token) && ledger.remembersEveryLaunch();
      await ledger.sending(launchRecord(requests, token, this.#init.fence), previous);
      previous = token;
      let attempt: Attempt;
      try {
        attempt = await this.#runInstances(
          batchRunInstancesInput(requests, token, this.#init.provider, this.#init.fence, this.#init.keySpace),
          options,
          settled,
        );
      } catch (error) {
        // Refused before launching anything: nothing to hold. Any other failure may have launched it.
        if (error instanceof ProviderError && error.kind === 'Invalid') ledger.forget(token);
        throw error;
      }
      if (attempt.kind === 'live') {
        generations.note(setKey, generation);
        ledger.answered(token, idsByLaunchIndex(attempt.instances, requests.length));
        return attempt.instances;
      }
      generations.note(setKey, generation + 1);
      this.#init.logger?.debug(
        { provider: this.#init.provider, group: requests[0]?.owner.group, slots: requests.map((r) => r.owner.slot), generation },
        'launch token spent, next generation',
      );
    }
    if (previous !== undefined) ledger.forget(previous);
    const slots = requests.map((r) => r.owner.slot).join(',');
    throw calls.error(
      'create',
      'Conflict',
      'TooManyGenerations',
      `slot${requests.length > 1 ? 's' : ''} ${slots} of ${requests[0]?.owner.group}: ${MAX_GENERATION_STEPS} dead generations in a row`,
    );
  }

  /** One request's outcome from its instance in the batch. */
  #outcome(request: CreateRequest, instance: Instance | undefined): PromiseSettledResult<ObservedInstance> {
    const { calls } = this.#init;
    const slot = `slot ${request.owner.slot} of ${request.owner.group}`;
    if (instance === undefined)
      return {
        status: 'rejected',
        reason: calls.error('create', 'Transient', 'InstanceMissing', `RunInstances answered without an instance for ${slot}`),
      };
    if (isDead(instance))
      return {
        status: 'rejected',
        reason: calls.error(
          'create',
          'Transient',
          'LaunchedDead',
          `the instance launched for ${slot} (${instance.InstanceId}) is already ${instance.State?.Name}; the next pass launches the slot again`,
        ),
      };
    const observed = toObserved(instance, this.#init.provider, this.#init.fleet);
    if (observed === undefined)
      return {
        status: 'rejected',
        reason: calls.error('create', 'Conflict', 'OwnershipTagsMissing', `instance ${instance.InstanceId} lacks the fleet tag`),
      };
    return { status: 'fulfilled', value: observed };
  }

  /**
   * One RunInstances; a token whose instances are all dead is 'dead', a parameter mismatch is
   * resolved by the token's instances. `settled`: the ledger held no launch under this token
   * before it was sent (see LaunchLedger.remembersEveryLaunch).
   */
  async #runInstances(input: RunInstancesCommandInput, options: CallOptions, settled: boolean): Promise<Attempt> {
    const { calls } = this.#init;
    const token = input.ClientToken as string;
    try {
      const out = await calls.call('create', options, (signal) =>
        calls.client.send(new RunInstancesCommand(input), { abortSignal: signal }),
      );
      const instances = out.Instances ?? [];
      if (instances.length === 0) throw calls.error('create', 'Transient', 'EmptyResponse', 'RunInstances returned no instance');
      return instances.every(isDead) ? { kind: 'dead' } : { kind: 'live', instances };
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      if (error.reason === 'IdempotentInstanceTerminated') return { kind: 'dead' };
      if (error.reason === 'IdempotentParameterMismatch') return this.#resolveMismatch(token, options, error, settled);
      throw error;
    }
  }

  /**
   * Same token, other parameters: the token's instance decides (live → it; dead → next generation).
   * Nothing visible under it: a settled token (the ledger held no launch under it) launched
   * instances that were listed once and have died since, and EC2 forgot them (a Git revert to a
   * template launched an hour ago) — spent now; a token the ledger holds may be a launch EC2 does
   * not show yet — in flight (Conflict) until it has stayed invisible for the list lag.
   */
  async #resolveMismatch(token: string, options: CallOptions, cause: ProviderError, settled: boolean): Promise<Attempt> {
    // A read, not a launch: it does not spend (or wait on) the launch budget the caller paced.
    const instances = await this.#init.calls.instancesOfToken(token, { signal: options.signal }, 'create');
    if (instances.length > 0) this.#invisibleSince.delete(token);
    if (instances.some((i) => !isDead(i))) return { kind: 'live', instances };
    if (instances.length > 0 || settled) return { kind: 'dead' };
    // Invisible: launched so recently that EC2 does not show it yet, or dead so long ago that EC2 no
    // longer reports it (terminated instances vanish after about an hour; the token is remembered far
    // longer). Only the first is possible for long: past the grace, the generation is spent.
    const now = Date.now();
    const since = this.#invisibleSince.get(token) ?? now;
    this.#invisibleSince.set(token, since);
    if (now - since >= this.#init.listLagMs()) {
      this.#invisibleSince.delete(token);
      return { kind: 'dead' };
    }
    throw this.#init.calls.error(
      'create',
      'Conflict',
      'IdempotentParameterMismatch',
      'the ClientToken is in use but its instance is not visible yet',
      cause,
    );
  }

  /** Refuses a launch while the fence holds: LaunchFenced, whose retryAfterMs is the time to the fence's end. */
  #refuseWhileFenced(): void {
    const fence = this.#init.ledger.fenced();
    const end = this.#init.ledger.fenceEnd();
    if (fence === undefined || end === undefined) return;
    const retryAfterMs = Math.max(0, end - Date.now());
    throw new ProviderError({
      kind: 'Conflict',
      reason: 'LaunchFenced',
      provider: this.#init.provider,
      operation: 'create',
      message: `${fence} (until ${new Date(end).toISOString()})`,
      retryAfterMs,
    });
  }
}

/** Whether requests share everything one RunInstances sets for all its instances. */
export function sameLaunch(requests: readonly CreateRequest[]): boolean {
  const first = requests[0];
  if (first === undefined) return false;
  const template = JSON.stringify(first.template);
  return requests.every(
    (r) => launchKey(r) === launchKey(first) && (r.template === first.template || JSON.stringify(r.template) === template),
  );
}

function launchKey(r: CreateRequest): string {
  return JSON.stringify([r.zone, r.owner.fleet, r.owner.group, r.owner.templateHash, r.owner.imageDigest, r.owner.revision]);
}

/** The ledger's record of a batch about to be sent. */
function launchRecord(requests: readonly CreateRequest[], token: string, fence: string | undefined): LaunchRecord {
  const owner = (requests[0] as CreateRequest).owner;
  return {
    token,
    group: owner.group,
    templateHash: owner.templateHash,
    imageDigest: owner.imageDigest,
    revision: owner.revision,
    zone: (requests[0] as CreateRequest).zone,
    slots: requests.map((r) => r.owner.slot),
    sentAt: Date.now(),
    ...(fence === undefined ? {} : { fencingToken: fence }),
  };
}
