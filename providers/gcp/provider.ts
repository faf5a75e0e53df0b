/**
 * The Compute Engine provider: one Provider per Provider document (one GCP project). See
 * src/contract/provider.ts for the contract and names.ts for how deterministic names, requestIds and the
 * `drover-key` label keep create idempotent across lost responses, failed operations and dead slots.
 */
import type { protos } from '@google-cloud/compute';
import { PartialListing, ProviderError, type ProviderErrorKind } from '../../src/contract/errors.ts';
import type { CallOptions, CreateRequest, ImageRef, ListScope, ObservedInstance, Provider } from '../../src/contract/provider.ts';
import { classifyGce } from './classify.ts';
import type { GceClients } from './client.ts';
import { verifyImage } from './images.ts';
import { isUsable, LABEL, toObserved } from './labels.ts';
import { expectedFacts, FirstNetworks, observedFacts } from './facts.ts';
import type { LaunchFacts } from '../../src/contract/launch-facts.ts';
import type { LaunchTemplate } from '../../src/contract/fleet.ts';
import { instanceResource, nameTaken } from './launch.ts';
import { CreateBook, generationName, generationOf, keyLabel, MAX_CREATE_STEPS, requestIdFor, type CreateStep } from './names.ts';
import { isDone, operationError, operationOf, waitForOperation, type GceOperation } from './operations.ts';
import { callWithRetry, type CallContext, type ProviderLogger, type RetryTuning } from './retry.ts';

type Instance = protos.google.cloud.compute.v1.IInstance;

/** Tuning for tests and operators; production needs none of it. */
export interface GcpProviderOptions {
  readonly retry?: Partial<RetryTuning>;
  readonly logger?: ProviderLogger;
  /** Jitter source (tests). */
  readonly random?: () => number;
  /** aggregatedList page size (1–500; default 500). */
  readonly pageSize?: number;
  /** Pause when zoneOperations.wait returns before DONE, ms (default 1000). */
  readonly operationPollMs?: number;
  /** Longest wait for an insert operation, ms (default 10 minutes). */
  readonly operationTimeoutMs?: number;
}

/** What the provider needs, resolved. */
export interface GcpProviderInit {
  readonly name: string;
  readonly fleet: string;
  readonly project: string;
  readonly clients: GceClients;
  readonly policy: RetryTuning;
  readonly options: GcpProviderOptions;
  /** The lane holder's fencing token (HA; the clients fence the calls): labelled on every launch. */
  readonly fence?: string | undefined;
  /** The key space of that token (HA): labelled next to it. */
  readonly keySpace?: string | undefined;
}

/** Outcome of one (generation, attempt) step of create. */
/** One insert step's outcome; `replayed`: the slot's instance came from an earlier call (ObservedInstance.replayed). */
type StepOutcome =
  | { readonly kind: 'created'; readonly instance: Instance; readonly replayed?: boolean }
  | { readonly kind: 'next-generation' }
  | { readonly kind: 'next-attempt' }
  | { readonly kind: 'foreign'; readonly instance: Instance };

/** The outcome, marked as a replay when it found the slot's instance. */
function asReplay(outcome: StepOutcome): StepOutcome {
  return outcome.kind === 'created' ? { ...outcome, replayed: true } : outcome;
}

/** Deadline of one zoneOperations.wait attempt: GCE blocks up to two minutes before answering. */
const WAIT_DEADLINE_MS = 130_000;

/** Most instances one list walks before suspecting a pagination loop. */
const MAX_LISTED = 200_000;

/** The Compute Engine implementation of the provider contract. */
export class GcpProvider implements Provider {
  readonly name: string;
  readonly type = 'gcp' as const;
  readonly groupFilterLimit = MAX_FILTER_GROUPS;
  readonly #fleet: string;
  readonly #project: string;
  readonly #clients: GceClients;
  readonly #policy: RetryTuning;
  readonly #options: GcpProviderOptions;
  readonly #fence: string | undefined;
  readonly #keySpace: string | undefined;
  readonly #book = new CreateBook();
  /** Instances whose delete this process started (zone/name → id): shown as terminated while GCE still lists them. */
  readonly #deleting = new Map<string, string>();
  /** The network each instance was first seen on (facts.ts): a network change with only a subnetwork in the template. */
  readonly #networks = new FirstNetworks();

