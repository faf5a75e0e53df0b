/**
 * Opens the AWS EC2 provider for one Provider document. Imported only through the plugin's `load`
 * (providers/aws/index.ts), so @aws-sdk/client-ec2 is loaded only when a fleet uses AWS.
 */
import type { AwsProviderSpec } from '../../src/contract/fleet.ts';
import { invalidProvider, requireType, retryPolicy } from '../opening.ts';
import { providerJournal } from '../state-file.ts';
import type { Provider, ProviderContext } from '../../src/contract/provider.ts';
import { createEc2Client } from './client.ts';
import { LaunchLedger } from './launch-ledger.ts';
import { AwsProvider, DEFAULT_LIST_LAG_MS, type AwsProviderOptions } from './provider.ts';
import { DEFAULT_RETRY } from './retry.ts';

/**
 * Builds the provider for one AWS Provider document. `context.endpoint` points it at a simulator;
 * `context.requestTimeoutMs` is the deadline of one attempt; the launch journal (launches.json) is
 * `context.records`' under HA, else `context.stateFile`'s. Satisfies ProviderFactory.
 */
export async function createAwsProvider(context: ProviderContext, options: AwsProviderOptions = {}): Promise<Provider> {
  requireType(context, 'aws');
  const spec = context.config.spec as AwsProviderSpec;
  if (typeof spec.region !== 'string' || spec.region === '') throw invalidProvider(context, 'RegionMissing', 'region is required');
  const client = createEc2Client(context);
  const policy = retryPolicy(DEFAULT_RETRY, context, options.retry);
  const resolved = { ...options, listLagMs: options.listLagMs ?? context.listLagMs };
  const ledger = new LaunchLedger({
    journal: providerJournal(context, 'launches.json'),
    lagMs: resolved.listLagMs ?? DEFAULT_LIST_LAG_MS,
    provider: context.config.name,
    fleet: context.fleet,
  });
  await ledger.open();
  const fence = context.fence?.token;
  const keySpace = context.fence?.keySpace;
  return new AwsProvider({ name: context.config.name, fleet: context.fleet, client, policy, options: resolved, ledger, fence, keySpace });
}
