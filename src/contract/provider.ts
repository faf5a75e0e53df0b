/**
 * The provider contract: the only way drover touches a cloud. There is deliberately no update
 * method: drover converges by creating new instances and deleting old ones, never by patching one.
 */
import type { Artifact, LaunchTemplate, ProviderConfig, ProviderType } from './fleet.ts';
import type { ProviderErrorKind } from './errors.ts';
import type { MutationFence } from './fence.ts';
import type { ProviderRecords } from './records.ts';
import type { LaunchFacts } from './launch-facts.ts';

export type { ProviderErrorKind };

/**
 * Lifecycle state as drover sees it, mapped from each cloud's own states. `terminating`: the cloud
 * accepted a delete but the instance is not gone yet (EC2 shutting-down, a VM being deleted); it is
 * never acted on again but still counts against the group's surge (it still runs, bills and counts
 * against quota) until it is gone.
 */
export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'terminating' | 'terminated' | 'unknown';

/**
 * Ownership metadata drover stamps on every instance it creates (EC2 tags, GCE labels + metadata,
 * Azure tags, Proxmox tags + description). An instance without the fleet id is invisible to drover.
 */
export interface Ownership {
  readonly fleet: string;
  readonly group: string;
  readonly templateHash: string;
  /** Full image digest (`sha256:` + 64 hex); providers whose labels cannot hold it keep it elsewhere. */
  readonly imageDigest: string;
  /** Git revision that launched the instance. */
  readonly revision: string;
  /** Slot number within (group, templateHash); drives the deterministic name and idempotency key. */
  readonly slot: number;
}

/**
 * One instance of this fleet as the provider reports it. Ownership fields other than the fleet id
 * may be missing when someone edited the metadata out of band: the planner treats such an instance
 * as drift (unknown template) and replaces it.
 */
export interface ObservedInstance {
  /** Provider-native id: i-…, GCE instance id, Azure resource id, `node/vmid` for Proxmox. */
  readonly id: string;
  /** Deterministic name drover gave it (see naming.ts). */
  readonly name: string;
  /** Provider document name. */
  readonly provider: string;
  readonly zone: string;
  readonly state: InstanceState;
  /** Launch time, epoch milliseconds. */
  readonly createdAt: number;
  /** Private address for health probes, when known. */
  readonly address: string | undefined;
  readonly fleet: string;
  readonly group: string | undefined;
  readonly templateHash: string | undefined;
  readonly imageDigest: string | undefined;
  readonly revision: string | undefined;
  readonly slot: number | undefined;
  /**
   * The HA key space its launch was sent under (MutationFence.keySpace, recorded next to the
   * fencing token), when the cloud's record carries one; undefined for launches without HA.
   */
  readonly keySpace?: string;
  /** Provider reports an operation in progress that must finish first (e.g. Proxmox `lock: clone`). */
  readonly locked?: boolean;
  /**
   * Only in what create() returns: true when the slot's instance already existed (an idempotent
   * replay, e.g. a GCE requestId or name answered by an earlier insert while the list lagged), so
   * this call launched nothing and is not counted as a create.
   */
  readonly replayed?: boolean;
  /**
   * The launch-relevant facts the cloud reports for this instance (launch-facts.ts), from what the
   * listing already returns; undefined: the provider reports none (nothing is compared).
   */
  readonly launch?: LaunchFacts;
}

/** What to list: every instance of one fleet in the provider's scope. */
export interface ListScope {
  readonly fleet: string;
  /**
   * Only these groups are needed (a focused pass right after a new revision). A provider that can
   * filter by group on the server does, to answer in fewer pages; any other may return the whole
   * fleet — callers filter what they get.
   */
  readonly groups?: readonly string[];
}

/** One instance to launch. Built by the executor from a planner step. */
export interface CreateRequest {
  /** Deterministic name: the same (group, templateHash, slot) always gives the same name. */
  readonly name: string;
  /**
   * Base idempotency key, deterministic per (fleet, group, templateHash, slot). The same key never
   * yields two live instances. Providers whose tokens outlive the instance (EC2 ClientToken) derive
   * per-generation tokens from it so a slot whose instance died can be launched again.
   */
  readonly idempotencyKey: string;
  readonly owner: Ownership;
  readonly zone: string;
  readonly template: LaunchTemplate;
}

/** An image to verify before anything is launched from it. */
export interface ImageRef {
  readonly name: string;
  readonly digest: string;
  readonly artifact: Artifact;
}

/** A group's placement, for a provider to check against the cloud ({@link Provider.checkPlacement}). */
export interface PlacementRef {
  readonly group: string;
  readonly zones: readonly string[];
  readonly template: LaunchTemplate;
}

/** A placement the cloud would refuse, found by reading it (never by trying a launch). */
export interface PlacementProblem {
  readonly group: string;
  /** Machine-readable: SubnetNotFound, SubnetZoneMismatch. */
  readonly reason: string;
  /** Names the subnet, the zones and the fix; never a credential. */
  readonly message: string;
}

