/**
 * DescribeInstances (filters, MaxResults/NextToken pagination, terminated instances visible for a
 * while, new ones hidden during list lag), TerminateInstances and CreateTags.
 */
import { createHash } from 'node:crypto';
import type { SimResponse } from '../../../src/sim/engine.ts';
import type { SimInstance } from '../../../src/sim/world.ts';
import { isEc2Id, type Ec2Context } from './context.ts';
import { filterMatches, readFilters, type Filter, type QueryParams } from './query.ts';
import { ec2State, reservationsXml } from './render.ts';
import { validateTags } from './run-instances.ts';
import { Ec2SimError, okResponse } from './xml.ts';

type Extractor = (instance: SimInstance) => readonly string[];

const attr =
  (key: string): Extractor =>
  (i) => {
    const value = i.attributes[key];
    return typeof value === 'string' && value !== '' ? [value] : [];
  };

const FILTERS: Readonly<Record<string, Extractor>> = {
  'instance-id': (i) => [i.id],
  'instance-state-name': (i) => [ec2State(i.state).name],
  'instance-state-code': (i) => [String(ec2State(i.state).code)],
  'tag-key': (i) => Object.keys(i.tags),
  'tag-value': (i) => Object.values(i.tags),
  'client-token': attr('clientToken'),
  'availability-zone': (i) => [i.zone],
  'image-id': (i) => [i.image],
  'instance-type': (i) => [i.machineType],
  'subnet-id': attr('subnetId'),
  'reservation-id': attr('reservationId'),
  'private-ip-address': (i) => (i.address === undefined ? [] : [i.address]),
};

function extractor(name: string): Extractor {
  if (name.startsWith('tag:')) {
    const key = name.slice(4);
    return (i) => {
      const value = i.tags[key];
      return value === undefined ? [] : [value];
    };
  }
  const found = FILTERS[name];
  if (found === undefined) throw new Ec2SimError('InvalidParameterValue', `The filter '${name}' is invalid`);
  return found;
}

function matchesAll(instance: SimInstance, filters: readonly { filter: Filter; extract: Extractor }[]): boolean {
  return filters.every(({ filter, extract }) => {
    const values = extract(instance);
    return filter.values.some((p) => values.some((v) => filterMatches(p, v)));
  });
}

