/**
 * Performs one planned step: deletes first, then creates, each through the provider contract
 * (unhealthy and room-making deletes of a step that launches come last, once its launches went out). Creates go
 * ahead only when every delete sent before them succeeded. Every image
 * is verified before anything is launched from it; a step whose launches were found to fail before
 * it acted (launch-check.ts) sends neither its room-making deletes nor those launches, and reports
 * them failed. Errors are collected, never thrown.
 */
import type PQueue from 'p-queue';
import { idempotencyKey, instanceName } from '../contract/naming.ts';
import type { CallOptions, CreateRequest, ObservedInstance, Provider } from '../contract/provider.ts';
import type { DesiredGroup, LaunchTemplate } from '../contract/fleet.ts';
import type { CreateAction, DeleteAction, GroupStep } from '../plan/types.ts';
import { fenceLostOf, fromProviderError, ReconcileError } from './errors.ts';
import type { ImageVerifier } from './image-verifier.ts';
import { heldDeleteResults, refusedCreateResult, roomMakingDeletes } from './launch-check.ts';
import type { LaunchRefusal } from './launch-check.ts';
import { CallAbandoned } from './limited-provider.ts';
import { withIdentityHint } from './identity-hint.ts';
import type { TemplateStore } from './template-store.ts';

/** What one action did. */
export interface ActionResult {
  readonly kind: 'create' | 'delete';
  readonly group: string | undefined;
  readonly name: string;
  /** Provider id; known for deletes and successful creates. */
  readonly id: string | undefined;
  readonly reason: string;
  readonly error: ReconcileError | undefined;
  /** A create whose slot's instance already existed (ObservedInstance.replayed): nothing was launched. */
  readonly replayed?: boolean;
}

/** Everything the executor needs besides the step. */
export interface ExecuteContext {
  readonly fleet: string;
  readonly revision: string;
  /** Providers by Provider name; a missing one fails its actions. */
  readonly providers: ReadonlyMap<string, Provider>;
  /** This pass's inventory by instance id; deletes act on exactly what was observed. */
  readonly observed: ReadonlyMap<string, ObservedInstance>;
  readonly templates: TemplateStore;
  readonly images: ImageVerifier;
  /** Bounds concurrent cloud calls (creates, and deletes unless `deleteQueue` is given). */
  readonly queue: PQueue;
  /**
   * Deletes' own queue. Creates wait in their slots for the launch budget (EC2: 2 instances/s), so
   * deletes sharing their queue trickled out one group at a time behind them, each too late to share
   * a batched TerminateInstances with another group's; on their own queue a pass's deletes go out
   * together (up to 100 per call).
   */
  readonly deleteQueue?: PQueue;
  readonly signal?: AbortSignal;
  /**
   * Fired when a newer revision supersedes the pass: actions still waiting in the queue are then
   * skipped (not attempted, no result); calls already made run to their end.
   */
  readonly supersede?: AbortSignal;
  /**
   * The lane's stop (PassOptions.halt, HA): once aborted, queued actions are skipped as for a
   * supersede; a call refused with FenceLost aborts it, so the rest of the pass sends nothing.
   */
  readonly halt?: AbortController;
  /**
   * Groups whose launches were checked and are known to fail (launch-check.ts), with the deletes
   * held for them (already taken out of their steps): those are reported failed, not sent, and the
   * step's creates of the refused template are not sent either.
   */
  readonly refusals?: ReadonlyMap<string, LaunchRefusal>;
}

/**
 * Where creates and deletes share one queue (no deleteQueue), creates of a group whose deletes are
 * done go ahead of deletes still queued for other groups: in a rollout launches are the scarce
 * budget and deletes only make room for them, so a FIFO behind thousands of queued deletes would
 * leave the launch budget idle.
 */
const CREATE_PRIORITY = 1;

/**
 * Executes `step` for `group`; returns one result per action attempted. When the step also
 * launches, its unhealthy deletes and its deletes that make room for those launches (old instances
 * replaced) wait for the launches and go only if every one went out: an instance is deleted once
 * its replacement is launched, never while a failed launch (quota, no capacity in the zone, a fenced
 * launch) would leave the group a member short until a later pass. The planner's creates fit under
 * replicas + maxSurge with those instances still counted, so sending the creates first is safe;
 * without creates (no room to surge) they go first, as other deletes do. A step whose launches were
 * refused beforehand (ExecuteContext.refusals) reports its held deletes and refused creates unsent.
 */
export async function executeStep(step: GroupStep, group: DesiredGroup, ctx: ExecuteContext): Promise<ActionResult[]> {
  const refusal = ctx.refusals?.get(step.group);
  const held = refusal === undefined ? [] : heldDeleteResults(refusal);
  const later = afterLaunches(step);
  const deleted = await queuedDeletes(
    ctx,
    step.deletes.filter((d) => !later.includes(d)),
  );
  if (deleted.some((r) => r.error !== undefined) || step.creates.length === 0) return [...held, ...deleted];
  const created = await launchAll(step, group, ctx, refusal);
  const launchedAll = created.length === step.creates.length && created.every((r) => r.error === undefined);
  const after = launchedAll ? await queuedDeletes(ctx, later) : [];
  return [...held, ...deleted, ...created, ...after];
}