  constructor(init: GcpProviderInit) {
    this.name = init.name;
    this.#fleet = init.fleet;
    this.#project = init.project;
    this.#clients = init.clients;
    this.#fence = init.fence;
    this.#keySpace = init.keySpace;
    this.#policy = init.policy;
    this.#options = init.options;
  }

  /**
   * One aggregatedList over every zone of the project, filtered by the fleet label (and the group
   * label for a scope of up to 50 groups) and paginated.
   * Instances GCE still lists while a delete drover started is running are reported terminating:
   * GCE counts them against quota until the delete is DONE, so they count against the group's
   * surge too, and the planner never deletes them twice.
   * Zones GCE reports UNREACHABLE are not guessed at: the listing rejects with a PartialListing
   * holding the instances of the zones that answered and naming the others, so the caller acts only
   * on groups whose zones were all listed (acting in a zone it cannot see would duplicate or delete
   * what the outage hides).
   */
  async list(scope: ListScope, options: CallOptions = {}): Promise<ObservedInstance[]> {
    const request = { project: this.#project, filter: listFilter(scope), maxResults: this.#options.pageSize ?? 500 };
    const { instances, unreachable } = await this.#call('list', options, async (signal) => {
      const out = new Map<string, Instance>();
      const lost = new Set<string>();
      let seen = 0;
      for await (const [scopeName, scoped] of this.#clients.instances.aggregatedListAsync(request, this.#gax(signal))) {
        if (String(scoped.warning?.code ?? '') === 'UNREACHABLE') lost.add(scopeName.replace(/^zones\//, ''));
        for (const instance of scoped.instances ?? []) {
          if (++seen > MAX_LISTED)
            throw this.#error('list', 'Transient', 'PaginationLoop', `aggregatedList returned more than ${MAX_LISTED} instances`);
          out.set(String(instance.id ?? instance.name), instance);
        }
      }
      return { instances: [...out.values()], unreachable: [...lost] };
    });
    const observed = this.#observeListed(instances, scope, unreachable);
    if (unreachable.length > 0)
      throw new PartialListing({ provider: this.name, operation: 'list', instances: observed, zones: unreachable });
    return observed;
  }

  /** Listed instances as drover sees them; deletes in flight in zones that did not answer are kept in mind. */
  #observeListed(instances: readonly Instance[], scope: ListScope, unreachable: readonly string[]): ObservedInstance[] {
    const listed = new Set<string>();
    const observed: ObservedInstance[] = [];
    for (const instance of instances) {
      const seen = toObserved(instance, this.name, scope.fleet);
      if (seen === undefined) continue;
      const o = { ...seen, launch: observedFacts(instance, this.#networks) };
      const slotKey = instance.labels?.[LABEL.key];
      if (slotKey !== undefined) this.#book.observe(slotKey, generationOf(o.name));
      const key = `${o.zone}/${o.name}`;
      listed.add(key);
      const deleting = this.#deleting.get(key) === o.id && o.state !== 'pending' && o.state !== 'running';
      observed.push(deleting ? { ...o, state: 'terminating' } : o);
    }
    for (const key of this.#deleting.keys()) {
      if (!listed.has(key) && !unreachable.includes(key.slice(0, key.indexOf('/')))) this.#deleting.delete(key);
    }
    // A full listing of every zone: the first-seen networks of instances gone are forgotten.
    if (scope.groups === undefined && unreachable.length === 0)
      this.#networks.keepOnly(new Set(instances.map((i) => String(i.id ?? i.name))));
    return observed;
  }

  /** Launches the slot's instance, or returns the live one its key already launched (see names.ts). */
  async create(request: CreateRequest, options: CallOptions = {}): Promise<ObservedInstance> {
    const key = request.idempotencyKey;
    if (request.owner.fleet !== this.#fleet)
      throw this.#error(
        'create',
        'Invalid',
        'FleetMismatch',
        `slot ${request.owner.slot} of ${request.owner.group} is for fleet ${request.owner.fleet}, but this provider was opened for fleet ${this.#fleet}`,
      );
    const found = await this.#findKnown(request, options);
    if (found.kind === 'created') return { ...this.#observedOf(found.instance), replayed: true };
    let step: CreateStep = { generation: found.generation, attempt: this.#book.attempt(key, found.generation) };
    for (let i = 0; i < MAX_CREATE_STEPS; i++) {
      this.#book.observe(key, step.generation);
      const outcome = await this.#step(request, step, options);
      if (outcome.kind === 'created')
        return outcome.replayed ? { ...this.#observedOf(outcome.instance), replayed: true } : this.#observedOf(outcome.instance);
      if (outcome.kind === 'foreign') throw nameTaken(this.name, this.#fleet, request, outcome.instance);
      if (outcome.kind === 'next-attempt') this.#book.spend(key, step.generation, step.attempt + 1);
      const generation = outcome.kind === 'next-generation' ? step.generation + 1 : step.generation;
      step = { generation, attempt: this.#book.attempt(key, generation) };
      this.#options.logger?.debug(
        { provider: this.name, group: request.owner.group, slot: request.owner.slot, ...step },
        'slot name or request id spent, next step',
      );
    }
    throw this.#error(
      'create',
      'Conflict',
      'TooManyCreateSteps',
      `slot ${request.owner.slot} of ${request.owner.group}: ${MAX_CREATE_STEPS} spent names or request ids in a row`,
    );
  }

  /**
   * Deletes an instance of this fleet (its boot and extra disks are auto-deleted with it). Reads it
   * first: gone, or a different instance now holding the name, is success; one whose labels do not
   * carry this fleet's id is refused. Resolves once the delete operation is DONE (the instance is
   * gone): a STOPPING instance still counts against GCE's quota, so a replacement launched before
   * that could meet QUOTA_EXCEEDED or exceed the rollout's surge (the executor launches a group's
   * creates only after its deletes resolved). A delete operation that fails rejects.
   */
  async destroy(instance: ObservedInstance, options: CallOptions = {}): Promise<void> {
    if (instance.fleet !== this.#fleet)
      throw this.#error('destroy', 'Invalid', 'NotOwned', `instance ${instance.id} is not in fleet ${this.#fleet}`);
    if (instance.name === '' || instance.zone === '')
      throw this.#error(
        'destroy',
        'Invalid',
        'InstanceRefIncomplete',
        `instance ${instance.id} has no name or zone: GCE deletes by zone and name`,
      );
    const current = await this.#getInstance('destroy', instance.name, instance.zone, options);
    if (current === undefined || String(current.id) !== instance.id) return;
    if (current.labels?.[LABEL.fleet] !== this.#fleet)
      throw this.#error('destroy', 'Invalid', 'NotOwned', `instance ${instance.name} does not carry ${LABEL.fleet}=${this.#fleet}`);
    const requestId = requestIdFor(`delete:${instance.id}`, 0, 0);
    let op: GceOperation | undefined;
    try {
      op = await this.#call('destroy', options, async (signal) =>
        operationOf(
          (
            await this.#clients.instances.delete(
              { project: this.#project, zone: instance.zone, instance: instance.name, requestId },
              this.#gax(signal),
            )
          )[0],
        ),
      );
    } catch (error) {
      if (error instanceof ProviderError && error.kind === 'NotFound') return;
      throw error;
    }
    this.#deleting.set(`${instance.zone}/${instance.name}`, instance.id);
    if (op === undefined) return;
    const done = isDone(op) ? op : await this.#wait(op, instance.zone, options, 'destroy');
    const failed = operationError(done, this.name, 'destroy');
    if (failed !== undefined) throw failed;
  }

  /** images.get on the artifact; its `drover-digest` label must equal the digest's label form. */
  verifyImage(image: ImageRef, options: CallOptions = {}): Promise<void> {
    return verifyImage(image, {
      provider: this.name,
      project: this.#project,
      get: (project, name) =>
        this.#call(
          'verifyImage',
          options,
          async (signal) => (await this.#clients.images.get({ project, image: name }, this.#gax(signal)))[0],
        ),
    });
  }

  /** The launch facts an instance of `template` reports in the listing (facts.ts). */
  expectedFacts(template: LaunchTemplate, instance: ObservedInstance): LaunchFacts {
    return expectedFacts(template, instance);
  }

  /** Maps a client, network, operation or ProviderError to its kind. */
  classify(error: unknown): ProviderErrorKind {
    return classifyGce(error).kind;
  }

  /** Closes the clients. */
  close(): Promise<void> {
    return this.#clients.close();
  }

  /**
   * When generations above 0 are known for the slot, reads each known generation's name: the slot's
   * instance may hold any of them. Returns it, or the lowest free generation to insert into.
   */
  async #findKnown(
    request: CreateRequest,
    options: CallOptions,
  ): Promise<{ kind: 'created'; instance: Instance } | { kind: 'free'; generation: number }> {
    const highest = this.#book.highest(request.idempotencyKey);
    if (highest === 0) return { kind: 'free', generation: 0 };
    const key = keyLabel(request.idempotencyKey);
    let free: number | undefined;
    for (let generation = 0; generation <= highest; generation++) {
      const holder = await this.#getInstance('create', generationName(request.name, generation), request.zone, options);
      if (holder === undefined) free ??= generation;
      else if (this.#judge(holder, key).kind === 'created') return { kind: 'created', instance: holder };
    }
    return { kind: 'free', generation: free ?? highest + 1 };
  }

  #observedOf(instance: Instance): ObservedInstance {
    const observed = toObserved(instance, this.name, this.#fleet);
    if (observed === undefined)
      throw this.#error('create', 'Conflict', 'OwnershipLabelsMissing', `instance ${instance.name ?? ''} lacks the fleet label`);
    return observed;
  }

  async #step(request: CreateRequest, step: CreateStep, options: CallOptions): Promise<StepOutcome> {
    const name = generationName(request.name, step.generation);
    const key = keyLabel(request.idempotencyKey);
    const body = instanceResource(request, name, key, this.name, this.#fence, this.#keySpace);
    const requestId = requestIdFor(request.idempotencyKey, step.generation, step.attempt, request.zone);
    let op: GceOperation;
    let attempts = 0;
    try {
      op = await this.#call('create', options, async (signal, attempt) => {
        attempts = attempt;
        return operationOf(
          (
            await this.#clients.instances.insert(
              { project: this.#project, zone: request.zone, requestId, instanceResource: body },
              this.#gax(signal),
            )
          )[0],
        );
      });
    } catch (error) {
      if (error instanceof ProviderError && error.kind === 'Conflict')
        return asReplay(this.#judge(await this.#getInstance('create', name, request.zone, options), key));
      if (error instanceof ProviderError && error.kind === 'NotFound') {
        throw new ProviderError({
          kind: 'Invalid',
          reason: 'ReferencedResourceNotFound',
          provider: this.name,
          operation: 'create',
          message: `create ${name}: a resource it refers to (image, machine type, network, zone) does not exist`,
          cause: error,
        });
      }
      throw error;
    }
    const replayed = isDone(op);
    const done = replayed ? op : await this.#wait(op, request.zone, options);
    const failed = operationError(done, this.name, 'create');
    if (failed !== undefined) {
      if (replayed) return { kind: 'next-attempt' };
      this.#book.spend(request.idempotencyKey, step.generation, step.attempt + 1);
      throw failed;
    }
    // A finished operation on the call's first attempt answered an insert of an earlier call (a
    // replay); on a retry it may be this call's own first attempt, whose answer was lost.
    const judged = this.#judge(await this.#getInstance('create', name, request.zone, options), key);
    return replayed && attempts === 1 ? asReplay(judged) : judged;
  }

  /**
   * The instance holding a name: ours (fleet and key labels) and PROVISIONING/STAGING/RUNNING → the
   * slot's; gone → the name is free but this requestId is spent (next attempt); labelled with
   * another fleet's id → foreign (create refuses: walking names would launch beside another fleet's
   * instance, e.g. the same fleet's under its former id); anything else → the name is spent (next
   * generation).
   */
  #judge(instance: Instance | undefined, key: string): StepOutcome {
    if (instance === undefined) return { kind: 'next-attempt' };
    const labels = instance.labels ?? {};
    const fleet = labels[LABEL.fleet];
    if (fleet !== undefined && fleet !== this.#fleet) return { kind: 'foreign', instance };
    const ours = labels[LABEL.fleet] === this.#fleet && labels[LABEL.key] === key;
    return ours && isUsable(instance.status as string | undefined) ? { kind: 'created', instance } : { kind: 'next-generation' };
  }

  #wait(op: GceOperation, zone: string, options: CallOptions, operation = 'create'): Promise<GceOperation> {
    return waitForOperation(op, {
      provider: this.name,
      operation,
      pollMs: this.#options.operationPollMs ?? 1000,
      timeoutMs: this.#options.operationTimeoutMs ?? 600_000,
      signal: options.signal,
      wait: (name) =>
        this.#call(
          operation,
          options,
          async (signal) =>
            (
              await this.#clients.operations.wait({ project: this.#project, zone, operation: name }, this.#gax(signal, WAIT_DEADLINE_MS))
            )[0],
          WAIT_DEADLINE_MS,
        ),
    });
  }

  async #getInstance(operation: string, name: string, zone: string, options: CallOptions): Promise<Instance | undefined> {
    try {
      return await this.#call(
        operation,
        options,
        async (signal) => (await this.#clients.instances.get({ project: this.#project, zone, instance: name }, this.#gax(signal)))[0],
      );
    } catch (error) {
      if (error instanceof ProviderError && error.kind === 'NotFound') return undefined;
      throw error;
    }
  }

  /**
   * Per-call client options: drover's signal (which carries the attempt deadline), no client-side
   * retries, and the client's own deadline a second later as a backstop (so drover's fires first and
   * is reported as Timeout).
   */
  #gax(
    signal: AbortSignal,
    minDeadlineMs = 0,
  ): { timeout: number; retry: { retryCodes: number[] }; signal: AbortSignal; autoPaginate: false } {
    return {
      timeout: Math.max(this.#policy.attemptTimeoutMs, minDeadlineMs) + 1000,
      retry: { retryCodes: [] },
      signal,
      autoPaginate: false,
    };
  }

  /** A call through drover's retry loop; `minDeadlineMs` lengthens the attempt deadline (operation waits). */
  #call<T>(
    operation: string,
    options: CallOptions,
    fn: (signal: AbortSignal, attempt: number) => Promise<T>,
    minDeadlineMs = 0,
  ): Promise<T> {
    const policy = minDeadlineMs > this.#policy.attemptTimeoutMs ? { ...this.#policy, attemptTimeoutMs: minDeadlineMs } : this.#policy;
    const ctx: CallContext = {
      provider: this.name,
      policy,
      signal: options.signal,
      pacer: options.pacer,
      logger: this.#options.logger,
      random: this.#options.random,
    };
    return callWithRetry(operation, ctx, fn);
  }

  #error(operation: string, kind: ProviderErrorKind, reason: string, message: string): ProviderError {
    return new ProviderError({ kind, reason, provider: this.name, operation, message });
  }
}

/** Groups one list filter names at most; more list the whole fleet (callers filter). */
const MAX_FILTER_GROUPS = 50;

/**
 * `labels.drover-fleet = "F"`, and for a scope of groups `AND (labels.drover-group = "a") OR (…)`:
 * OR binds tighter than AND in Compute's (AIP-160) filters, so this is fleet AND (a OR …).
 */
function listFilter(scope: ListScope): string {
  const fleet = `(labels.${LABEL.fleet} = ${JSON.stringify(scope.fleet)})`;
  const groups = scope.groups ?? [];
  if (groups.length === 0 || groups.length > MAX_FILTER_GROUPS) return fleet;
  return `${fleet} AND ${groups.map((g) => `(labels.${LABEL.group} = ${JSON.stringify(g)})`).join(' OR ')}`;
}
