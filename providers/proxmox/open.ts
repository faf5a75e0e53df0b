/**
 * Opens the Proxmox VE provider for one Provider document. Imported only through the plugin's
 * `load` (providers/proxmox/index.ts); undici is the only dependency (there is no Proxmox SDK).
 */
import type { ProxmoxProviderSpec } from '../../src/contract/fleet.ts';
import { invalidProvider, requireType, retryPolicy } from '../opening.ts';
import type { Provider, ProviderContext } from '../../src/contract/provider.ts';
import { DEFAULT_TASK_TIMING, PveApi, type TaskTiming } from './api.ts';
import { PveClient } from './client.ts';
import { apiEndpoint, tlsTrust, tokenId, tokenSecret } from './credentials.ts';
import { CloneJournal } from './clone-journal.ts';
import { CloneLimiter, DEFAULT_CLONE_LIMITS, type CloneLimits } from './limiter.ts';
import { ProxmoxProvider } from './provider.ts';
import { DEFAULT_RETRY, type ProviderLogger, type RetryTuning } from './retry.ts';
import { providerJournal } from '../state-file.ts';

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
 * `context.staticCredentials.tokenSecret` replaces the env/file secret (tests); the clone journal
 * (clones.json) is `context.records`' under HA, else `context.stateFile`'s. Satisfies ProviderFactory.
 */
export async function createProxmoxProvider(context: ProviderContext, options: ProxmoxProviderOptions = {}): Promise<Provider> {
  requireType(context, 'proxmox');
  const spec = context.config.spec as ProxmoxProviderSpec;
  if (spec.vmidRange !== undefined && spec.vmidRange.min > spec.vmidRange.max) {
    throw invalidProvider(context, 'VmidRangeEmpty', `vmidRange min ${spec.vmidRange.min} > max ${spec.vmidRange.max}`);
  }
  const trust = tlsTrust(context);
  const client = new PveClient({
    endpoint: apiEndpoint(context),
    tokenId: tokenId(context),
    tokenSecret: tokenSecret(context),
    ...(trust.caPem === undefined ? {} : { caPem: trust.caPem }),
    ...(trust.insecure === true ? { insecureSkipVerify: true } : {}),
    fence: context.fence,
  });
  const policy = retryPolicy(DEFAULT_RETRY, context, options.retry);
  const name = context.config.name;
  const api = new PveApi({ client, provider: name, policy, logger: options.logger, random: options.random });
  const journal = new CloneJournal(providerJournal(context, 'clones.json'));
  await journal.open();
  return new ProxmoxProvider({
    journal,
    tokenId: tokenId(context),
    fence: context.fence?.token,
    keySpace: context.fence?.keySpace,
    name,
    fleet: context.fleet,
    spec,
    api,
    limiter: new CloneLimiter({ ...DEFAULT_CLONE_LIMITS, ...options.cloneLimits }),
    timing: { ...DEFAULT_TASK_TIMING, ...options.tasks },
    logger: options.logger,
    close: () => client.close(),
  });
}
