/**
 * instances.get / list / aggregatedList / delete. Lists honour `filter`, `maxResults` (≤ 500,
 * default 500) and opaque `pageToken`s bound to their filter; they see the world through its
 * list lag (eventual consistency), while get is consistent. Names are unique per zone; get and
 * delete accept the name or the numeric id.
 */
import type { SimResponse } from '../../../src/sim/engine.ts';
import type { SimInstance } from '../../../src/sim/world.ts';
import { isVisible, projectOf, timestamp, type GceContext } from './context.ts';
import { invalidField, jsonResponse, notFound } from './errors.ts';
import { matchesFilter, parseFilter } from './filter.ts';
import { operationJson } from './operations.ts';
import { fieldOf, instanceJson } from './render.ts';
import { validateRequestId } from './validate.ts';

const MAX_RESULTS = 500;

/** A visible instance by name or id in a project's zone, or undefined. */
export function findInstance(ctx: GceContext, project: string, zone: string, nameOrId: string): SimInstance | undefined {
  return ctx.engine.world
    .all()
    .find((i) => isVisible(i) && i.zone === zone && projectOf(ctx, i) === project && (i.name === nameOrId || i.id === nameOrId));
}

/** instances.get. */
export function getInstance(ctx: GceContext, project: string, zone: string, name: string): SimResponse {
  const instance = findInstance(ctx, project, zone, name);
  if (instance === undefined) throw notFound(`projects/${project}/zones/${zone}/instances/${name}`);
  return jsonResponse(200, instanceJson(ctx, instance));
}

/** instances.list in one zone. */
export function listInstances(ctx: GceContext, project: string, zone: string, query: URLSearchParams): SimResponse {
  const page = paginate(ctx, query, (i) => i.zone === zone && projectOf(ctx, i) === project);
  return jsonResponse(200, {
    kind: 'compute#instanceList',
    id: `projects/${project}/zones/${zone}/instances`,
    items: page.items.map((i) => instanceJson(ctx, i)),
    ...(page.next === undefined ? {} : { nextPageToken: page.next }),
    selfLink: `https://www.googleapis.com/compute/v1/projects/${project}/zones/${zone}/instances`,
  });
}

/** instances.aggregatedList: every zone of the project, `zones/Z` → instances or a NO_RESULTS_ON_PAGE (or UNREACHABLE) warning. */
export function aggregatedListInstances(ctx: GceContext, project: string, query: URLSearchParams): SimResponse {
  const page = paginate(ctx, query, (i) => projectOf(ctx, i) === project && !ctx.settings.unreachableZones.includes(i.zone));
  const items: Record<string, unknown> = {};
  for (const zone of ctx.zones) {
    if (ctx.settings.unreachableZones.includes(zone)) {
      items[`zones/${zone}`] = {
        warning: {
          code: 'UNREACHABLE',
          message: `Scope 'zones/${zone}' is unreachable.`,
          data: [{ key: 'scope', value: `zones/${zone}` }],
        },
      };
      continue;
    }
    const inZone = page.items.filter((i) => i.zone === zone);
    items[`zones/${zone}`] =
      inZone.length > 0
        ? { instances: inZone.map((i) => instanceJson(ctx, i)) }
        : {
            warning: {
              code: 'NO_RESULTS_ON_PAGE',
              message: "There are no results for scope 'zones/" + zone + "' on this page.",
              data: [{ key: 'scope', value: `zones/${zone}` }],
            },
          };
  }
  return jsonResponse(200, {
    kind: 'compute#instanceAggregatedList',
    id: `projects/${project}/aggregated/instances`,
    items,
    ...(page.next === undefined ? {} : { nextPageToken: page.next }),
    selfLink: `https://www.googleapis.com/compute/v1/projects/${project}/aggregated/instances`,
  });
}

/** instances.delete: STOPPING now, gone when the operation is DONE; a repeated requestId replays. */
export function deleteInstance(ctx: GceContext, project: string, zone: string, name: string, rawRequestId: string | null): SimResponse {
  const requestId = validateRequestId(rawRequestId);
  const replay = ctx.operations.byRequest(ctx, project, requestId);
  if (replay !== undefined) return jsonResponse(200, operationJson(ctx, replay));
  const instance = findInstance(ctx, project, zone, name);
  if (instance === undefined) throw notFound(`projects/${project}/zones/${zone}/instances/${name}`);
  const { world } = ctx.engine;
  const remaining =
    instance.state === 'terminating'
      ? Math.max(0, instance.stateChangedAt + world.latencies.terminateMs - ctx.engine.clock.now())
      : world.latencies.terminateMs;
  world.terminate(instance.id, 'api', 'Client.UserInitiatedShutdown');
  const op = ctx.operations.start(ctx, {
    project,
    zone,
    operationType: 'delete',
    targetName: instance.name,
    targetId: instance.id,
    durationMs: remaining,
    requestId,
  });
  return jsonResponse(200, operationJson(ctx, op));
}

interface Page {
  readonly items: SimInstance[];
  readonly next: string | undefined;
}

function paginate(ctx: GceContext, query: URLSearchParams, scope: (i: SimInstance) => boolean): Page {
  const filter = query.get('filter');
  const comparisons = parseFilter(filter);
  const maxResults = parseMaxResults(query.get('maxResults'));
  const offset = parsePageToken(query.get('pageToken'), filter ?? '');
  const all = ctx.engine.world
    .list()
    .filter((i) => isVisible(i) && scope(i) && matchesFilter(i, comparisons, (inst, field) => fieldOf(ctx, inst, field)))
    .sort((a, b) => a.zone.localeCompare(b.zone) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  const items = all.slice(offset, offset + maxResults);
  const end = offset + items.length;
  return { items, next: end < all.length ? pageToken(end, filter ?? '', ctx.engine.clock.now()) : undefined };
}

function parseMaxResults(raw: string | null): number {
  if (raw === null || raw === '') return MAX_RESULTS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw invalidField('maxResults', raw, 'Must be a non-negative integer.');
  if (n > MAX_RESULTS) throw invalidField('maxResults', raw, `Must be less than or equal to ${MAX_RESULTS}`);
  return n === 0 ? MAX_RESULTS : n;
}

function pageToken(offset: number, filter: string, now: number): string {
  return Buffer.from(JSON.stringify({ o: offset, f: filter, t: timestamp(now) })).toString('base64url');
}

function parsePageToken(raw: string | null, filter: string): number {
  if (raw === null || raw === '') return 0;
  try {
    const token = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { o?: unknown; f?: unknown };
    if (typeof token.o === 'number' && Number.isInteger(token.o) && token.o >= 0 && token.f === filter) return token.o;
  } catch {
    // fall through
  }
  throw invalidField('pageToken', raw, 'Invalid page token.');
}