/** Instances that id-addressed calls can see: not vanished and not hidden by list lag (EC2 is eventually consistent here too). */
function visibleById(ctx: Ec2Context, ids: readonly string[]): SimInstance[] {
  for (const id of ids) {
    if (!isEc2Id('i', id)) throw new Ec2SimError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
  }
  const visible = new Map(ctx.engine.world.list().map((i) => [i.id, i]));
  const missing = ids.filter((id) => !visible.has(id));
  if (missing.length === 1) throw new Ec2SimError('InvalidInstanceID.NotFound', `The instance ID '${missing[0]}' does not exist`);
  if (missing.length > 1) throw new Ec2SimError('InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`);
  return ids.map((id) => visible.get(id)).filter((i): i is SimInstance => i !== undefined);
}

/** Whether DescribeInstances is the expensive unfiltered, unpaginated kind (its own smaller bucket). */
export function isUnboundedDescribe(params: QueryParams): boolean {
  return params.structs('Filter').length === 0 && params.get('MaxResults') === undefined && params.list('InstanceId').length === 0;
}

/** DescribeInstances. */
export function describeInstances(ctx: Ec2Context, params: QueryParams): SimResponse {
  params.allowOnly(['Action', 'Version', 'MaxResults', 'NextToken', 'DryRun'], ['InstanceId', 'Filter']);
  const ids = params.list('InstanceId');
  const maxResults = params.int('MaxResults');
  if (maxResults !== undefined && ids.length > 0) {
    throw new Ec2SimError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
  }
  if (maxResults !== undefined && (maxResults < 5 || maxResults > 1000)) {
    throw new Ec2SimError(
      'InvalidParameterValue',
      `Value ( ${maxResults} ) for parameter maxResults is invalid. Parameter must be between 5 and 1000.`,
    );
  }
  const filters = readFilters(params).map((filter) => ({ filter, extract: extractor(filter.name) }));
  const scope = ids.length > 0 ? visibleById(ctx, ids) : ctx.engine.world.list();
  const matching = scope.filter((i) => matchesAll(i, filters)).sort(byLaunch);
  const cursorKey = createHash('sha256')
    .update(params.canonical(new Set(['Action', 'Version', 'MaxResults', 'NextToken'])))
    .digest('hex')
    .slice(0, 16);
  const after = readCursor(params.get('NextToken'), cursorKey);
  const remaining = after === undefined ? matching : matching.filter((i) => byLaunch(i, after) > 0);
  const page = maxResults === undefined ? remaining : remaining.slice(0, maxResults);
  const last = page.at(-1);
  const more = last !== undefined && remaining.length > page.length;
  return okResponse('DescribeInstances', {
    reservationSet: reservationsXml(page, ctx.region, ctx.ownerId),
    nextToken: more ? writeCursor(last, cursorKey) : undefined,
  });
}

interface Cursor {
  readonly createdAt: number;
  readonly id: string;
}

function byLaunch(a: Cursor, b: Cursor): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function writeCursor(instance: SimInstance, key: string): string {
  return Buffer.from(JSON.stringify({ c: instance.createdAt, i: instance.id, k: key })).toString('base64url');
}

function readCursor(token: string | undefined, key: string): Cursor | undefined {
  if (token === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { c?: unknown; i?: unknown; k?: unknown };
    if (typeof parsed.c === 'number' && typeof parsed.i === 'string' && parsed.k === key) return { createdAt: parsed.c, id: parsed.i };
  } catch {
    // falls through to the error below
  }
  throw new Ec2SimError('InvalidParameterValue', `The value ${token} for parameter NextToken is invalid`);
}

/** TerminateInstances: every id must be visible; dead ones report terminated → terminated. */
export function terminateInstances(ctx: Ec2Context, params: QueryParams): SimResponse {
  params.allowOnly(['Action', 'Version', 'DryRun', 'Force', 'SkipOsShutdown'], ['InstanceId']);
  const ids = params.list('InstanceId');
  if (ids.length === 0) throw new Ec2SimError('MissingParameter', 'The request must contain the parameter InstanceId');
  const instances = visibleById(ctx, ids);
  if (params.bool('DryRun') === true)
    throw new Ec2SimError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
  const changes = instances.map((i) => ctx.engine.world.terminate(i.id, 'api'));
  return okResponse('TerminateInstances', {
    instancesSet: changes.map((c) => ({
      instanceId: c.instance.id,
      currentState: ec2State(c.instance.state),
      previousState: ec2State(c.previous),
    })),
  });
}

/** CreateTags on instances and images. */
export function createTags(ctx: Ec2Context, params: QueryParams): SimResponse {
  params.allowOnly(['Action', 'Version', 'DryRun'], ['ResourceId', 'Tag']);
  const resources = params.list('ResourceId');
  if (resources.length === 0) throw new Ec2SimError('MissingParameter', 'The request must contain the parameter ResourceId');
  const tags = params.tags('Tag');
  validateTags(tags);
  const instanceIds = resources.filter((r) => r.startsWith('i-'));
  visibleById(ctx, instanceIds);
  for (const id of resources.filter((r) => !r.startsWith('i-'))) {
    if (ctx.images.get(id) === undefined) throw new Ec2SimError('InvalidID', `The ID '${id}' is not valid`);
  }
  for (const id of instanceIds) ctx.engine.world.setTags(id, tags, 'api');
  for (const id of resources.filter((r) => r.startsWith('ami-'))) ctx.images.tag(id, tags);
  return okResponse('CreateTags', { return: true });
}
