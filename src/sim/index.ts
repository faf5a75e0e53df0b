/**
 * The shared simulator engine: clock, world and state machine, timeline, token buckets, faults,
 * the control API and the generic HTTP server. Each cloud's wire simulator (providers/<kind>/sim.ts)
 * implements CloudApi on top of it.
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
export { FaultInjector, parseFaultRule, seededRandom, type FaultKind, type FaultPhase, type FaultRule, type FaultRuleInput } from './faults.ts';
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