/** The deletes of a step that launches which wait for its launches: unhealthy ones and those making room. */
function afterLaunches(step: GroupStep): DeleteAction[] {
  if (step.creates.length === 0) return [];
  const room = new Set(roomMakingDeletes(step));
  return step.deletes.filter((d) => d.reason === 'unhealthy' || room.has(d));
}

/** The step's creates: those of a refused template reported unsent, the others launched (in batches). */
async function launchAll(
  step: GroupStep,
  group: DesiredGroup,
  ctx: ExecuteContext,
  refusal: LaunchRefusal | undefined,
): Promise<ActionResult[]> {
  const refused = refusal === undefined ? [] : step.creates.filter((c) => c.templateHash === refusal.templateHash);
  const refusedResults =
    refusal === undefined ? [] : refused.map((c) => refusedCreateResult(refusal, c, instanceName(group.name, c.templateHash, c.slot)));
  const sendable = step.creates.filter((c) => !refused.includes(c));
  const launches = launchBatches(sendable, group, ctx).map(
    (batch) => () => (batch.length === 1 ? createOne(batch[0] as CreateAction, group, ctx) : createMany(batch, group, ctx)),
  );
  return [...refusedResults, ...(await queued(ctx, launches, CREATE_PRIORITY))];
}

/** What one queued action yields: a result, several (a batched launch), or nothing (skipped unsent). */
type Queued = ActionResult | readonly ActionResult[] | undefined;

/**
 * Runs `actions` through the queue; those still waiting when the pass is superseded are skipped.
 * Skipping is always safe: a create only ever adds capacity, and the planner never makes a delete
 * depend on a create of the same pass.
 */
export async function queued(
  ctx: ExecuteContext,
  actions: readonly (() => Promise<Queued>)[],
  priority = 0,
  queue = ctx.queue,
): Promise<ActionResult[]> {
  const results = await Promise.all(actions.map((act) => queue.add(() => (stopped(ctx) ? undefined : act()), { priority })));
  return results.flatMap((r): readonly ActionResult[] => (r === undefined ? [] : 'kind' in r ? [r] : r));
}

/** Whether queued actions are skipped now: the pass was superseded or its lane given up. */
function stopped(ctx: ExecuteContext): boolean {
  return ctx.supersede?.aborted === true || ctx.halt?.signal.aborted === true;
}

/** A call's error as the action's, halting the lane on FenceLost (the rest of its queue is skipped). */
function failure(ctx: ExecuteContext, error: unknown, operation: string): ReconcileError {
  const lost = fenceLostOf(error);
  if (lost !== undefined && ctx.halt?.signal.aborted === false) ctx.halt.abort(lost);
  return fromProviderError(error, operation);
}

/** Runs `deletes` through the deletes' queue (see ExecuteContext.deleteQueue). */
export function queuedDeletes(ctx: ExecuteContext, deletes: readonly DeleteAction[]): Promise<ActionResult[]> {
  return queued(
    ctx,
    deletes.map((d) => () => deleteOne(d, ctx)),
    0,
    ctx.deleteQueue ?? ctx.queue,
  );
}

/** Deletes one instance (orphans included); already gone counts as done; undefined: abandoned unsent. */
export async function deleteOne(action: DeleteAction, ctx: ExecuteContext): Promise<ActionResult | undefined> {
  const base = { kind: 'delete' as const, group: action.group, name: action.name, id: action.id, reason: action.reason };
  const instance = ctx.observed.get(action.id);
  const provider = instance && ctx.providers.get(instance.provider);
  if (instance === undefined || provider === undefined) {
    return {
      ...base,
      error: new ReconcileError('transient', 'InstanceNotObserved', `cannot delete ${action.name}: it is not in this pass's inventory`),
    };
  }
  try {
    await provider.destroy(instance, callOptions(ctx));
    return { ...base, error: undefined };
  } catch (error) {
    if (error instanceof CallAbandoned) return undefined;
    return { ...base, error: failure(ctx, error, `delete ${action.name}`) };
  }
}

/**
 * The step's creates as launches: creates of one template and zone share a batch when their
 * provider launches in batches (up to its maxBatchSize); every other create is a batch of one.
 */
function launchBatches(creates: readonly CreateAction[], group: DesiredGroup, ctx: ExecuteContext): CreateAction[][] {
  const batches = new Map<string, CreateAction[]>();
  const out: CreateAction[][] = [];
  for (const action of creates) {
    const provider = ctx.providers.get(templateFor(action, group, ctx)?.provider ?? '');
    const max = provider?.createBatch === undefined ? 1 : (provider.maxBatchSize ?? 1);
    const key = `${action.templateHash}\0${action.zone}`;
    const open = batches.get(key);
    if (max > 1 && open !== undefined && open.length < max) {
      open.push(action);
      continue;
    }
    const batch = [action];
    out.push(batch);
    if (max > 1) batches.set(key, batch);
  }
  return out;
}

