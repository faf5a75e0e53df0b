/**
 * The AWS EC2 provider: one Provider per Provider document (one region). See src/contract/provider.ts
 * for the contract and tokens.ts for how ClientTokens keep create idempotent across instance deaths.
 */
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type Filter,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
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
import { classifyAws } from './classify.ts';
import { DestroyBatcher, type DestroyBatchOptions } from './destroy-batch.ts';
import { batchRunInstancesInput } from './launch.ts';
import { LaunchLedger, STAND_IN_PREFIX, type LaunchRecord } from './launch-ledger.ts';
import { callWithRetry, type CallContext, type ProviderLogger, type RetryTuning } from './retry.ts';
import { isDead, TAG, tagsOf, toObserved } from './tags.ts';
import { clientToken, GenerationBook, MAX_GENERATION_STEPS, tokenKey } from './tokens.ts';

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

/** EC2 states list() asks for: all but `terminated` (see {@link AwsProvider.list}). */
const LISTED_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'] as const;

/** EC2 accepts at most this many values in one filter. */
const MAX_FILTER_VALUES = 200;

/** The fleet, live states, and the scope's groups when they fit in one filter (else the whole fleet). */
function listFilters(scope: ListScope): Filter[] {
  const filters: Filter[] = [
    { Name: `tag:${TAG.fleet}`, Values: [scope.fleet] },
    { Name: 'instance-state-name', Values: [...LISTED_STATES] },
  ];
  const groups = scope.groups;
  if (groups !== undefined && groups.length > 0 && groups.length <= MAX_FILTER_VALUES)
    filters.push({ Name: `tag:${TAG.group}`, Values: [...groups] });
  return filters;
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
}

/** Most slots one batched RunInstances launches (their list must fit the 256-character `drover:slot` tag). */
export const MAX_BATCH = 40;

/** Outcome of one generation's RunInstances: what its token launched (all of it, for a batch), or that all of that is dead. */
type Attempt = { readonly kind: 'live'; readonly instances: readonly Instance[] } | { readonly kind: 'dead' };

/** The EC2 implementation of the provider contract. */
export class AwsProvider implements Provider {
  readonly name: string;
  readonly type = 'aws' as const;
  readonly groupFilterLimit = MAX_FILTER_VALUES;
  readonly maxBatchSize = MAX_BATCH;
  readonly #fleet: string;
  readonly #client: EC2Client;
  readonly #policy: RetryTuning;
  readonly #options: AwsProviderOptions;
  readonly #generations = new GenerationBook();
  /** When each in-use token was first found invisible (mismatch and nothing under its client-token filter). */
  readonly #invisibleSince = new Map<string, number>();
  readonly #destroys: DestroyBatcher;
  readonly #ledger: LaunchLedger;

