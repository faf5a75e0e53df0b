/**
 * The AWS list path: one paginated DescribeInstances of the fleet's live instances, plus locked
 * stand-ins for launches the launch ledger holds that EC2 does not list yet (launch-ledger.ts).
 */
import { DescribeInstancesCommand, type Filter, type Instance } from '@aws-sdk/client-ec2';
import type { CallOptions, ListScope, ObservedInstance } from '../../src/contract/provider.ts';
import type { Ec2Calls } from './calls.ts';
import type { LaunchLedger } from './launch-ledger.ts';
import { isDead, TAG, tagsOf, toObserved } from './tags.ts';
import type { GenerationBook } from './tokens.ts';

/** EC2 states list() asks for: all but `terminated` (see {@link listInstances}). */
const LISTED_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'] as const;

/** EC2 accepts at most this many values in one filter. */
export const MAX_FILTER_VALUES = 200;

/** What a list reads and updates of the provider's state. */
export interface ListContext {
  readonly provider: string;
  readonly fleet: string;
  readonly calls: Ec2Calls;
  readonly ledger: LaunchLedger;
  /** Learns from every listed instance which token generations are dead (tokens.ts). */
  readonly generations: GenerationBook;
  /** DescribeInstances page size. */
  readonly pageSize: number;
}

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

/**
 * One paginated DescribeInstances filtered by the fleet tag (and the group tag for a scope with
 * up to 200 groups) and every state but `terminated`, then the ledger's stand-ins.
 * EC2 keeps reporting terminated instances for about an hour; listing them would page the whole
 * previous generation of a fleet on every pass for that hour (19 pages instead of 10 after a
 * 10,000-instance rollout) while the planner ignores them. Shutting-down ones are listed (as
 * terminated) and teach the token scheme which generations are dead; a slot whose instance is
 * already terminated costs one more RunInstances when it is refilled (tokens.ts).
 */
export async function listInstances(ctx: ListContext, scope: ListScope, options: CallOptions): Promise<ObservedInstance[]> {
  const out: ObservedInstance[] = [];
  const seen = new Map<string, Set<number>>();
  let nextToken: string | undefined;
  do {
    const input = { Filters: listFilters(scope), MaxResults: ctx.pageSize, NextToken: nextToken };
    const page = await ctx.calls.call('list', options, (signal) =>
      ctx.calls.client.send(new DescribeInstancesCommand(input), { abortSignal: signal }),
    );
    for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
      ctx.generations.observe(instance.ClientToken, isDead(instance));
      if (ctx.ledger.tracks(instance.ClientToken)) noteSeen(seen, instance);
      const observed = toObserved(instance, ctx.provider, scope.fleet);
      if (observed !== undefined) out.push(observed);
    }
    const previous = nextToken;
    nextToken = page.NextToken === '' ? undefined : page.NextToken;
    if (nextToken !== undefined && nextToken === previous)
      throw ctx.calls.error('list', 'Transient', 'PaginationLoop', 'DescribeInstances returned the same NextToken twice');
  } while (nextToken !== undefined);
  const groups = scope.groups === undefined || scope.groups.length === 0 ? undefined : new Set(scope.groups);
  if (groups === undefined) ctx.ledger.inventoried(out.length);
  return [...out, ...(await launchesNotListed(ctx, seen, groups, options))];
}

/** Stand-ins for launches EC2 does not list yet; one unlisted past the list lag is looked up by its ClientToken. */
async function launchesNotListed(
  ctx: ListContext,
  seen: Map<string, Set<number>>,
  groups: ReadonlySet<string> | undefined,
  options: CallOptions,
): Promise<ObservedInstance[]> {
  const first = ctx.ledger.reconcile(seen, groups);
  if (first.stale.length === 0) return first.standIns;
  for (const record of first.stale) {
    const instances = await ctx.calls.instancesOfToken(record.token, { signal: options.signal }, 'list');
    if (instances.length === 0) ctx.ledger.forget(record.token);
    // Dead ones settle their slots, and so do ones whose fleet tag was removed out of band (no
    // longer drover's: their slots are refilled); live ones stay stand-ins (now with ids) until listed.
    for (const instance of instances) if (isDead(instance) || tagsOf(instance)[TAG.fleet] !== ctx.fleet) noteSeen(seen, instance);
    if (instances.length > 0) ctx.ledger.answered(record.token, idsByLaunchIndex(instances, record.slots.length));
  }
  return ctx.ledger.reconcile(seen, groups).standIns;
}

/** Instance ids by AmiLaunchIndex ('' where none). */
export function idsByLaunchIndex(instances: readonly Instance[], count: number): string[] {
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
