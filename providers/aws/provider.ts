/**
 * The AWS EC2 provider: one Provider per Provider document (one region). See src/contract/provider.ts
 * for the contract and tokens.ts for how ClientTokens keep create idempotent across instance deaths.
 * The list path is listing.ts, the create path create.ts, destroys destroy-batch.ts; calls.ts wraps EC2 calls.
 */
import { DescribeImagesCommand, DescribeInstancesCommand, DescribeSubnetsCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { ProviderError, type ProviderErrorKind } from '../../src/contract/errors.ts';
import type {
  CallOptions,
  CreateRequest,
  ImageRef,
  ListScope,
  ObservedInstance,
  PlacementProblem,
  PlacementRef,
  Provider,
} from '../../src/contract/provider.ts';
import { describeEach, subnetProblems } from './subnets.ts';
import { Ec2Calls } from './calls.ts';
import { classifyAws } from './classify.ts';
import { Launcher, MAX_BATCH, sameLaunch } from './create.ts';
import { DestroyBatcher, type DestroyBatchOptions } from './destroy-batch.ts';
import { STAND_IN_PREFIX, type LaunchLedger } from './launch-ledger.ts';
import { listInstances, MAX_FILTER_VALUES, type ListContext } from './listing.ts';
import type { ProviderLogger, RetryTuning } from './retry.ts';
import { TAG, tagsOf } from './tags.ts';
import { expectedFacts } from './facts.ts';
import type { LaunchFacts } from '../../src/contract/launch-facts.ts';
import type { LaunchTemplate } from '../../src/contract/fleet.ts';
import { GenerationBook } from './tokens.ts';

export { MAX_BATCH } from './create.ts';

/** Tuning for tests and operators; production needs none of it. */
export interface AwsProviderOptions {
  readonly retry?: Partial<RetryTuning>;
  readonly logger?: ProviderLogger;
  /** Jitter source (tests). */
  readonly random?: () => number;
  /** DescribeInstances page size (5–1000; default 1000). */
  readonly pageSize?: number;
  /**
   * EC2's list lag: how long a launched instance may stay invisible to DescribeInstances. A ClientToken
   * EC2 says is in use (IdempotentParameterMismatch) but shows nothing for that long is taken as dead
   * (tokens.ts); a journaled launch unlisted that long is checked by its token; a lost journal fences
   * launches that long (launch-ledger.ts). Default: the context's `listLagMs` (config
   * `providers.<name>.listLagSeconds`), else 5 minutes.
   */
  readonly listLagMs?: number;
  /** How destroys are coalesced into one DescribeInstances + one TerminateInstances (see destroy-batch.ts). */
  readonly destroyBatch?: DestroyBatchOptions;
}

/** Default of {@link AwsProviderOptions.listLagMs}: far beyond EC2's visibility lag for new instances. */
export const DEFAULT_LIST_LAG_MS = 5 * 60_000;

/** What the provider needs, resolved. */
export interface AwsProviderInit {
  readonly name: string;
  readonly fleet: string;
  readonly client: EC2Client;
  readonly policy: RetryTuning;
  readonly options: AwsProviderOptions;
  /** Batches in flight (launch-ledger.ts); opened by the factory. */
  readonly ledger: LaunchLedger;
  /** The lane holder's fencing token (HA; the client fences the calls): tagged on every launch. */
  readonly fence?: string | undefined;
  /** The key space of that token (HA): tagged next to it. */
  readonly keySpace?: string | undefined;
}

/** The EC2 implementation of the provider contract. */
export class AwsProvider implements Provider {
  readonly name: string;
  readonly type = 'aws' as const;
  readonly groupFilterLimit = MAX_FILTER_VALUES;
  readonly maxBatchSize = MAX_BATCH;
  readonly #fleet: string;
  readonly #client: EC2Client;
  readonly #calls: Ec2Calls;
  readonly #ledger: LaunchLedger;
  /** The list path's view of the provider (listing.ts). */
  readonly #listContext: ListContext;
  readonly #launcher: Launcher;
  readonly #destroys: DestroyBatcher;

  constructor(init: AwsProviderInit) {
    this.name = init.name;
    this.#fleet = init.fleet;
    this.#client = init.client;
    this.#ledger = init.ledger;
    const { logger, random } = init.options;
    this.#calls = new Ec2Calls({ provider: this.name, client: init.client, policy: init.policy, logger, random });
    const generations = new GenerationBook();
    this.#listContext = {
      provider: this.name,
      fleet: this.#fleet,
      calls: this.#calls,
      ledger: this.#ledger,
      generations,
      pageSize: init.options.pageSize ?? 1000,
    };
    this.#launcher = new Launcher({
      provider: this.name,
      fleet: this.#fleet,
      calls: this.#calls,
      ledger: this.#ledger,
      generations,
      logger,
      listLagMs: () => init.options.listLagMs ?? DEFAULT_LIST_LAG_MS,
      fence: init.fence,
      keySpace: init.keySpace,
    });
    this.#destroys = new DestroyBatcher(
      {
        provider: this.name,
        fleet: this.#fleet,
        describe: async (ids, signal) => {
          const out = await this.#call('destroy', { signal }, (s) =>
            this.#client.send(new DescribeInstancesCommand({ InstanceIds: [...ids] }), { abortSignal: s }),
          );
          return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
        },
        terminate: async (ids, signal) => {
          await this.#call('destroy', { signal }, (s) =>
            this.#client.send(new TerminateInstancesCommand({ InstanceIds: [...ids] }), { abortSignal: s }),
          );
        },
      },
      init.options.destroyBatch,
    );
  }

  /**
   * One paginated DescribeInstances filtered by the fleet tag (and the group tag for a scope with
   * up to 200 groups) and every state but `terminated` (listing.ts), plus stand-ins for launches EC2
   * does not list yet.
   * EC2 keeps reporting terminated instances for about an hour; listing them would page the whole
   * previous generation of a fleet on every pass for that hour (19 pages instead of 10 after a
   * 10,000-instance rollout) while the planner ignores them. Shutting-down ones are listed (as
   * terminated) and teach the token scheme which generations are dead; a slot whose instance is
   * already terminated costs one more RunInstances when it is refilled (tokens.ts).
   */
  list(scope: ListScope, options: CallOptions = {}): Promise<ObservedInstance[]> {
    return listInstances(this.#listContext, scope, options);
  }

  /** Launches the slot's instance, or returns the live one its token already launched (see tokens.ts). */
  create(request: CreateRequest, options: CallOptions = {}): Promise<ObservedInstance> {
    return this.#launcher.create(request, options);
  }

  /**
   * Launches the slots of one group, template, revision and zone with ONE RunInstances
   * (MinCount = MaxCount = n): instance i, by AmiLaunchIndex, is requests[i]'s slot. The ClientToken
   * is derived from the whole set of slots (plus a generation, as in tokens.ts), so a repeat of the
   * same batch returns its instances; the launch ledger (launch-ledger.ts) holds the batch from before
   * it is sent until EC2 lists it, so no later pass launches those slots in another combination.
   * Instances the token launched that are already dead are reported as errors (the next pass
   * launches their slots again); requests that do not share group, template, revision and zone are
   * launched one by one.
   */
  async createBatch(requests: readonly CreateRequest[], options: CallOptions = {}): Promise<PromiseSettledResult<ObservedInstance>[]> {
    if (requests.length <= 1 || requests.length > MAX_BATCH || !sameLaunch(requests))
      return Promise.allSettled(requests.map((r) => this.create(r, options)));
    return this.#launcher.createBatch(requests, options);
  }

  /**
   * Terminates an instance of this fleet. Reads it first and refuses one whose EC2 tags do not carry
   * this fleet's id; gone (not found, shutting-down, terminated) is success. Destroys arriving
   * together share one DescribeInstances and one TerminateInstances (destroy-batch.ts); each caller
   * gets its own instance's outcome.
   */
  destroy(instance: ObservedInstance, options: CallOptions = {}): Promise<void> {
    if (instance.id.startsWith(STAND_IN_PREFIX))
      return Promise.reject(
        this.#error('destroy', 'Conflict', 'LaunchNotListed', `${instance.name} was launched but EC2 does not list it yet`),
      );
    if (instance.fleet !== this.#fleet)
      return Promise.reject(this.#error('destroy', 'Invalid', 'NotOwned', `instance ${instance.id} is not in fleet ${this.#fleet}`));
    return this.#destroys.destroy(instance.id, options.signal);
  }

  /** DescribeImages on the artifact id; its `drover:digest` tag must equal the image digest. */
  async verifyImage(image: ImageRef, options: CallOptions = {}): Promise<void> {
    const id = image.artifact.id;
    if (id === undefined)
      throw this.#error('verifyImage', 'Invalid', 'ImageNotFound', `image ${image.name} has no AMI id for ${this.name}`);
    let found;
    try {
      found = await this.#call('verifyImage', options, (signal) =>
        this.#client.send(new DescribeImagesCommand({ ImageIds: [id] }), { abortSignal: signal }),
      );
    } catch (error) {
      if (error instanceof ProviderError && error.reason.startsWith('InvalidAMIID.')) {
        throw this.#error('verifyImage', 'Invalid', 'ImageNotFound', `AMI ${id} of image ${image.name} does not exist`, error);
      }
      throw error;
    }
    const ami = found.Images?.find((i) => i.ImageId === id);
    if (ami === undefined) throw this.#error('verifyImage', 'Invalid', 'ImageNotFound', `AMI ${id} of image ${image.name} does not exist`);
    if (ami.State === 'pending') throw this.#error('verifyImage', 'Transient', 'ImageNotAvailable', `AMI ${id} is still pending`);
    if (ami.State !== 'available')
      throw this.#error('verifyImage', 'Invalid', 'ImageNotAvailable', `AMI ${id} is ${ami.State ?? 'in an unknown state'}`);
    const digest = tagsOf(ami)[TAG.digest];
    if (digest !== image.digest) {
      const seen = digest === undefined ? `no ${TAG.digest} tag` : `${TAG.digest}=${digest}`;
      throw this.#error(
        'verifyImage',
        'Invalid',
        'ImageDigestMismatch',
        `AMI ${id} has ${seen}, image ${image.name} wants ${image.digest}`,
      );
    }
  }

  /** The launch fence's end while it holds (launch-ledger.ts): every launch is refused with LaunchFenced until then. */
  launchesBlockedUntil(): number | undefined {
    return this.#ledger.fenceEnd();
  }

  /** Each subnet's zone from one DescribeSubnets (subnets.ts): subnets unknown or in another zone than the group puts them. */
  checkPlacement(groups: readonly PlacementRef[], options: CallOptions = {}): Promise<PlacementProblem[]> {
    return subnetProblems(groups, (ids) =>
      describeEach(ids, async (batch) => {
        const out = await this.#call('checkPlacement', options, (signal) =>
          this.#client.send(new DescribeSubnetsCommand({ SubnetIds: [...batch] }), { abortSignal: signal }),
        );
        return new Map((out.Subnets ?? []).map((s) => [s.SubnetId ?? '', s.AvailabilityZone ?? '']));
      }),
    );
  }

  /** Maps an SDK, network or ProviderError to its kind. */
  /** The launch facts an instance of `template` reports in DescribeInstances (facts.ts). */
  expectedFacts(template: LaunchTemplate, instance: ObservedInstance): LaunchFacts {
    return expectedFacts(template, instance.zone);
  }

  classify(error: unknown): ProviderErrorKind {
    return classifyAws(error).kind;
  }

  /** Closes the client's sockets. */
  close(): Promise<void> {
    this.#client.destroy();
    return Promise.resolve();
  }

  #call<T>(operation: string, options: CallOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.#calls.call(operation, options, fn);
  }

  #error(operation: string, kind: ProviderErrorKind, reason: string, message: string, cause?: unknown): ProviderError {
    return this.#calls.error(operation, kind, reason, message, cause);
  }
}
