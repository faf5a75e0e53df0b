/**
 * The AWS EC2 provider: one Provider per Provider document (one region). See providers/types.ts
 * for the contract and tokens.ts for how ClientTokens keep create idempotent across instance deaths.
 */
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type Filter,
  type Instance,
} from '@aws-sdk/client-ec2';
import { ProviderError, type ProviderErrorKind } from '../errors.ts';
import type { CallOptions, CreateRequest, ImageRef, ListScope, ObservedInstance, Provider } from '../types.ts';
import { classifyAws } from './classify.ts';
import { DestroyBatcher, type DestroyBatchOptions } from './destroy-batch.ts';
import { runInstancesInput } from './launch.ts';
import { callWithRetry, type CallContext, type ProviderLogger, type RetryPolicy } from './retry.ts';
import { isDead, TAG, tagsOf, toObserved } from './tags.ts';
import { clientToken, GenerationBook, MAX_GENERATION_STEPS } from './tokens.ts';

/** Tuning for tests and operators; production needs none of it. */
export interface AwsProviderOptions {
  readonly retry?: Partial<RetryPolicy>;
  readonly logger?: ProviderLogger;
  /** Jitter source (tests). */
  readonly random?: () => number;
  /** DescribeInstances page size (5–1000; default 1000). */
  readonly pageSize?: number;
  /**
   * How long a ClientToken that EC2 says is in use (IdempotentParameterMismatch) may stay invisible
   * to DescribeInstances before its instance is taken as dead and forgotten (default 5 minutes; see
   * tokens.ts).
   */
  readonly invisibleTokenGraceMs?: number;
  /** How destroys are coalesced into one DescribeInstances + one TerminateInstances (see destroy-batch.ts). */
  readonly destroyBatch?: DestroyBatchOptions;
}

/** EC2 states list() asks for: all but `terminated` (see {@link AwsProvider.list}). */
const LISTED_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'] as const;

/** EC2 accepts at most this many values in one filter. */
const MAX_FILTER_VALUES = 200;

/** The fleet, live states, and the scope's groups when they fit in one filter (else the whole fleet). */
function listFilters(scope: ListScope): Filter[] {
  const filters: Filter[] = [{ Name: `tag:${TAG.fleet}`, Values: [scope.fleet] }, { Name: 'instance-state-name', Values: [...LISTED_STATES] }];
  const groups = scope.groups;
  if (groups !== undefined && groups.length > 0 && groups.length <= MAX_FILTER_VALUES) filters.push({ Name: `tag:${TAG.group}`, Values: [...groups] });
  return filters;
}

/** Default of {@link AwsProviderOptions.invisibleTokenGraceMs}: far beyond EC2's visibility lag for new instances. */
export const INVISIBLE_TOKEN_GRACE_MS = 5 * 60_000;

/** What the provider needs, resolved. */
export interface AwsProviderInit {
  readonly name: string;
  readonly fleet: string;
  readonly client: EC2Client;
  readonly policy: RetryPolicy;
  readonly options: AwsProviderOptions;
}

/** Outcome of one generation's RunInstances. */
type Attempt = { readonly kind: 'live'; readonly instance: Instance } | { readonly kind: 'dead' };

/** The EC2 implementation of the provider contract. */
export class AwsProvider implements Provider {
  readonly name: string;
  readonly type = 'aws' as const;
  readonly groupFilterLimit = MAX_FILTER_VALUES;
  readonly #fleet: string;
  readonly #client: EC2Client;
  readonly #policy: RetryPolicy;
  readonly #options: AwsProviderOptions;
  readonly #generations = new GenerationBook();
  /** When each in-use token was first found invisible (mismatch and nothing under its client-token filter). */
  readonly #invisibleSince = new Map<string, number>();
  readonly #destroys: DestroyBatcher;