/** Per-call options. */
export interface CallOptions {
  /** Aborts the call; providers pass it to the SDK / fetch so a hung request cannot stall a pass. */
  readonly signal?: AbortSignal;
  /**
   * The caller's client-side rate limit for this kind of call. A provider that retries a call
   * inside one invocation waits on it before each retry and reports throttling to it, so its
   * retries count against the same budget as first attempts instead of bypassing it. AWS and GCE
   * use it; Azure and Proxmox ignore it (one operation there is several different API calls, which
   * the cloud meters apart).
   */
  readonly pacer?: CallPacer;
  /**
   * Abandons the call if it fires while the call still waits for the caller's own queue or rate
   * limit (drover's limited provider rejects it with CallAbandoned, nothing sent). Unlike `signal`,
   * a call already sent runs to its end. Providers themselves send at once and may ignore it.
   */
  readonly abandonUnsent?: AbortSignal;
}

/** A client-side rate limit shared with a provider's inner retries (see {@link CallOptions.pacer}). */
export interface CallPacer {
  /** Resolves when the next attempt may be sent (rejects when `signal` aborts). */
  beforeRetry(signal?: AbortSignal): Promise<void>;
  /** The cloud refused a call as throttled: its bucket is empty, so the client-side one should be too. */
  throttled(): void;
}

/** A cloud scope (AWS region, GCP project, Azure resource group, Proxmox cluster) drover can act in. */
export interface Provider {
  readonly name: string;
  readonly type: ProviderType;
  /**
   * Most groups list() narrows to on the server (ListScope.groups), so listing a few groups costs a
   * page or two rather than the whole fleet's; undefined: it cannot. The daemon runs a focused pass
   * only when the changed groups fit.
   */
  readonly groupFilterLimit?: number;
  /**
   * Every instance of this fleet in the provider's scope, including stopped ones, in as few paginated
   * calls as the API allows (never one call per group). Instances being deleted or already deleted
   * may be returned as `terminated` (the planner ignores them); a provider may leave out the ones
   * that are gone for good when listing them costs calls (EC2 does).
   */
  list(scope: ListScope, options?: CallOptions): Promise<ObservedInstance[]>;
  /**
   * Launches one instance carrying `request.owner` from the first moment (tags at launch, never a
   * second call). Idempotent: repeating a request whose response was lost returns the instance the
   * first attempt created. Resolves once the cloud has accepted the instance (it may still be pending).
   */
  create(request: CreateRequest, options?: CallOptions): Promise<ObservedInstance>;
  /**
   * Most requests {@link createBatch} takes at once; undefined when the provider has no batched
   * launch (callers then use create() per instance).
   */
  readonly maxBatchSize?: number;
  /**
   * Launches instances of ONE group, template, revision and zone in as few cloud calls as the API
   * allows (EC2: one RunInstances), where the cloud meters launch calls more tightly than instances.
   * Every guarantee of create() holds per request — ownership at launch, at most one live instance
   * per slot however often it is repeated, crashes included — and one outcome is returned per request,
   * in order. A batch whose answer was lost is reported by list() as pending, locked instances in its
   * slots until the cloud lists it or says it never launched, so nobody plans those slots again.
   */
  createBatch?(requests: readonly CreateRequest[], options?: CallOptions): Promise<PromiseSettledResult<ObservedInstance>[]>;
  /**
   * Deletes the instance and what was created with it (NIC, disks). Idempotent: an instance that is
   * already gone is success. A rejected promise means the instance may still exist. Refuses instances
   * that do not carry this fleet's id.
   */
  destroy(instance: ObservedInstance, options?: CallOptions): Promise<void>;
  /**
   * Confirms the artifact exists and carries `image.digest`. Rejects with a ProviderError of kind
   * 'Invalid' (reason ImageDigestMismatch / ImageNotFound) before any instance is launched from it.
   */
  verifyImage(image: ImageRef, options?: CallOptions): Promise<void>;
  /**
   * Checks what `validate` cannot know about the groups' placement from the cloud's own records
   * (AWS: each subnet's zone, from one DescribeSubnets). Read-only; `drover plan` reports the
   * problems. Rejects only when the cloud cannot be asked. Undefined: nothing to check.
   */
  checkPlacement?(groups: readonly PlacementRef[], options?: CallOptions): Promise<PlacementProblem[]>;
  /**
   * Until when this provider's launches are known to be refused (epoch ms on the wall clock,
   * `Date.now()`), or undefined when nothing is known to block them: the time a create refused now
   * (a `waiting` ProviderError) would say to retry at. A read of the provider's own state, no cloud
   * call. While it is in the future the pass holds the deletes that only make room for launches
   * (src/reconcile/launch-check.ts) and looks again then. The block may end sooner, never later than
   * a create's refusal says: AWS returns the launch fence's end after a lost launch journal
   * (LaunchFenced; a full list of an empty fleet lifts it early), Proxmox the next look while a
   * clone nothing places still copies (CloneInFlight). Undefined method: no such block is known.
   */
  launchesBlockedUntil?(): number | undefined;
  /**
   * Deletes leftovers of interrupted creates that this provider can recognise as its own (Azure:
   * this fleet's NICs attached to no VM), bounded per call. Called once by every executing pass
   * after its actions, never by `plan`. Best-effort: never rejects for a leftover it could not delete.
   */
  sweep?(options?: CallOptions): Promise<void>;
  /**
   * What `instance`, launched from `template`, reports as its {@link ObservedInstance.launch} facts
   * while nobody changed it, in the same vocabulary (the translation create uses): its zone, and its
   * own ownership values where create filled them in (userData variables). Pure, no cloud call.
   * Undefined method: the provider reports no facts, so no tamper detection.
   */
  expectedFacts?(template: LaunchTemplate, instance: ObservedInstance): LaunchFacts;
  /** Maps any error this provider's SDK or transport throws to a kind that carries a retry policy. */
  classify(error: unknown): ProviderErrorKind;
  /** Releases sockets and timers. */
  close(): Promise<void>;
}

