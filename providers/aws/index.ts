/**
 * AWS EC2 provider entry point, loaded lazily by providers/registry.ts so @aws-sdk/client-ec2 is
 * imported only when a fleet uses AWS.
 */
import path from 'node:path';
import type { AwsProviderSpec } from '../../src/desired/types.ts';
import { ProviderError } from '../errors.ts';
import type { Provider, ProviderContext } from '../types.ts';
import { createEc2Client } from './client.ts';
import { LaunchLedger } from './launch-ledger.ts';
import { AwsProvider, DEFAULT_LIST_LAG_MS, type AwsProviderInit, type AwsProviderOptions } from './provider.ts';
import { DEFAULT_RETRY } from './retry.ts';

export { AwsProvider, type AwsProviderOptions } from './provider.ts';
export { classifyAws, type Classified } from './classify.ts';
export { DEFAULT_RETRY, type ProviderLogger, type RetryTuning } from './retry.ts';
export { TAG } from './tags.ts';
export { clientToken, parseClientToken } from './tokens.ts';

/**
 * Builds the provider for one AWS Provider document. `context.endpoint` points it at a simulator;
 * `context.requestTimeoutMs` is the deadline of one attempt. Satisfies ProviderFactory.
 */
export function createAwsProvider(context: ProviderContext, options: AwsProviderOptions = {}): Promise<Provider> {
  if (context.config.type !== 'aws') {
    return Promise.reject(
      new ProviderError({ kind: 'Invalid', reason: 'WrongProviderType', provider: context.config.name, operation: 'init', message: `provider ${context.config.name} is ${context.config.type}, not aws` }),
    );
  }
  const spec = context.config.spec as AwsProviderSpec;
  if (typeof spec.region !== 'string' || spec.region === '') {
    return Promise.reject(new ProviderError({ kind: 'Invalid', reason: 'RegionMissing', provider: context.config.name, operation: 'init', message: 'region is required' }));
  }
  const policy = { ...DEFAULT_RETRY, ...(context.requestTimeoutMs === undefined ? {} : { attemptTimeoutMs: context.requestTimeoutMs }), ...options.retry };
  try {
    const client = createEc2Client(context);
    const resolved = { ...options, listLagMs: options.listLagMs ?? context.listLagMs };
    return open({ name: context.config.name, fleet: context.fleet, client, policy, options: resolved }, context.stateDir);
  } catch (error) {
    return Promise.reject(error);
  }
}

async function open(init: Omit<AwsProviderInit, 'ledger'>, stateDir: string | undefined): Promise<Provider> {
  const ledger = new LaunchLedger({
    file: stateDir === undefined ? undefined : path.join(stateDir, 'launches.json'),
    lagMs: init.options.listLagMs ?? DEFAULT_LIST_LAG_MS,
    provider: init.name,
    fleet: init.fleet,
  });
  await ledger.open();
  return new AwsProvider({ ...init, ledger });
}

/** The registry's entry: the factory under a uniform name. */
export const createProvider = createAwsProvider;