  constructor(init: AwsProviderInit) {
    this.name = init.name;
    this.#fleet = init.fleet;
    this.#client = init.client;
    this.#policy = init.policy;
    this.#options = init.options;
    this.#ledger = init.ledger;
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
   * up to 200 groups) and every state but `terminated`.
   * EC2 keeps reporting terminated instances for about an hour; listing them would page the whole
   * previous generation of a fleet on every pass for that hour (19 pages instead of 10 after a
   * 10,000-instance rollout) while the planner ignores them. Shutting-down ones are listed (as
   * terminated) and teach the token scheme which generations are dead; a slot whose instance is
   * already terminated costs one more RunInstances when it is refilled (tokens.ts).
   */
  async list(scope: ListScope, options: CallOptions = {}): Promise<ObservedInstance[]> {
    const out: ObservedInstance[] = [];
    const seen = new Map<string, Set<number>>();
    let nextToken: string | undefined;
    do {
      const input = { Filters: listFilters(scope), MaxResults: this.#options.pageSize ?? 1000, NextToken: nextToken };
      const page = await this.#call('list', options, (signal) =>
        this.#client.send(new DescribeInstancesCommand(input), { abortSignal: signal }),
      );
      for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        this.#generations.observe(instance.ClientToken, isDead(instance));
        if (this.#ledger.tracks(instance.ClientToken)) noteSeen(seen, instance);
        const observed = toObserved(instance, this.name, scope.fleet);
        if (observed !== undefined) out.push(observed);
      }
      const previous = nextToken;
      nextToken = page.NextToken === '' ? undefined : page.NextToken;
      if (nextToken !== undefined && nextToken === previous)
        throw this.#error('list', 'Transient', 'PaginationLoop', 'DescribeInstances returned the same NextToken twice');
    } while (nextToken !== undefined);
    const groups = scope.groups === undefined || scope.groups.length === 0 ? undefined : new Set(scope.groups);
    if (groups === undefined) this.#ledger.inventoried(out.length);
    return [...out, ...(await this.#launchesNotListed(seen, groups, options))];
  }

  /** Stand-ins for launches EC2 does not list yet; one unlisted past the list lag is looked up by its ClientToken. */
  async #launchesNotListed(
    seen: Map<string, Set<number>>,
    groups: ReadonlySet<string> | undefined,
    options: CallOptions,
  ): Promise<ObservedInstance[]> {
    const first = this.#ledger.reconcile(seen, groups);
    if (first.stale.length === 0) return first.standIns;
    for (const record of first.stale) {
      const instances = await this.#instancesOfToken(record.token, { signal: options.signal }, 'list');
      if (instances.length === 0) this.#ledger.forget(record.token);
      // Dead ones settle their slots, and so do ones whose fleet tag was removed out of band (no
      // longer drover's: their slots are refilled); live ones stay stand-ins (now with ids) until listed.
      for (const instance of instances) if (isDead(instance) || tagsOf(instance)[TAG.fleet] !== this.#fleet) noteSeen(seen, instance);
      if (instances.length > 0) this.#ledger.answered(record.token, idsByLaunchIndex(instances, record.slots.length));
    }
    return this.#ledger.reconcile(seen, groups).standIns;
  }

  /** Launches the slot's instance, or returns the live one its token already launched (see tokens.ts). */
  async create(request: CreateRequest, options: CallOptions = {}): Promise<ObservedInstance> {
    this.#refuseWhileFenced();
    const instances = await this.#launchBatch([request], options);
    const instance = instances.find((i) => !isDead(i)) ?? instances[0];
    const observed = instance && toObserved(instance, this.name, this.#fleet);
    if (observed === undefined)
      throw this.#error('create', 'Conflict', 'OwnershipTagsMissing', `instance ${instance?.InstanceId ?? '(none)'} lacks the fleet tag`);
    return observed;
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

  /**
   * Walks the generations of a slot (one request: the slot's own key, tokens.ts) or of a batch (the
   * key of its set of slots) until one has live instances. The ledger holds the launch throughout,
   * a single slot's too: a slot launched alone that EC2 does not list yet must not be launched again
   * in a batch with other slots (another token).
   */
  async #launchBatch(requests: readonly CreateRequest[], options: CallOptions): Promise<readonly Instance[]> {
    const setKey =
      requests.length === 1 ? (requests[0] as CreateRequest).idempotencyKey : tokenKey(requests.map((r) => r.idempotencyKey).join(','));
    let generation = this.#generations.start(setKey);
    let previous: string | undefined;
    for (let step = 0; step < MAX_GENERATION_STEPS; step++, generation++) {
      const token = clientToken(setKey, generation);
      await this.#ledger.sending(launchRecord(requests, token), previous);
      previous = token;
      let attempt: Attempt;
      try {
        attempt = await this.#runInstances(batchRunInstancesInput(requests, token, this.name), options);
      } catch (error) {
        // Refused before launching anything: nothing to hold. Any other failure may have launched it.
        if (error instanceof ProviderError && error.kind === 'Invalid') this.#ledger.forget(token);
        throw error;
      }
      if (attempt.kind === 'live') {
        this.#generations.note(setKey, generation);
        this.#ledger.answered(token, idsByLaunchIndex(attempt.instances, requests.length));
        return attempt.instances;
      }
      this.#generations.note(setKey, generation + 1);
      this.#options.logger?.debug(
        { provider: this.name, group: requests[0]?.owner.group, slots: requests.map((r) => r.owner.slot), generation },
        'launch token spent, next generation',
      );
    }
    if (previous !== undefined) this.#ledger.forget(previous);
    const slots = requests.map((r) => r.owner.slot).join(',');
    throw this.#error(
      'create',
      'Conflict',
      'TooManyGenerations',
      `slot${requests.length > 1 ? 's' : ''} ${slots} of ${requests[0]?.owner.group}: ${MAX_GENERATION_STEPS} dead generations in a row`,
    );
  }

  /** One request's outcome from its instance in the batch. */
  #outcome(request: CreateRequest, instance: Instance | undefined): PromiseSettledResult<ObservedInstance> {
    const slot = `slot ${request.owner.slot} of ${request.owner.group}`;
    if (instance === undefined)
      return {
        status: 'rejected',
        reason: this.#error('create', 'Transient', 'InstanceMissing', `RunInstances answered without an instance for ${slot}`),
      };
    if (isDead(instance))
      return {
        status: 'rejected',
        reason: this.#error(
          'create',
          'Transient',
          'LaunchedDead',
          `the instance launched for ${slot} (${instance.InstanceId}) is already ${instance.State?.Name}; the next pass launches the slot again`,
        ),
      };
    const observed = toObserved(instance, this.name, this.#fleet);
    if (observed === undefined)
      return {
        status: 'rejected',
        reason: this.#error('create', 'Conflict', 'OwnershipTagsMissing', `instance ${instance.InstanceId} lacks the fleet tag`),
      };
    return { status: 'fulfilled', value: observed };
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
  classify(error: unknown): ProviderErrorKind {
    return classifyAws(error).kind;
  }

  /** Closes the client's sockets. */
  close(): Promise<void> {
    this.#client.destroy();
    return Promise.resolve();
  }

  /** One RunInstances; a token whose instances are all dead is 'dead', a parameter mismatch is resolved by the token's instances. */
  async #runInstances(input: RunInstancesCommandInput, options: CallOptions): Promise<Attempt> {
    const token = input.ClientToken as string;
    try {
      const out = await this.#call('create', options, (signal) =>
        this.#client.send(new RunInstancesCommand(input), { abortSignal: signal }),
      );
      const instances = out.Instances ?? [];
      if (instances.length === 0) throw this.#error('create', 'Transient', 'EmptyResponse', 'RunInstances returned no instance');
      return instances.every(isDead) ? { kind: 'dead' } : { kind: 'live', instances };
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      if (error.reason === 'IdempotentInstanceTerminated') return { kind: 'dead' };
      if (error.reason === 'IdempotentParameterMismatch') return this.#resolveMismatch(token, options, error);
      throw error;
    }
  }

  /** Same token, other parameters: the token's instance decides (live → it; dead → next generation). */
  async #resolveMismatch(token: string, options: CallOptions, cause: ProviderError): Promise<Attempt> {
    // A read, not a launch: it does not spend (or wait on) the launch budget the caller paced.
    const instances = await this.#instancesOfToken(token, { signal: options.signal }, 'create');
    if (instances.length > 0) this.#invisibleSince.delete(token);
    if (instances.some((i) => !isDead(i))) return { kind: 'live', instances };
    if (instances.length > 0) return { kind: 'dead' };
    // Invisible: launched so recently that EC2 does not show it yet, or dead so long ago that EC2 no
    // longer reports it (terminated instances vanish after about an hour; the token is remembered far
    // longer). Only the first is possible for long: past the grace, the generation is spent.
    const now = Date.now();
    const since = this.#invisibleSince.get(token) ?? now;
    this.#invisibleSince.set(token, since);
    if (now - since >= this.#listLagMs()) {
      this.#invisibleSince.delete(token);
      return { kind: 'dead' };
    }
    throw this.#error(
      'create',
      'Conflict',
      'IdempotentParameterMismatch',
      'the ClientToken is in use but its instance is not visible yet',
      cause,
    );
  }

  /** Every instance EC2 shows for a ClientToken, in any state (terminated ones too, for about an hour). */
  async #instancesOfToken(token: string, options: CallOptions, operation: string): Promise<Instance[]> {
    const input = { Filters: [{ Name: 'client-token', Values: [token] }] };
    const out = await this.#call(operation, options, (signal) =>
      this.#client.send(new DescribeInstancesCommand(input), { abortSignal: signal }),
    );
    return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
  }

  #listLagMs(): number {
    return this.#options.listLagMs ?? DEFAULT_LIST_LAG_MS;
  }

  /** Refuses a launch while the fence holds: LaunchFenced, whose retryAfterMs is the time to the fence's end. */
  #refuseWhileFenced(): void {
    const fence = this.#ledger.fenced();
    const end = this.#ledger.fenceEnd();
    if (fence === undefined || end === undefined) return;
    const retryAfterMs = Math.max(0, end - Date.now());
    throw new ProviderError({
      kind: 'Conflict',
      reason: 'LaunchFenced',
      provider: this.name,
      operation: 'create',
      message: `${fence} (until ${new Date(end).toISOString()})`,
      retryAfterMs,
    });
  }

  #call<T>(operation: string, options: CallOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ctx: CallContext = {
      provider: this.name,
      policy: this.#policy,
      signal: options.signal,
      pacer: options.pacer,
      logger: this.#options.logger,
      random: this.#options.random,
    };
    return callWithRetry(operation, ctx, fn);
  }

  #error(operation: string, kind: ProviderErrorKind, reason: string, message: string, cause?: unknown): ProviderError {
    return new ProviderError({ kind, reason, provider: this.name, operation, message, cause });
  }
}

/** Whether requests share everything one RunInstances sets for all its instances. */
function sameLaunch(requests: readonly CreateRequest[]): boolean {
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
function launchRecord(requests: readonly CreateRequest[], token: string): LaunchRecord {
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
  };
}

/** Instance ids by AmiLaunchIndex ('' where none). */
function idsByLaunchIndex(instances: readonly Instance[], count: number): string[] {
  const ids = Array.from({ length: count }, () => '');
  for (const i of instances) if (i.AmiLaunchIndex !== undefined && i.AmiLaunchIndex < count) ids[i.AmiLaunchIndex] = i.InstanceId ?? '';
  return ids;
}

/** Notes that a list (or a token lookup) showed this launch index of its token. */
function noteSeen(seen: Map<string, Set<number>>, instance: Instance): void {
  const token = instance.ClientToken;
  if (token === undefined || instance.AmiLaunchIndex === undefined) return;
  const indexes = seen.get(token) ?? new Set<number>();
  indexes.add(instance.AmiLaunchIndex);
  seen.set(token, indexes);
}
