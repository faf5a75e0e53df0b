/**
 * The control API every simulator serves under /_sim/ (JSON in, JSON out), so tests and people can
 * inspect the world and steer it from outside the reconciler:
 *
 * - GET  /_sim/world              instances (all states, including ones hidden by list lag) + extras
 * - GET  /_sim/timeline?since=N   state and tag changes after sequence N
 * - GET  /_sim/capacity[?groupTag=drover:group&fleetTag=drover:fleet&fleet=F]   per-group
 *                                  ready/live samples (see capacity.ts)
 * - GET  /_sim/clock              the simulated time and clock kind
 * - POST /_sim/clock              { advanceMs } moves a virtual clock forward (400 on a scaled clock)
 * - GET  /_sim/calls[?action=A]   recent API calls { at, action, status } (0 = hung/dropped) + counts
 * - GET  /_sim/mutating-calls?since=N   mutating calls after sequence N, fenced or not, + exact totals
 * - GET  /_sim/fenced-calls?since=N     every call that carried x-drover-fence after sequence N
 * - GET  /_sim/operations         long-running operations (clouds that have them)
 * - GET  /_sim/faults             active fault rules
 * - POST /_sim/faults             add one rule or { rules: [...] } → { ids }
 * - DELETE /_sim/faults[?id=ID]   remove one or all rules
 * - GET|POST /_sim/latencies      read / patch latencies (bootMs, terminateMs, listLagMs, …)
 * - GET|POST /_sim/throttling     read / patch { enabled, buckets: { name: { capacity, refillPerSec } } }
 * - POST /_sim/actions            out-of-band action (below)
 * - POST /_sim/reset              forget instances, timeline, faults, calls; refill buckets
 *
 * Out-of-band actions: { action: 'terminate' | 'stop' | 'start', instanceId, reason? } or
 * { action: 'tag', instanceId, tags: { key: value | null } } or { action: 'launch', name?, zone?,
 * image?, machineType?, tags? } (a foreign instance, by default untagged) or { action: 'modify',
 * instanceId, changes: { … } } (a change by hand to a running instance, in the cloud's own keys:
 * its README lists them; no API call is recorded).
 */
import { capacityByGroup } from './capacity.ts';
import { VirtualClock } from './clock.ts';
import type { CloudApi, SimEngine, SimRequest, SimResponse } from './engine.ts';
import { FaultRuleError, parseFaultRule } from './faults.ts';
import type { Latencies } from './world.ts';
import { UnknownInstanceError } from './world.ts';

/** A control request the simulator refuses (HTTP 400 / 404 with a JSON error). */
export class ControlError extends Error {
  override readonly name = 'ControlError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Handles a /_sim/ request; undefined when the path is not a control route. */
export function handleControl(request: SimRequest, engine: SimEngine, api: CloudApi): SimResponse | undefined {
  if (!request.url.pathname.startsWith('/_sim/')) return undefined;
  try {
    const body = parseBody(request.body);
    const key = `${request.method} ${request.url.pathname.replace(/\/$/, '')}`;
    const extra = api.controlRoutes?.[key];
    const result = extra !== undefined ? extra(body, request) : builtin(key, body, request, engine, api);
    return json(200, result ?? { ok: true });
  } catch (error) {
    if (error instanceof ControlError) return json(error.status, { error: error.message });
    if (error instanceof FaultRuleError) return json(400, { error: error.message });
    if (error instanceof UnknownInstanceError) return json(404, { error: error.message });
    throw error;
  }
}

/** A JSON response. */
export function json(status: number, value: unknown): SimResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}

/** What a built-in route handler gets. */
interface RouteContext {
  readonly body: unknown;
  readonly request: SimRequest;
  readonly engine: SimEngine;
  readonly api: CloudApi;
}

const param = (c: RouteContext, name: string): string | undefined => c.request.url.searchParams.get(name) ?? undefined;

const ROUTES: Readonly<Record<string, (c: RouteContext) => unknown>> = {
  'GET /_sim/world': ({ engine, api }) => ({
    cloud: engine.world.cloud,
    now: engine.clock.now(),
    instances: engine.world.all(),
    ...api.worldExtras?.(),
  }),
  'GET /_sim/timeline': (c) => ({ now: c.engine.clock.now(), events: c.engine.world.events(Number(param(c, 'since') ?? 0)) }),
  'GET /_sim/capacity': (c) => capacityJson(c.request, c.engine),
  'GET /_sim/clock': ({ engine }) => engine.clock.describe(),
  'POST /_sim/clock': ({ body, engine }) => advanceClock(body, engine),
  'GET /_sim/calls': (c) => ({ counts: c.engine.calls.counts(), calls: c.engine.calls.list(param(c, 'action')) }),
  'GET /_sim/mutating-calls': (c) => ({
    totals: c.engine.mutations.totals(),
    calls: c.engine.mutations.mutating(Number(param(c, 'since') ?? 0)),
  }),
  'GET /_sim/fenced-calls': (c) => ({ calls: c.engine.mutations.fenced(Number(param(c, 'since') ?? 0)) }),
  'GET /_sim/operations': ({ engine }) => ({ operations: engine.operations.list() }),
  'GET /_sim/faults': ({ engine }) => ({ faults: engine.faults.list() }),
  'POST /_sim/faults': ({ body, engine }) => addFaults(body, engine),
  'DELETE /_sim/faults': (c) => c.engine.faults.clear(param(c, 'id')),
  'GET /_sim/latencies': ({ engine }) => engine.world.latencies,
  'POST /_sim/latencies': ({ body, engine }) => {
    engine.world.setLatencies(numbers(body) as Partial<Latencies>);
    return engine.world.latencies;
  },
  'GET /_sim/throttling': ({ engine }) => engine.throttler.describe(),
  'POST /_sim/throttling': ({ body, engine }) => patchThrottling(body, engine),
  'POST /_sim/actions': ({ body, engine, api }) => outOfBand(body, engine, api),
  'POST /_sim/reset': ({ engine, api }) => reset(engine, api),
};

