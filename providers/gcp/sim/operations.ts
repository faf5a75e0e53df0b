/**
 * Zone operations: every insert and delete returns one, which runs for a while on the sim clock
 * (through the engine's OperationLog) and ends DONE, with `error` when its effect failed. GCE
 * answers a repeated requestId with the original operation, for at least an hour.
 * `wait` blocks like GCE's: until the operation is DONE or for at most two minutes (sim time),
 * then returns the operation as it is — clients must still loop until DONE.
 */
import type { OperationError } from '../../../src/sim/operations.ts';
import type { SimResponse } from '../../../src/sim/engine.ts';
import { newNumericId, newOperationName, regionOf, timestamp, zonalLink, type GceContext } from './context.ts';
import { jsonResponse, notFound } from './errors.ts';

/** A GCE operation error item (`error.errors[]`), with quota details when relevant. */
export interface GceOperationError extends OperationError {
  readonly errorDetails?: readonly Record<string, unknown>[];
}

/** One zone operation. */
export interface GceOperation {
  readonly name: string;
  readonly id: string;
  readonly project: string;
  readonly zone: string;
  readonly operationType: 'insert' | 'delete';
  readonly targetName: string;
  readonly targetId: string;
  readonly engineId: string;
  readonly insertTime: number;
  /** Sim time the operation is scheduled to be DONE. */
  readonly doneBy: number;
  /** Set when the operation failed (kept here: the engine only keeps code and message). */
  error?: GceOperationError;
}

/** What starting an operation takes. */
export interface StartOperation {
  readonly project: string;
  readonly zone: string;
  readonly operationType: GceOperation['operationType'];
  readonly targetName: string;
  readonly targetId: string;
  readonly durationMs: number;
  readonly requestId: string | undefined;
  /** Runs at completion; a returned error fails the operation. */
  readonly effect?: () => GceOperationError | undefined;
}

/** Every operation and remembered requestId. */
export class OperationStore {
  #ops = new Map<string, GceOperation>();
  #requests = new Map<string, { readonly name: string; readonly at: number }>();

  /** The operation a requestId already started in `project`, if still remembered. */
  byRequest(ctx: GceContext, project: string, requestId: string | undefined): GceOperation | undefined {
    if (requestId === undefined) return undefined;
    const seen = this.#requests.get(`${project}/${requestId}`);
    if (seen === undefined || ctx.engine.clock.now() - seen.at > ctx.settings.requestIdRetentionMs) return undefined;
    return this.#ops.get(seen.name);
  }

  /** Starts an operation and remembers its requestId. */
  start(ctx: GceContext, input: StartOperation): GceOperation {
    const now = ctx.engine.clock.now();
    const holder: { op?: GceOperation } = {};
    const engineOp = ctx.engine.operations.start({
      kind: input.operationType,
      targetId: input.targetId,
      durationMs: input.durationMs,
      effect: () => {
        const error = input.effect?.();
        if (error !== undefined && holder.op !== undefined) holder.op.error = error;
        return error;
      },
    });
    const op: GceOperation = {
      name: newOperationName(now),
      id: newNumericId(),
      project: input.project,
      zone: input.zone,
      operationType: input.operationType,
      targetName: input.targetName,
      targetId: input.targetId,
      engineId: engineOp.id,
      insertTime: now,
      doneBy: now + input.durationMs,
    };
    holder.op = op;
    this.#ops.set(op.name, op);
    if (input.requestId !== undefined) this.#requests.set(`${input.project}/${input.requestId}`, { name: op.name, at: now });
    return op;
  }

  get(name: string): GceOperation | undefined {
    return this.#ops.get(name);
  }

  /** Operations still running in a project's region (for the concurrent-operations quota). */
  running(ctx: GceContext, project: string, region: string): number {
    return [...this.#ops.values()].filter((op) => op.project === project && regionOf(op.zone) === region && !isDone(ctx, op)).length;
  }

  all(): GceOperation[] {
    return [...this.#ops.values()];
  }

  clear(): void {
    this.#ops = new Map();
    this.#requests = new Map();
  }
}

function isDone(ctx: GceContext, op: GceOperation): boolean {
  return ctx.engine.operations.get(op.engineId)?.status !== 'running';
}

/** GCE's longest zoneOperations.wait, sim milliseconds. */
export const MAX_WAIT_MS = 120_000;

/** How long a wait call for `name` should block: until DONE, at most MAX_WAIT_MS; 0 when unknown or done. */
export function waitDelayMs(ctx: GceContext, name: string): number {
  const op = ctx.operations.get(name);
  if (op === undefined || isDone(ctx, op)) return 0;
  return Math.max(0, Math.min(op.doneBy - ctx.engine.clock.now(), MAX_WAIT_MS)) + 1;
}

/** zoneOperations.get / zoneOperations.wait. */
export function getOperation(ctx: GceContext, project: string, zone: string, name: string): SimResponse {
  const op = ctx.operations.get(name);
  if (op === undefined || op.project !== project || op.zone !== zone)
    throw notFound(`projects/${project}/zones/${zone}/operations/${name}`);
  return jsonResponse(200, operationJson(ctx, op));
}

/** An operation as GCE renders it. */
export function operationJson(ctx: GceContext, op: GceOperation): Record<string, unknown> {
  const engineOp = ctx.engine.operations.get(op.engineId);
  const done = engineOp?.status !== 'running';
  const base: Record<string, unknown> = {
    kind: 'compute#operation',
    id: op.id,
    name: op.name,
    zone: zonalLink(op.project, op.zone, ''),
    operationType: op.operationType,
    targetLink: zonalLink(op.project, op.zone, 'instances', op.targetName),
    targetId: op.targetId,
    status: done ? 'DONE' : 'RUNNING',
    user: `drover-sim@${op.project}.iam.gserviceaccount.com`,
    progress: done ? 100 : 0,
    insertTime: timestamp(op.insertTime),
    startTime: timestamp(op.insertTime),
    selfLink: zonalLink(op.project, op.zone, 'operations', op.name),
  };
  base['zone'] = String(base['zone']).replace(/\/$/, '');
  if (!done) return base;
  base['endTime'] = timestamp(engineOp?.doneAt ?? ctx.engine.clock.now());
  if (op.error === undefined) return base;
  return {
    ...base,
    httpErrorStatusCode: op.error.code === 'QUOTA_EXCEEDED' ? 403 : 400,
    httpErrorMessage: op.error.code === 'QUOTA_EXCEEDED' ? 'FORBIDDEN' : 'BAD REQUEST',
    error: {
      errors: [
        {
          code: op.error.code,
          message: op.error.message,
          ...(op.error.errorDetails === undefined ? {} : { errorDetails: op.error.errorDetails }),
        },
      ],
    },
  };
}
