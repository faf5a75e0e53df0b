/**
 * Performs one planned step: deletes first, then creates, each through the provider contract.
 * Creates go ahead only when every delete of the step succeeded, because the planner's surge bound
 * counts deleted instances as gone (a failed delete means the instance still exists). Every image
 * is verified before anything is launched from it. Errors are collected, never thrown.
 */
import type PQueue from 'p-queue';
import { idempotencyKey, instanceName } from '../../providers/naming.ts';
import type { CallOptions, ObservedInstance, Provider } from '../../providers/types.ts';
import type { DesiredGroup, LaunchTemplate } from '../desired/types.ts';
import type { CreateAction, DeleteAction, GroupStep } from '../plan/types.ts';
import { fromProviderError, ReconcileError } from './errors.ts';
import type { ImageVerifier } from './image-verifier.ts';
import { CallAbandoned } from './limited-provider.ts';
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
  /** Bounds concurrent cloud calls. */
  readonly queue: PQueue;
  readonly signal?: AbortSignal;
  /**
   * Fired when a newer revision supersedes the pass: actions still waiting in the queue are then
   * skipped (not attempted, no result); calls already made run to their end.
   */
  readonly supersede?: AbortSignal;
}

/**
 * Creates of a group whose deletes are done go ahead of deletes still queued for other groups: in
 * a rollout launches are the scarce budget (the smallest cloud bucket) and deletes only make room
 * for them, so a FIFO behind thousands of queued deletes would leave the launch budget idle.
 */
const CREATE_PRIORITY = 1;

/** Executes `step` for `group`; returns one result per action attempted. */
export async function executeStep(step: GroupStep, group: DesiredGroup, ctx: ExecuteContext): Promise<ActionResult[]> {
  const deleted = await queued(ctx, step.deletes.map((d) => () => deleteOne(d, ctx)));
  if (deleted.some((r) => r.error !== undefined) || step.creates.length === 0) return deleted;
  const created = await queued(ctx, step.creates.map((c) => () => createOne(c, group, ctx)), CREATE_PRIORITY);
  return [...deleted, ...created];
}

/**
 * Runs `actions` through the queue; those still waiting when the pass is superseded are skipped.
 * Skipping is always safe: a create only ever adds capacity, and the planner never makes a delete
 * depend on a create of the same pass.
 */
export async function queued(ctx: ExecuteContext, actions: readonly (() => Promise<ActionResult | undefined>)[], priority = 0): Promise<ActionResult[]> {
  const results = await Promise.all(actions.map((act) => ctx.queue.add(() => (ctx.supersede?.aborted ? undefined : act()), { priority })));
  return results.filter((r): r is ActionResult => r !== undefined);
}

/** Deletes one instance (orphans included); already gone counts as done; undefined: abandoned unsent. */
export async function deleteOne(action: DeleteAction, ctx: ExecuteContext): Promise<ActionResult | undefined> {
  const base = { kind: 'delete' as const, group: action.group, name: action.name, id: action.id, reason: action.reason };
  const instance = ctx.observed.get(action.id);
  const provider = instance && ctx.providers.get(instance.provider);
  if (instance === undefined || provider === undefined) {
    return { ...base, error: new ReconcileError('transient', 'InstanceNotObserved', `cannot delete ${action.name}: it is not in this pass's inventory`) };
  }
  try {
    await provider.destroy(instance, callOptions(ctx));
    return { ...base, error: undefined };
  } catch (error) {
    if (error instanceof CallAbandoned) return undefined;
    return { ...base, error: fromProviderError(error, `delete ${action.name}`) };
  }
}

async function createOne(action: CreateAction, group: DesiredGroup, ctx: ExecuteContext): Promise<ActionResult | undefined> {
  const name = instanceName(group.name, action.templateHash, action.slot);
  const base = { kind: 'create' as const, group: group.name, name, reason: action.templateHash === group.templateHash ? 'desired' : 'rollback' };
  const template = templateFor(action, group, ctx);
  const provider = template && ctx.providers.get(template.provider);
  if (template === undefined) {
    return { ...base, id: undefined, error: new ReconcileError('stalled', 'TemplateUnknown', `cannot launch ${name}: template ${action.templateHash} is no longer in Git nor in drover's state`) };
  }
  if (provider === undefined) return { ...base, id: undefined, error: new ReconcileError('transient', 'ProviderUnavailable', `provider ${template.provider} is unavailable`) };
  try {
    await ctx.images.verify(provider, { name: group.image, digest: template.imageDigest, artifact: template.artifact }, ctx.signal);
    const created = await provider.create({
      name,
      idempotencyKey: idempotencyKey(ctx.fleet, group.name, action.templateHash, action.slot),
      owner: { fleet: ctx.fleet, group: group.name, templateHash: action.templateHash, imageDigest: template.imageDigest, revision: ctx.revision, slot: action.slot },
      zone: action.zone,
      template,
    }, callOptions(ctx));
    return { ...base, id: created.id, error: undefined };
  } catch (error) {
    if (error instanceof CallAbandoned) return undefined;
    return { ...base, id: undefined, error: fromProviderError(error, `create ${name}`) };
  }
}

function templateFor(action: CreateAction, group: DesiredGroup, ctx: ExecuteContext): LaunchTemplate | undefined {
  if (action.templateHash === group.templateHash) return group.template;
  return ctx.templates.get(group.name, action.templateHash);
}

function callOptions(ctx: ExecuteContext): CallOptions {
  return { ...(ctx.signal === undefined ? {} : { signal: ctx.signal }), ...(ctx.supersede === undefined ? {} : { abandonUnsent: ctx.supersede }) };
}
