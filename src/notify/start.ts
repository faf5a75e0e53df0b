/**
 * Builds the daemon's notification hub from its configuration: reads the secrets (files or
 * environment), registers the counters in the daemon's registry, and starts a worker per sink and
 * one for the forge. Throws {@link NotifySecretError} (naming the field, never the value) when a
 * secret cannot be read: nothing starts with a sink it cannot use.
 */
import path from 'node:path';
import type { Registry } from 'prom-client';
import type { NotifyConfig } from './config.ts';
import type { NotifyLog } from './delivery.ts';
import { CommitStatusReporter } from './forge/commit-status.ts';
import type { CommitStatusSettings, ReporterMemory } from './forge/commit-status.ts';
import { NotifyHub } from './hub.ts';
import type { HubMemory } from './hub.ts';
import { NotifyCounters } from './metrics.ts';
import { Notifier } from './notifier.ts';
import { JsonFileMemory } from './persist.ts';
import type { SinkSettings } from './notifier.ts';
import { resolveCommitStatus, resolveSinks } from './secrets.ts';

export { NotifySecretError } from './secrets.ts';

/** Builds the hub on the daemon's registry; `speaksForFleet`: see HubDeps.speaksForFleet (HA). */
export type HubBuilder = (registry: Registry, speaksForFleet?: () => boolean) => NotifyHub;

/**
 * Reads `config`'s secrets now (so a missing one stops the start) and returns what builds the hub
 * once the daemon's registry exists; a hub with nothing configured when both sections are empty.
 * `memoryDir` (the state directory's `notify/`): where the posted commit states and the statuses
 * told survive a restart; none: a restart posts and tells again.
 */
export async function prepareNotifyHub(
  config: NotifyConfig,
  env: NodeJS.ProcessEnv,
  log: NotifyLog,
  memoryDir?: string,
): Promise<HubBuilder> {
  const sinks = await resolveSinks(config, env);
  const forge = await resolveCommitStatus(config, env);
  return (registry, speaksForFleet) => buildHub(sinks, forge, log, registry, speaksForFleet, memoryDir);
}

/** {@link prepareNotifyHub} and the build at once (tests). */
export async function startNotifyHub(config: NotifyConfig, env: NodeJS.ProcessEnv, log: NotifyLog, registry: Registry): Promise<NotifyHub> {
  return (await prepareNotifyHub(config, env, log))(registry);
}

function buildHub(
  sinks: SinkSettings[],
  forge: CommitStatusSettings | undefined,
  log: NotifyLog,
  registry: Registry,
  speaksForFleet: (() => boolean) | undefined,
  memoryDir: string | undefined,
): NotifyHub {
  const memory = <T>(file: string) => (memoryDir === undefined ? {} : { memory: new JsonFileMemory<T>(path.join(memoryDir, file), log) });
  if (sinks.length === 0 && forge === undefined) return new NotifyHub({});
  const metrics = new NotifyCounters(
    registry,
    sinks.map((s) => s.name),
    forge?.target.forge,
  );
  return new NotifyHub({
    ...(sinks.length > 0 ? { notifier: new Notifier(sinks, { log, metrics }) } : {}),
    ...(forge ? { commitStatus: new CommitStatusReporter(forge, { log, metrics, ...memory<ReporterMemory>('commit-status.json') }) } : {}),
    ...(speaksForFleet ? { speaksForFleet } : {}),
    ...memory<HubMemory>('events.json'),
  });
}
