/**
 * The EC2 calls every path of the AWS provider shares: one call with drover's retry (retry.ts), its
 * errors, and the lookup of a ClientToken's instances.
 */
import { DescribeInstancesCommand, type EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { ProviderError, type ProviderErrorKind } from '../../src/contract/errors.ts';
import type { CallOptions } from '../../src/contract/provider.ts';
import { callWithRetry, type CallContext, type ProviderLogger, type RetryTuning } from './retry.ts';

/** What the calls need: the provider's name, its client and retry policy, and the logger and jitter of its options. */
export interface Ec2CallsInit {
  readonly provider: string;
  readonly client: EC2Client;
  readonly policy: RetryTuning;
  readonly logger?: ProviderLogger | undefined;
  readonly random?: (() => number) | undefined;
}

/** EC2 calls of one provider, retried and classified; errors named after the provider. */
export class Ec2Calls {
  readonly #init: Ec2CallsInit;

  constructor(init: Ec2CallsInit) {
    this.#init = init;
  }

  /** The provider's EC2 client (for the commands each path sends through {@link call}). */
  get client(): EC2Client {
    return this.#init.client;
  }

  /** Runs `fn` with retries under the caller's signal and pacer; rejects with a classified ProviderError. */
  call<T>(operation: string, options: CallOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ctx: CallContext = {
      provider: this.#init.provider,
      policy: this.#init.policy,
      signal: options.signal,
      pacer: options.pacer,
      logger: this.#init.logger,
      random: this.#init.random,
    };
    return callWithRetry(operation, ctx, fn);
  }

  /** A ProviderError of this provider for `operation`. */
  error(operation: string, kind: ProviderErrorKind, reason: string, message: string, cause?: unknown): ProviderError {
    return new ProviderError({ kind, reason, provider: this.#init.provider, operation, message, cause });
  }

  /** Every instance EC2 shows for a ClientToken, in any state (terminated ones too, for about an hour). */
  async instancesOfToken(token: string, options: CallOptions, operation: string): Promise<Instance[]> {
    const input = { Filters: [{ Name: 'client-token', Values: [token] }] };
    const out = await this.call(operation, options, (signal) =>
      this.#init.client.send(new DescribeInstancesCommand(input), { abortSignal: signal }),
    );
    return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
  }
}
