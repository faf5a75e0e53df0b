/**
 * The shared simulator engine: clock, world and state machine, timeline, token buckets, faults,
 * long-running operations, the /_sim/ control API and the generic HTTP(S) server. Each cloud's wire
 * simulator (providers/<kind>/sim.ts) implements CloudApi on top of it.
 *
 * Recipe for a new cloud (see providers/aws/sim.ts for a complete one):
 * 1. `const engine = createEngine('gce', BUCKETS, newId, options)`: BUCKETS are the cloud's published
 *    rate limits; newId makes ids in the cloud's format; options carry factor/clock/latencies/seed.
 * 2. Implement CloudApi: `route(request)` parses the wire request into `{ action, execute }` (auth and
 *    malformed requests answer at once), `execute` spends buckets via `engine.throttler.take`, acts on
 *    `engine.world` (launch/terminate/stop/setTags/setAttributes) or starts `engine.operations`, and
 *    renders the cloud's response; `faultResponse` renders injected errors/throttling in the cloud's
 *    format; `launchOutOfBand` fills the cloud's defaults for foreign instances; optional
 *    `controlRoutes` add `/_sim/...` routes (images, templates, settings).
 * 3. `startSimServer(engine, api, { port, tls })` (tls from selfSignedCertificate() for https clouds)
 *    and return `{ url, engine, world, close }` from a `start<Cloud>Simulator(options)` function.
 * Faults (errors, throttling, hangs, delays, drop-after, boot-fail/boot-stuck), the timeline, the
 * call log, capacity and the control API then work the same for every cloud.
 */
export { ScaledClock, VirtualClock, type Cancel, type ScaledClockOptions, type SimClock } from './clock.ts';
export {
  capacityByGroup,
  firstReadyAt,
  liveAt,
  maxLiveBetween,
  minReadyBetween,
  readyAt,
  type CapacityOptions,
  type CapacitySample,
  type GroupCapacity,
} from './capacity.ts';
export { ControlError, handleControl, json } from './control.ts';
export { SimControlClient, SimControlError, type OutOfBandAction } from './control-client.ts';
export {
  CallLog,
  MAX_CALL_RECORDS,
  createEngine,
  randomHex,
  type CallRecord,
  type CloudApi,
  type ControlHandler,
  type EngineOptions,
  type SimCall,
  type SimEngine,
  type SimRequest,
  type SimResponse,
} from './engine.ts';
export {
  FaultInjector,
  parseFaultRule,
  seededRandom,
  type FaultKind,
  type FaultPhase,
  type FaultRule,
  type FaultRuleInput,
} from './faults.ts';
export { MAX_UNFENCED_RECORDS, MutationLog, type MutationInput, type MutationRecord, type MutationTotals } from './mutations.ts';
export { OperationLog, type OperationError, type OperationInput, type SimOperation } from './operations.ts';
export { startSimServer, type ListenOptions, type SimServer } from './server.ts';
export { selfSignedCertificate, type TlsPair } from './tls.ts';
export { Timeline, type SimCause, type SimState, type TimelineEvent } from './timeline.ts';
export { Throttler, TokenBucket, type BucketSpec, type Refusal, type Spend } from './token-bucket.ts';
export {
  DEFAULT_LATENCIES,
  UnknownInstanceError,
  World,
  type Latencies,
  type LaunchFate,
  type LaunchInput,
  type SimInstance,
  type StateChange,
  type WorldOptions,
} from './world.ts';
