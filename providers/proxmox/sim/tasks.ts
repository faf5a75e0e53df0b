/**
 * PVE worker tasks. Every asynchronous call answers a UPID
 * (`UPID:node:PID:PSTART:STARTTIME:type:id:user:`, hex upper case); the task runs for a simulated
 * duration on the engine's operation log, then applies its effect. Status is read at
 * `GET /nodes/{node}/tasks/{upid}/status`: `running`, or `stopped` with `exitstatus` "OK",
 * "WARNINGS: n" or the error text. The node in the path must be the task's node.
 */
import type { OperationError } from '../../../src/sim/operations.ts';
import type { PveContext, PveTask } from './context.ts';
import { ok, paramError, type Params, type PveResponse } from './wire.ts';

/** What a task does. */
export interface TaskInput {
  readonly node: string;
  /** qmclone, qmstart, qmstop, qmshutdown, qmdestroy, qmconfig. */
  readonly type: string;
  /** The id part of the UPID (for qmclone: the source vmid). */
  readonly id: string;
  readonly user: string;
  readonly durationMs: number;
  /** Runs at the end; an error fails the task with its message as exitstatus. */
  readonly effect?: () => OperationError | undefined | void;
  /** What the worker prints first (qmclone: `creating a clone of VM T with ID N`). */
  readonly log?: readonly string[];
}

let pidCounter = 0x1000;

function hex8(n: number): string {
  return (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/** Starts a task; returns its UPID. */
export function startTask(ctx: PveContext, input: TaskInput): string {
  const op = ctx.engine.operations.start({
    kind: input.type,
    targetId: input.id,
    durationMs: input.durationMs,
    ...(input.effect ? { effect: input.effect } : {}),
  });
  const pid = ++pidCounter;
  const starttime = Math.floor(ctx.engine.clock.now() / 1000);
  const upid = `UPID:${input.node}:${hex8(pid)}:${hex8(pid * 7919)}:${hex8(starttime)}:${input.type}:${input.id}:${input.user}:`;
  const task: PveTask = {
    upid,
    node: input.node,
    type: input.type,
    id: input.id,
    user: input.user,
    starttime,
    pid,
    opId: op.id,
    log: input.log ?? [],
  };
  ctx.tasks.set(upid, task);
  return upid;
}

/** GET /nodes/{node}/tasks/{upid}/status */
export function taskStatus(ctx: PveContext, node: string, upid: string): PveResponse {
  if (!/^UPID:[^:]+:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:[^:]+:[^:]*:[^:]+:$/.test(upid))
    throw paramError({ upid: 'unable to parse worker upid' });
  const task = ctx.tasks.get(upid);
  if (task === undefined || task.node !== node) throw paramError({ upid: 'no such task' });
  const op = ctx.engine.operations.get(task.opId);
  const running = op === undefined ? false : op.status === 'running';
  const base = {
    upid,
    node: task.node,
    pid: task.pid,
    pstart: task.pid * 7919,
    starttime: task.starttime,
    type: task.type,
    id: task.id,
    user: task.user,
  };
  if (running) return ok({ ...base, status: 'running' });
  return ok({ ...base, status: 'stopped', exitstatus: op?.error?.message ?? 'OK' });
}

/**
 * GET /nodes/{node}/tasks[?source=archive|active|all&vmid=N&typefilter=T] — like PVE, only finished
 * tasks unless `source` says otherwise (a running clone is not in the default list); a running task
 * has `status: RUNNING`; a token's task names the user and the token apart (`user`, `tokenid`), as
 * pve-manager's Tasks.pm splits them. `vmid` matches the UPID's id (for qmclone, the template).
 */
export function listTasks(ctx: PveContext, node: string, params: Params): PveResponse {
  const source = params.get('source') ?? 'archive';
  if (!['archive', 'active', 'all'].includes(source))
    throw paramError({ source: `value '${source}' does not have a value in the enumeration 'archive, active, all'` });
  const vmid = params.get('vmid');
  const type = params.get('typefilter');
  const out: Record<string, unknown>[] = [];
  for (const task of ctx.tasks.values()) {
    if (task.node !== node || (vmid !== undefined && task.id !== vmid) || (type !== undefined && task.type !== type)) continue;
    const op = ctx.engine.operations.get(task.opId);
    const running = op?.status === 'running';
    if ((source === 'archive' && running) || (source === 'active' && !running)) continue;
    const base = {
      upid: task.upid,
      node: task.node,
      pid: task.pid,
      starttime: task.starttime,
      type: task.type,
      id: task.id,
      ...splitToken(task.user),
    };
    out.push(
      running
        ? { ...base, status: 'RUNNING' }
        : { ...base, status: op?.error?.message ?? 'OK', endtime: Math.floor((op?.doneAt ?? 0) / 1000) },
    );
  }
  return ok(out.sort((a, b) => Number(b['starttime']) - Number(a['starttime'])));
}

/** `drover@pve!fleet` → { user: drover@pve, tokenid: fleet }; a plain user stays as it is. */
function splitToken(user: string): { user: string; tokenid?: string } {
  const bang = user.indexOf('!');
  return bang < 0 ? { user } : { user: user.slice(0, bang), tokenid: user.slice(bang + 1) };
}

/** GET /nodes/{node}/tasks/{upid}/log[?start=N&limit=M] — the worker's output, `[{ n, t }]` from line 1. */
export function taskLog(ctx: PveContext, node: string, upid: string, params: Params): PveResponse {
  const task = ctx.tasks.get(upid);
  if (task === undefined || task.node !== node) throw paramError({ upid: 'no such task' });
  const op = ctx.engine.operations.get(task.opId);
  const lines = [...task.log];
  if (op !== undefined && op.status !== 'running') lines.push(op.error === undefined ? 'TASK OK' : `TASK ERROR: ${op.error.message}`);
  const start = params.int('start', 0) ?? 0;
  const limit = params.int('limit', 0) ?? 50;
  return ok(lines.slice(start, start + limit).map((t, i) => ({ n: start + i + 1, t })));
}