function builtin(key: string, body: unknown, request: SimRequest, engine: SimEngine, api: CloudApi): unknown {
  const route = ROUTES[key];
  if (route === undefined) throw new ControlError(404, `no control route ${key}`);
  return route({ body, request, engine, api });
}

function reset(engine: SimEngine, api: CloudApi): void {
  engine.world.reset();
  engine.faults.clear();
  engine.calls.clear();
  engine.mutations.clear();
  engine.operations.clear();
  engine.throttler.reset();
  api.reset?.();
}

function capacityJson(request: SimRequest, engine: SimEngine): unknown {
  const query = request.url.searchParams;
  const fleet = query.get('fleet') ?? undefined;
  const groups = capacityByGroup(engine.world.events(), {
    groupTag: query.get('groupTag') ?? 'drover:group',
    ...(fleet === undefined ? {} : { fleet, fleetTag: query.get('fleetTag') ?? 'drover:fleet' }),
  });
  return { now: engine.clock.now(), groups: Object.fromEntries(groups) };
}

function advanceClock(body: unknown, engine: SimEngine): unknown {
  const ms = isRecord(body) ? body['advanceMs'] : undefined;
  if (typeof ms !== 'number' || ms < 0) throw new ControlError(400, 'expected { advanceMs: number ≥ 0 }');
  if (!(engine.clock instanceof VirtualClock)) throw new ControlError(400, 'only a virtual clock can be advanced');
  engine.clock.advance(ms);
  return engine.clock.describe();
}

function addFaults(body: unknown, engine: SimEngine): unknown {
  const list = isRecord(body) && Array.isArray(body['rules']) ? body['rules'] : [body];
  const rules = list.map(parseFaultRule);
  return { ids: rules.map((r) => engine.faults.add(r).id) };
}

function patchThrottling(body: unknown, engine: SimEngine): unknown {
  if (!isRecord(body)) throw new ControlError(400, 'expected a JSON object');
  if (typeof body['enabled'] === 'boolean') engine.throttler.enabled = body['enabled'];
  if (isRecord(body['buckets'])) engine.throttler.configure(body['buckets'] as never);
  return engine.throttler.describe();
}

function outOfBand(body: unknown, engine: SimEngine, api: CloudApi): unknown {
  if (!isRecord(body) || typeof body['action'] !== 'string') throw new ControlError(400, 'expected { action, … }');
  const id = typeof body['instanceId'] === 'string' ? body['instanceId'] : '';
  const reason = typeof body['reason'] === 'string' ? body['reason'] : 'Client.UserInitiatedShutdown';
  const { world } = engine;
  switch (body['action']) {
    case 'terminate':
      return world.terminate(id, 'out-of-band', reason).instance;
    case 'stop':
      return world.stop(id, 'out-of-band', reason).instance;
    case 'start':
      return world.start(id, 'out-of-band').instance;
    case 'tag':
      return world.setTags(id, isRecord(body['tags']) ? (body['tags'] as Record<string, string | null>) : {}, 'out-of-band');
    case 'launch':
      return api.launchOutOfBand(body);
    case 'modify':
      if (api.modifyOutOfBand === undefined) throw new ControlError(400, 'this simulator has no modify action');
      if (!isRecord(body['changes'])) throw new ControlError(400, 'expected { action: modify, instanceId, changes: { … } }');
      return api.modifyOutOfBand(id, body['changes']);
    default:
      throw new ControlError(400, `unknown action ${String(body['action'])}`);
  }
}

function parseBody(body: string): unknown {
  if (body.trim() === '') return undefined;
  try {
    return JSON.parse(body);
  } catch {
    throw new ControlError(400, 'body is not JSON');
  }
}

function numbers(body: unknown): Record<string, number> {
  if (!isRecord(body)) throw new ControlError(400, 'expected a JSON object');
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(body)) {
    if (typeof v !== 'number' || v < 0) throw new ControlError(400, `${k} must be a number ≥ 0`);
    out[k] = v;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
