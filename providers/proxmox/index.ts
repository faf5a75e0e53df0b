/**
 * Proxmox VE provider entry point, loaded lazily by providers/registry.ts (undici is the only
 * dependency; there is no Proxmox SDK).
 */
import path from 'node:path';
import type { ProxmoxProviderSpec } from '../../src/desired/types.ts';
import { ProviderError } from '../errors.ts';
import type { Provider, ProviderContext } from '../types.ts';
import { DEFAULT_TASK_TIMING, PveApi, type TaskTiming } from './api.ts';
import { PveClient } from './client.ts';
import { apiEndpoint, tlsTrust, tokenId, tokenSecret } from './credentials.ts';
import { CloneJournal } from './clone-journal.ts';
import { CloneLimiter, DEFAULT_CLONE_LIMITS, type CloneLimits } from './limiter.ts';
import { ProxmoxProvider } from './provider.ts';
import { DEFAULT_RETRY, type ProviderLogger, type RetryTuning } from './retry.ts';

export { ProxmoxProvider } from './provider.ts';
export { classifyPve, type Classified } from './classify.ts';
export { PveApiError, PveClient } from './client.ts';
export { DEFAULT_SECRET_ENV } from './credentials.ts';
export { DEFAULT_CLONE_LIMITS, type CloneLimits } from './limiter.ts';
export { TAG, digestTag, ownershipDescription, ownershipTags, templateDescription } from './ownership.ts';
export { DEFAULT_RETRY, type ProviderLogger, type RetryTuning } from './retry.ts';
export { DEFAULT_TASK_TIMING, TaskError, type TaskTiming } from './api.ts';

/** Tuning for tests and operators; production needs none of it. */
export interface ProxmoxProviderOptions {
  readonly retry?: Partial<RetryTuning>;
  readonly tasks?: Partial<TaskTiming>;
  readonly cloneLimits?: Partial<CloneLimits>;
  readonly logger?: ProviderLogger;
  /** Jitter source (tests). */
  readonly random?: () => number;
}

/**
 * Builds the provider for one Proxmox Provider document: the nodes, storage and pool from the
 * document; the API URL (`context.endpoint`), CA, token id and secret from the operator's binding;
 * `context.staticCredentials.tokenSecret` replaces the env/file secret (tests). Satisfies ProviderFactory.
 */
export async function createProxmoxProvider(context: ProviderContext, options: ProxmoxProviderOptions = {}): Promise<Provider> {
  const name = context.config.name;
  if (context.config.type !== 'proxmox') {
    throw new ProviderError({ kind: 'Invalid', reason: 'WrongProviderType', provider: name, operation: 'init', message: `provider ${name} is ${context.config.type}, not proxmox` });
  }
  const spec = context.config.spec as ProxmoxProviderSpec;
  if (spec.vmidRange !== undefined && spec.vmidRange.min > spec.vmidRange.max) {
    throw new ProviderError({ kind: 'Invalid', reason: 'VmidRangeEmpty', provider: name, operation: 'init', message: `vmidRange min ${spec.vmidRange.min} > max ${spec.vmidRange.max}` });
  }
  const trust = tlsTrust(context);
  const client = new PveClient({
    endpoint: apiEndpoint(context),
    tokenId: tokenId(context),
    tokenSecret: tokenSecret(context),
    ...(trust.caPem === undefined ? {} : { caPem: trust.caPem }),
    ...(trust.insecure === true ? { insecureSkipVerify: true } : {}),
  });
  const policy = { ...DEFAULT_RETRY, ...(context.requestTimeoutMs === undefined ? {} : { attemptTimeoutMs: context.requestTimeoutMs }), ...options.retry };
  const api = new PveApi({ client, provider: name, policy, logger: options.logger, random: options.random });
  const journal = new CloneJournal(context.stateDir === undefined ? undefined : path.join(context.stateDir, 'clones.json'));
  await journal.open();
  return new ProxmoxProvider({
    journal, tokenId: tokenId(context),
    name, fleet: context.fleet, spec, api,
    limiter: new CloneLimiter({ ...DEFAULT_CLONE_LIMITS, ...options.cloneLimits }),
    timing: { ...DEFAULT_TASK_TIMING, ...options.tasks },
    logger: options.logger,
    close: () => client.close(),
  });
}

/** The registry's entry: the factory under a uniform name. */
export const createProvider = createProxmoxProvider;