  constructor(init: AwsProviderInit) {
    this.name = init.name;
    this.#fleet = init.fleet;
    this.#client = init.client;
    this.#policy = init.policy;
    this.#options = init.options;
    this.#destroys = new DestroyBatcher(
      {
        provider: this.name,
        fleet: this.#fleet,
        describe: async (ids, signal) => {
          const out = await this.#call('destroy', { signal }, (s) => this.#client.send(new DescribeInstancesCommand({ InstanceIds: [...ids] }), { abortSignal: s }));
          return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
        },
        terminate: async (ids, signal) => {
          await this.#call('destroy', { signal }, (s) => this.#client.send(new TerminateInstancesCommand({ InstanceIds: [...ids] }), { abortSignal: s }));
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
    let nextToken: string | undefined;
    do {
      const input = { Filters: listFilters(scope), MaxResults: this.#options.pageSize ?? 1000, NextToken: nextToken };
      const page = await this.#call('list', options, (signal) => this.#client.send(new DescribeInstancesCommand(input), { abortSignal: signal }));
      for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        this.#generations.observe(instance.ClientToken, isDead(instance));
        const observed = toObserved(instance, this.name, scope.fleet);
        if (observed !== undefined) out.push(observed);
      }
      const previous = nextToken;
      nextToken = page.NextToken === '' ? undefined : page.NextToken;
      if (nextToken !== undefined && nextToken === previous) throw this.#error('list', 'Transient', 'PaginationLoop', 'DescribeInstances returned the same NextToken twice');
    } while (nextToken !== undefined);
    return out;
  }

  /** Launches the slot's instance, or returns the live one its token already launched (see tokens.ts). */
  async create(request: CreateRequest, options: CallOptions = {}): Promise<ObservedInstance> {
    let generation = this.#generations.start(request.idempotencyKey);
    for (let step = 0; step < MAX_GENERATION_STEPS; step++, generation++) {
      const attempt = await this.#launchGeneration(request, generation, options);
      if (attempt.kind === 'dead') {
        this.#generations.note(request.idempotencyKey, generation + 1);
        this.#options.logger?.debug({ provider: this.name, group: request.owner.group, slot: request.owner.slot, generation }, 'slot token spent, next generation');
        continue;
      }
      this.#generations.note(request.idempotencyKey, generation);
      const observed = toObserved(attempt.instance, this.name, this.#fleet);
      if (observed === undefined) throw this.#error('create', 'Conflict', 'OwnershipTagsMissing', `instance ${attempt.instance.InstanceId} lacks the fleet tag`);
      return observed;
    }
    throw this.#error('create', 'Conflict', 'TooManyGenerations', `slot ${request.owner.slot} of ${request.owner.group}: ${MAX_GENERATION_STEPS} dead generations in a row`);
  }

  /**
   * Terminates an instance of this fleet. Reads it first and refuses one whose EC2 tags do not carry
   * this fleet's id; gone (not found, shutting-down, terminated) is success. Destroys arriving
   * together share one DescribeInstances and one TerminateInstances (destroy-batch.ts); each caller
   * gets its own instance's outcome.
   */
  destroy(instance: ObservedInstance, options: CallOptions = {}): Promise<void> {
    if (instance.fleet !== this.#fleet) return Promise.reject(this.#error('destroy', 'Invalid', 'NotOwned', `instance ${instance.id} is not in fleet ${this.#fleet}`));
    return this.#destroys.destroy(instance.id, options.signal);
  }

  /** DescribeImages on the artifact id; its `drover:digest` tag must equal the image digest. */
  async verifyImage(image: ImageRef, options: CallOptions = {}): Promise<void> {
    const id = image.artifact.id;
    if (id === undefined) throw this.#error('verifyImage', 'Invalid', 'ImageNotFound', `image ${image.name} has no AMI id for ${this.name}`);
    let found;
    try {
      found = await this.#call('verifyImage', options, (signal) => this.#client.send(new DescribeImagesCommand({ ImageIds: [id] }), { abortSignal: signal }));
    } catch (error) {
      if (error instanceof ProviderError && error.reason.startsWith('InvalidAMIID.')) {
        throw this.#error('verifyImage', 'Invalid', 'ImageNotFound', `AMI ${id} of image ${image.name} does not exist`, error);
      }
      throw error;
    }
    const ami = found.Images?.find((i) => i.ImageId === id);
    if (ami === undefined) throw this.#error('verifyImage', 'Invalid', 'ImageNotFound', `AMI ${id} of image ${image.name} does not exist`);
    if (ami.State === 'pending') throw this.#error('verifyImage', 'Transient', 'ImageNotAvailable', `AMI ${id} is still pending`);
    if (ami.State !== 'available') throw this.#error('verifyImage', 'Invalid', 'ImageNotAvailable', `AMI ${id} is ${ami.State ?? 'in an unknown state'}`);
    const digest = tagsOf(ami)[TAG.digest];
    if (digest !== image.digest) {
      const seen = digest === undefined ? `no ${TAG.digest} tag` : `${TAG.digest}=${digest}`;
      throw this.#error('verifyImage', 'Invalid', 'ImageDigestMismatch', `AMI ${id} has ${seen}, image ${image.name} wants ${image.digest}`);
    }
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

  async #launchGeneration(request: CreateRequest, generation: number, options: CallOptions): Promise<Attempt> {
    const token = clientToken(request.idempotencyKey, generation);
    const input = runInstancesInput(request, token, this.name);
    try {
      const out = await this.#call('create', options, (signal) => this.#client.send(new RunInstancesCommand(input), { abortSignal: signal }));
      const instance = out.Instances?.[0];
      if (instance === undefined) throw this.#error('create', 'Transient', 'EmptyResponse', 'RunInstances returned no instance');
      return isDead(instance) ? { kind: 'dead' } : { kind: 'live', instance };
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      if (error.reason === 'IdempotentInstanceTerminated') return { kind: 'dead' };
      if (error.reason === 'IdempotentParameterMismatch') return this.#resolveMismatch(token, options, error);
      throw error;
    }
  }

  /** Same token, other parameters: the token's instance decides (live → it; dead → next generation). */
  async #resolveMismatch(token: string, options: CallOptions, cause: ProviderError): Promise<Attempt> {
    const input = { Filters: [{ Name: 'client-token', Values: [token] }] };
    // A read, not a launch: it does not spend (or wait on) the launch budget the caller paced.
    const out = await this.#call('create', { signal: options.signal }, (signal) => this.#client.send(new DescribeInstancesCommand(input), { abortSignal: signal }));
    const instances = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    const live = instances.find((i) => !isDead(i));
    if (instances.length > 0) this.#invisibleSince.delete(token);
    if (live !== undefined) return { kind: 'live', instance: live };
    if (instances.length > 0) return { kind: 'dead' };
    // Invisible: launched so recently that EC2 does not show it yet, or dead so long ago that EC2 no
    // longer reports it (terminated instances vanish after about an hour; the token is remembered far
    // longer). Only the first is possible for long: past the grace, the generation is spent.
    const now = Date.now();
    const since = this.#invisibleSince.get(token) ?? now;
    this.#invisibleSince.set(token, since);
    if (now - since >= (this.#options.invisibleTokenGraceMs ?? INVISIBLE_TOKEN_GRACE_MS)) {
      this.#invisibleSince.delete(token);
      return { kind: 'dead' };
    }
    throw this.#error('create', 'Conflict', 'IdempotentParameterMismatch', 'the ClientToken is in use but its instance is not visible yet', cause);
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
