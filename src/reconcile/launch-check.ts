/**
 * Checks a step's launches before it deletes instances to make room for them. A surge-0 rollout
 * (and any rollout step while launches of its target are still to come) deletes ready old
 * instances for room; when the launch that room is for is known to fail — the target template's
 * image does not verify (image-verifier.ts), or the cloud refuses its placement (placement-check.ts)
 * — those deletes would only cost capacity. Both checks are reads (cached image verifications, one
 * placement read per provider), asked only of steps with such deletes. A refused step keeps its
 * room-making deletes unsent and reports them failed with the check's reason (so the group shows
 * Stalled with the cloud's cause, and backs off); deletes needed whatever happens (a stopped or
 * unhealthy instance, scale-in, a duplicate of the target) still go.
 *
 * A provider whose launches are blocked for now (Provider.launchesBlockedUntil: AWS's launch fence
 * after a lost launch journal) holds those deletes the same way, but as an expected wait (policy
 * `waiting`, reason LaunchFenced, requeued at the block's end): the group is held until then with a
 * `launch-fence` wait in status, neither Stalled nor backing off, and retried when the block ends.
 */
import type { PlacementRef, Provider } from '../contract/provider.ts';
import type { DesiredGroup, DesiredState, LaunchTemplate } from '../contract/fleet.ts';
import type { CreateAction, DeleteAction, GroupStep } from '../plan/types.ts';
import { fromProviderError, ReconcileError } from './errors.ts';
import type { ActionResult } from './execute.ts';
import type { ImageVerifier } from './image-verifier.ts';
import { checkProviderPlacements, isCheckFailure } from './placement-check.ts';
import type { TemplateStore } from './template-store.ts';

/** A step whose launches of `templateHash` are known to fail (or could not be checked), and the deletes held for it. */
export interface LaunchRefusal {
  readonly group: string;
  readonly templateHash: string;
  /** Which check refused: the image, the placement, the template itself (no longer known), or the provider's launch block. */
  readonly check: 'image' | 'placement' | 'template' | 'blocked';
  /** Policy `stalled` for the cloud's refusal, `transient` when the cloud could not be asked, `waiting` while launches are blocked. */
  readonly error: ReconcileError;
  /** The step's room-making deletes, not sent. */
  readonly held: readonly DeleteAction[];
}

/** What the checks read through. */
export interface LaunchCheckDeps {
  readonly providers: ReadonlyMap<string, Provider>;
  readonly templates: TemplateStore;
  readonly images: ImageVerifier;
}

/**
 * The step's deletes whose purpose is to make room for launches of its target template still to
 * come: old-template instances replaced (template-changed, rollback) and ready instances replaced
 * like them (an unreadable template, a ready duplicate of another template). None while the target
 * already has every replica (the deletes then only finish the rollout).
 */
export function roomMakingDeletes(step: GroupStep): DeleteAction[] {
  const target = step.status.targetTemplateHash;
  if (target === undefined) return [];
  const launchesAhead = step.creates.some((c) => c.templateHash === target) || step.status.counts.updated < step.status.replicas;
  return launchesAhead ? step.deletes.filter((d) => makesRoom(d, target)) : [];
}

function makesRoom(d: DeleteAction, target: string): boolean {
  if (d.reason === 'template-changed' || d.reason === 'rollback') return true;
  return d.ready && d.templateHash !== target && (d.reason === 'drift-unknown-template' || d.reason === 'duplicate-slot');
}

/** A step to check: its group, target template and room-making deletes. */
interface Candidate {
  readonly step: GroupStep;
  readonly group: DesiredGroup;
  readonly templateHash: string;
  readonly template: LaunchTemplate | undefined;
  readonly held: readonly DeleteAction[];
}

/** Checks the launches of every step with room-making deletes; the refused ones by group. */
export async function refusedLaunches(
  state: DesiredState,
  steps: readonly GroupStep[],
  deps: LaunchCheckDeps,
  signal?: AbortSignal,
): Promise<Map<string, LaunchRefusal>> {
  const candidates = steps.flatMap((step): Candidate[] => {
    const group = state.groups[step.group];
    const held = roomMakingDeletes(step);
    const templateHash = step.status.targetTemplateHash;
    if (group === undefined || templateHash === undefined || held.length === 0) return [];
    const template = templateHash === group.templateHash ? group.template : deps.templates.get(group.name, templateHash);
    return [{ step, group, templateHash, template, held }];
  });
  if (candidates.length === 0) return new Map();
  const [images, placements] = await Promise.all([
    imageErrors(candidates, deps, signal),
    placementErrors(candidates, deps.providers, signal),
  ]);
  const out = new Map<string, LaunchRefusal>();
  for (const c of candidates) {
    const base = { group: c.group.name, templateHash: c.templateHash, held: c.held };
    if (c.template === undefined) {
      out.set(c.group.name, {
        ...base,
        check: 'template',
        error: new ReconcileError('stalled', 'TemplateUnknown', `template ${c.templateHash} is no longer in Git nor in drover's state`),
      });
      continue;
    }
    const image = images.get(c.group.name);
    const placement = placements.get(c.group.name);
    const blocked = (image ?? placement) ? undefined : blockedError(deps.providers.get(c.template.provider), Date.now());
    if (image !== undefined) out.set(c.group.name, { ...base, check: 'image', error: image });
    else if (placement !== undefined) out.set(c.group.name, { ...base, check: 'placement', error: placement });
    else if (blocked !== undefined) out.set(c.group.name, { ...base, check: 'blocked', error: blocked });
  }
  return out;
}

