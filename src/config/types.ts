/** The daemon configuration after validation, with durations in milliseconds and defaults applied. */
import type { ProviderCredentials } from '../contract/provider.ts';
import type { NotifyConfig } from '../notify/config.ts';
import type { ProviderType } from '../contract/fleet.ts';
import type { RefSelector } from '../source/refs.ts';
import type { SourceAuth } from '../source/git-env.ts';
import type { VerifyConfig } from '../source/verify.ts';
import type { WebhookProvider } from '../source/webhook.ts';

/** Git source settings, mapped to the source layer's own types. */
export interface GitSettings {
  readonly url: string;
  readonly ref: RefSelector;
  readonly path: string;
  readonly intervalMs: number;
  readonly auth: SourceAuth;
  readonly verify: VerifyConfig;
  /** A branch rewound to a commit not descending from the applied one: hold (the config's default with verification) or apply (unset: apply). */
  readonly onRewind?: 'hold' | 'apply';
}

/** Per-provider client-side limits. */
export interface ProviderLimits {
  readonly concurrency: number | undefined;
  readonly ratePerSecond: number | undefined;
  readonly burst: number | undefined;
}

/**
 * The operator's binding of one Provider name: the authority drover uses for it. The fleet
 * repository names the cloud scope; only this says with what credentials, at what endpoint, trusting
 * what CA.
 */
export interface ProviderBinding {
  /** The Provider type it is for (required); a document of another type under this name is refused. */
  readonly type: ProviderType;
  /** The Proxmox API URL, or an override of the cloud's endpoint. */
  readonly endpoint?: string;
  readonly caFile?: string;
  readonly insecureSkipVerify?: boolean;
  readonly listLagSeconds?: number;
  readonly credentials?: ProviderCredentials;
}

/** Limits of the daemon's HTTP server. */
export interface HttpLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxConnections: number;
  /** Names accepted in `Host` besides IP literals, localhost and the listen address (DNS rebinding). */
  readonly allowedHosts?: readonly string[];
}

/**
 * High availability (`ha`): how this replica reaches etcd and campaigns for lanes. File settings
 * are paths; their contents are read at start (ha-settings.ts), never from the fleet repository.
 */
export interface HaConfig {
  /** `ha.replicaId`; undefined: `<hostname>-<pid>-<random>` at start. */
  readonly replicaId?: string;
  /** `ha.etcd.endpoints`: http:// or https:// client URLs. */
  readonly endpoints: readonly string[];
  /** `ha.etcd.prefix` (default `/drover`). */
  readonly prefix: string;
  /** `ha.etcd.leaseTtl` in ms (default 15 s). */
  readonly leaseTtlMs: number;
  /** `ha.etcd.fenceWindow` in ms (default a fifth of the TTL). */
  readonly fenceWindowMs: number;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly username?: string;
  readonly passwordFile?: string;
}

/** Everything `drover run` needs. */
export interface DaemonConfig {
  readonly source: { readonly kind: 'git'; readonly git: GitSettings } | { readonly kind: 'dir'; readonly dir: string };
  readonly stateDir: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly resyncIntervalMs: number;
  readonly progressIntervalMs: number;
  readonly shutdownTimeoutMs: number;
  readonly api: { readonly tokenFile: string | undefined; readonly tokenEnv: string | undefined };
  readonly webhook: {
    readonly path: string;
    readonly secretEnv: string | undefined;
    readonly secretFile: string | undefined;
    readonly providers: readonly WebhookProvider[] | undefined;
    /** Largest hook body (default 1 MiB). */
    readonly maxBodyBytes?: number;
    /** Time allowed for the body after the headers (default 10 s). */
    readonly bodyTimeoutMs?: number;
    /** Largest age of a generic hook's signed timestamp (default 5 min). */
    readonly maxAgeMs?: number;
  };
  /** HTTP server limits against slow or abusive clients (defaults in src/status/http-server.ts). */
  readonly http?: HttpLimits;
  readonly limits: {
    readonly concurrency: number;
    /** Fleet-wide cap on total replicas of a revision (default 10,000); see src/desired/instance-cap.ts. */
    readonly maxInstances?: number;
    readonly providers: Readonly<Record<string, ProviderLimits>>;
  };
  /** Bindings by Provider name (`providers.<name>`). */
  readonly providers: Readonly<Record<string, ProviderBinding>>;
  /** `providers.requireBinding`: refuse every Provider without a binding (lockdown). */
  readonly requireBinding?: boolean;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** false: readiness is the provider's running state only (simulators). */
  readonly probes: boolean;
  /** health.unhealthyThresholdPercent (default 55): above it, unhealthy replacement pauses for the scope (ProbesFailing). */
  readonly unhealthyThresholdPercent?: number;
  /** V8 memory saver mode for the daemon process (see schemas/config.schema.json). */
  readonly memorySaver: boolean;
  /** `notifications:` and `commitStatus:` (src/notify/config.ts); absent: nothing is sent. */
  readonly notify?: NotifyConfig;
  /** `ha`: share the fleet with other replicas through etcd; undefined: this daemon runs every lane. */
  readonly ha?: HaConfig;
}
