/** Small hand-made passes and states for the daemon units' tests (fleet view, pass reporter). */
import type { DesiredState } from '../../src/contract/fleet.ts';
import type { DeleteAction, GroupStep } from '../../src/plan/types.ts';
import type { ObservedInstance } from '../../src/contract/provider.ts';
import type { PassResult } from '../../src/reconcile/pass.ts';

/** A desired state with these Provider names (and nothing else the units read). */
export function stateWith(...providers: string[]): DesiredState {
  return {
    fleet: { id: 'unit' },
    providers: Object.fromEntries(providers.map((name) => [name, { name, type: 'aws', spec: { type: 'aws', region: 'eu-west-1' } }])),
    groups: {},
  } as unknown as DesiredState;
}

/** A running instance of `provider`. */
export function running(provider: string, id: string, locked = false): ObservedInstance {
  return {
    id,
    name: id,
    provider,
    zone: 'z',
    state: 'running',
    createdAt: 0,
    address: undefined,
    ...(locked ? { locked: true } : {}),
  } as unknown as ObservedInstance;
}

/** A group step: settled (Ready) unless `unsettled`, with `deletes` counted by the deletion guard. */
export function step(group: string, provider: string, options: { unsettled?: boolean; deletes?: number } = {}): GroupStep {
  const ready = options.unsettled === true ? 'False' : 'True';
  const deletes: DeleteAction[] = Array.from({ length: options.deletes ?? 0 }, (_, i) => ({
    id: `${group}-d${i}`,
    name: `${group}-d${i}`,
    group,
    zone: 'z',
    templateHash: 'h',
    reason: 'unhealthy',
    ready: true,
  }));
  return {
    group,
    provider,
    creates: [],
    deletes,
    waits: [],
    requeueAfterSeconds: undefined,
    failedTemplate: undefined,
    status: {
      group,
      replicas: 1,
      desiredTemplateHash: 'h',
      targetTemplateHash: 'h',
      strategy: 'rolling',
      counts: {} as GroupStep['status']['counts'],
      conditions: [
        { type: 'Ready', status: ready, reason: 'r', message: 'm' },
        { type: 'Progressing', status: 'False', reason: 'r', message: 'm' },
      ],
    },
  } as unknown as GroupStep;
}

/** A pass of `provider` at `revision` that listed `instances` and planned `steps`. */
export function passOf(
  provider: string,
  revision: string,
  instances: readonly ObservedInstance[],
  steps: readonly GroupStep[],
  extra: Partial<PassResult> = {},
): PassResult {
  return {
    revision,
    startedAt: 1000,
    finishedAt: 1100,
    executed: true,
    observations: [{ provider, ok: true, instances }],
    guarded: { steps, orphans: { deletes: [] }, refusals: [] } as unknown as PassResult['guarded'],
    skipped: [],
    actions: [],
    requeueAfterSeconds: undefined,
    superseded: false,
    ...extra,
  };
}