/**
 * The expected wait of launches on `provider` while they are blocked (launchesBlockedUntil in the
 * future, on the wall clock as the contract says, not the pass's clock): policy `waiting`, reason LaunchFenced (the reason the provider's own refusal carries),
 * requeued at the block's end. Undefined when nothing blocks them.
 */
function blockedError(provider: Provider | undefined, now: number): ReconcileError | undefined {
  const until = provider?.launchesBlockedUntil?.();
  if (until === undefined || until <= now) return undefined;
  return new ReconcileError(
    'waiting',
    'LaunchFenced',
    `provider ${provider!.name} refuses launches until ${new Date(until).toISOString()}`,
    { requeueAfterMs: until - now },
  );
}

async function imageErrors(
  candidates: readonly Candidate[],
  deps: LaunchCheckDeps,
  signal?: AbortSignal,
): Promise<Map<string, ReconcileError>> {
  const checks = candidates.map(async ({ group, template }): Promise<[string, ReconcileError] | undefined> => {
    const provider = template === undefined ? undefined : deps.providers.get(template.provider);
    if (template === undefined || provider === undefined) return undefined;
    try {
      await deps.images.verify(provider, { name: group.image, digest: template.imageDigest, artifact: template.artifact }, signal);
      return undefined;
    } catch (error) {
      return [group.name, fromProviderError(error, `image ${group.image}`)];
    }
  });
  return new Map((await Promise.all(checks)).filter((e) => e !== undefined));
}

/** One placement read per provider for its candidates; the first problem of each group as an error. */
async function placementErrors(
  candidates: readonly Candidate[],
  providers: ReadonlyMap<string, Provider>,
  signal?: AbortSignal,
): Promise<Map<string, ReconcileError>> {
  const refs = candidates.flatMap((c): PlacementRef[] =>
    c.template === undefined ? [] : [{ group: c.group.name, zones: c.group.zones, template: c.template }],
  );
  const byProvider = Map.groupBy(refs, (r) => r.template.provider);
  const found = await Promise.all(
    [...byProvider].map(([name, group]) => checkProviderPlacements(name, providers.get(name), group, signal)),
  );
  const out = new Map<string, ReconcileError>();
  for (const p of found.flat()) {
    if (out.has(p.group)) continue;
    const failed = isCheckFailure(p);
    out.set(p.group, new ReconcileError(failed ? 'transient' : 'stalled', failed ? 'PlacementCheckFailed' : p.reason, p.message));
  }
  return out;
}

/** `step` without the deletes `refusal` holds. */
export function withoutHeld(step: GroupStep, refusal: LaunchRefusal | undefined): GroupStep {
  if (refusal === undefined) return step;
  const held = new Set(refusal.held.map((d) => d.id));
  return { ...step, deletes: step.deletes.filter((d) => !held.has(d.id)) };
}

/** One failed result per held delete: not sent, with the check's policy and reason. */
export function heldDeleteResults(refusal: LaunchRefusal): ActionResult[] {
  return refusal.held.map((d) => ({
    kind: 'delete',
    group: d.group,
    name: d.name,
    id: d.id,
    reason: d.reason,
    error: new ReconcileError(
      refusal.error.policy,
      refusal.error.reason,
      `delete ${d.name} (${d.reason}) not sent: it makes room for launches of template ${refusal.templateHash} that would ${refusal.check === 'blocked' ? 'wait' : 'fail'}: ${refusal.error.message}`,
      requeueOf(refusal.error),
    ),
  }));
}

/** The failed result of a create of the refused template: not sent. */
export function refusedCreateResult(refusal: LaunchRefusal, action: CreateAction, name: string): ActionResult {
  return {
    kind: 'create',
    group: refusal.group,
    name,
    id: undefined,
    reason: action.reason,
    error: new ReconcileError(
      refusal.error.policy,
      refusal.error.reason,
      `create ${name} not sent: ${refusal.error.message}`,
      requeueOf(refusal.error),
    ),
  };
}

function requeueOf(error: ReconcileError): { requeueAfterMs?: number } {
  return error.requeueAfterMs === undefined ? {} : { requeueAfterMs: error.requeueAfterMs };
}