/**
 * Credentials of one Provider, from the operator's binding (`providers.<name>.credentials` in the
 * daemon config), never from the fleet repository. Only the fields of the provider's type are set.
 */
export interface ProviderCredentials {
  /** AWS: named profile from the shared config files. */
  readonly profile?: string;
  /** AWS: only the AWS_* environment variables. */
  readonly fromEnv?: boolean;
  /** GCP: service-account key file (outside the state directory and any checkout). */
  readonly keyFile?: string;
  /** GCP: the operator opted in to key files of type external_account. */
  readonly allowExternalAccount?: boolean;
  /** Azure: tenant and client id DefaultAzureCredential is pinned to. */
  readonly tenantId?: string;
  readonly clientId?: string;
  /** Proxmox: API token id, and where its secret is read from. */
  readonly tokenId?: string;
  readonly secretEnv?: string;
  readonly secretFile?: string;
}

/**
 * The credential fields that name a file (a key or a secret read at run time). Every check of
 * credential files reads this list: the config's trusted-path checks (src/config/file-checks.ts),
 * opening a provider (src/reconcile/provider-bindings.ts) and the fleet's secret scan, which lets
 * these names through as references (src/desired/secrets.ts). A new file field is added here.
 */
export const CREDENTIAL_FILE_FIELDS = ['keyFile', 'secretFile'] as const satisfies readonly (keyof ProviderCredentials)[];

/**
 * Everything a provider factory needs. The cloud scope comes from the Provider document (Git); the
 * authority (endpoint, TLS trust, credentials) only from the operator's binding.
 */
export interface ProviderContext {
  readonly config: ProviderConfig;
  readonly fleet: string;
  /** Base URL: the Proxmox API, or an override of the cloud's endpoint (e.g. a `drover sim` address). */
  readonly endpoint?: string;
  /** PEM CA for https simulators or private clouds. */
  readonly caPem?: string;
  /** Lab only: accept any TLS certificate (Proxmox); the caller has logged the warning. */
  readonly insecureSkipVerify?: boolean;
  /** The operator's credentials for this provider; undefined: the cloud's ambient chain. */
  readonly credentials?: ProviderCredentials;
  /** Deadline for one cloud call, milliseconds. */
  readonly requestTimeoutMs?: number;
  /**
   * The path of the provider's private record `name` (a plain file name) in drover's state
   * directory, kept across restarts (0600 in a 0700 directory: see providers/state-file.ts);
   * undefined for callers that keep none (`drover plan` writes nothing). AWS keeps its launch
   * journal there, Proxmox its clone journal. The layout is src/reconcile/state-dir.ts's.
   */
  readonly stateFile?: (name: string) => string;
  /**
   * The provider's private records shared by the replicas of a fleet (HA, src/ha): set for a held
   * lane, written by its holder only (a stale holder's write is refused with FenceLost). When set,
   * a provider keeps its records (AWS launch journal, Proxmox clone journal) there INSTEAD of
   * `stateFile`, so the next holder of the lane reads what the previous one had in flight; a
   * replica's own local file is never read then. Undefined: a lone daemon, records in `stateFile`.
   */
  readonly records?: ProviderRecords;
  /**
   * How long a new instance may take to appear in the cloud's list (EC2 is eventually consistent);
   * default 5 minutes. Providers that rely on it say so.
   */
  readonly listLagMs?: number;
  /** Test/rehearsal credentials; production leaves this unset and uses the cloud's own chain. */
  readonly staticCredentials?: Readonly<Record<string, string>>;
  /**
   * The lane holder's fence when replicas share the fleet (src/ha): every mutating request is
   * preceded by `fence.check()` (each attempt of a retried one), carries the token in the
   * `x-drover-fence` header, and every launch records the token. Undefined: a lone daemon, no fence.
   */
  readonly fence?: MutationFence;
}

/** Builds a provider. Loaded lazily so an unused cloud's SDK is never imported. */
export type ProviderFactory = (context: ProviderContext) => Promise<Provider>;