/** A create ready to send, or the result that says why it cannot be. */
type Prepared =
  | {
      readonly ok: true;
      readonly base: Omit<ActionResult, 'id' | 'error'>;
      readonly provider: Provider;
      readonly template: LaunchTemplate;
      readonly request: CreateRequest;
    }
  | { readonly ok: false; readonly result: ActionResult };

function prepare(action: CreateAction, group: DesiredGroup, ctx: ExecuteContext): Prepared {
  const name = instanceName(group.name, action.templateHash, action.slot);
  const base = { kind: 'create' as const, group: group.name, name, reason: action.reason };
  const template = templateFor(action, group, ctx);
  if (template === undefined) {
    return {
      ok: false,
      result: {
        ...base,
        id: undefined,
        error: new ReconcileError(
          'stalled',
          'TemplateUnknown',
          `cannot launch ${name}: template ${action.templateHash} is no longer in Git nor in drover's state`,
        ),
      },
    };
  }
  const provider = ctx.providers.get(template.provider);
  if (provider === undefined)
    return {
      ok: false,
      result: {
        ...base,
        id: undefined,
        error: new ReconcileError('transient', 'ProviderUnavailable', `provider ${template.provider} is unavailable`),
      },
    };
  const request: CreateRequest = {
    name,
    idempotencyKey: idempotencyKey(ctx.fleet, group.name, action.templateHash, action.slot),
    owner: {
      fleet: ctx.fleet,
      group: group.name,
      templateHash: action.templateHash,
      imageDigest: template.imageDigest,
      revision: ctx.revision,
      slot: action.slot,
    },
    zone: action.zone,
    template,
  };
  return { ok: true, base, provider, template, request };
}

async function createOne(action: CreateAction, group: DesiredGroup, ctx: ExecuteContext): Promise<ActionResult | undefined> {
  const prepared = prepare(action, group, ctx);
  if (!prepared.ok) return prepared.result;
  const { base, provider, template, request } = prepared;
  try {
    await ctx.images.verify(provider, { name: group.image, digest: template.imageDigest, artifact: template.artifact }, ctx.signal);
    const created = await provider.create(request, callOptions(ctx));
    return { ...base, id: created.id, error: undefined, ...(created.replayed === true ? { replayed: true } : {}) };
  } catch (error) {
    if (error instanceof CallAbandoned) return undefined;
    return { ...base, id: undefined, error: withIdentityHint(failure(ctx, error, `create ${base.name}`), template) };
  }
}

/** Creates of one template and zone in one batched launch; one result per create. */
async function createMany(actions: readonly CreateAction[], group: DesiredGroup, ctx: ExecuteContext): Promise<ActionResult[] | undefined> {
  const prepared = actions.map((a) => prepare(a, group, ctx));
  const ready = prepared.filter((p) => p.ok);
  const refused = prepared.flatMap((p) => (p.ok ? [] : [p.result]));
  const first = ready[0];
  if (first === undefined) return refused;
  const { provider, template } = first;
  try {
    await ctx.images.verify(provider, { name: group.image, digest: template.imageDigest, artifact: template.artifact }, ctx.signal);
    const outcomes = await (provider.createBatch as NonNullable<Provider['createBatch']>)(
      ready.map((p) => p.request),
      callOptions(ctx),
    );
    return [
      ...refused,
      ...ready.map((p, i): ActionResult => {
        const outcome = outcomes[i];
        if (outcome?.status === 'fulfilled')
          return { ...p.base, id: outcome.value.id, error: undefined, ...(outcome.value.replayed === true ? { replayed: true } : {}) };
        return {
          ...p.base,
          id: undefined,
          error: failure(ctx, outcome?.reason ?? new Error('no outcome for this request'), `create ${p.base.name}`),
        };
      }),
    ];
  } catch (error) {
    if (error instanceof CallAbandoned) return undefined;
    const failed = (p: (typeof ready)[number]) => withIdentityHint(failure(ctx, error, `create ${p.base.name}`), template);
    return [...refused, ...ready.map((p) => ({ ...p.base, id: undefined, error: failed(p) }))];
  }
}

function templateFor(action: CreateAction, group: DesiredGroup, ctx: ExecuteContext): LaunchTemplate | undefined {
  if (action.templateHash === group.templateHash) return group.template;
  return ctx.templates.get(group.name, action.templateHash);
}

function callOptions(ctx: ExecuteContext): CallOptions {
  const abandon = [ctx.supersede, ctx.halt?.signal].filter((s): s is AbortSignal => s !== undefined);
  return {
    ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
    ...(abandon.length === 0 ? {} : { abandonUnsent: abandon.length === 1 ? abandon[0] : AbortSignal.any(abandon) }),
  };
}
