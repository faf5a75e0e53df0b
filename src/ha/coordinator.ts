/**
 * What the daemon asks of high availability: which provider lanes this replica runs, with what
 * fence, and what every other replica is doing. Implemented on etcd (etcd-coordinator.ts); the
 * daemon sees only this interface, so its unit tests use an in-memory one.
 *
 * Keys under `<prefix>/` (one prefix per fleet; `fleet` = the fleet id the prefix belongs to): `replicas/<id>` (membership, on the replica's lease),
 * `lanes/<provider>` (the campaign key: value = holder identity, on the holder's lease; its create
 * revision is the fencing token), `summaries/<provider>` (the lane's last published summary,
 * no lease, overwritten by each holder), `suspensions/<group>` (a group suspended through the API
 * on any replica, no lease: it outlives replicas), `records/<provider>/<name>` (the lane's journals and
 * templates, written only by its holder), `trigger` (a reconcile request forwarded to every replica).
 */
import type { MutationFence } from '../contract/fence.ts';
import type { ProviderRecords } from '../contract/records.ts';

/** One lane this replica holds now. */
export interface LaneHold {
  /** The Provider document name the lane runs. */
  readonly lane: string;
  /** The fencing token (the campaign key's create revision, decimal). */
  readonly token: string;
  /** When this replica took the lane, epoch ms. */
  readonly since: number;
  /** Gate every mutating call of the lane's provider through it (ProviderContext.fence). */
  readonly fence: MutationFence;
  /**
   * The lane's provider records (journals) shared through etcd, writable by this hold only
   * (ProviderContext.records; shared-records.ts). Undefined: the provider keeps its state files.
   */
  readonly records?: ProviderRecords;
}

/** What the daemon does when the coordinator hands it a lane or takes one back. */
export interface LaneHost {
  /** This replica now holds `hold.lane`: start its lane (its provider opened with `hold.fence`). */
  acquired(hold: LaneHold): void;
  /**
   * Stop the lane and resolve once its calls in flight have finished. Called when the hold was
   * lost (the fence refuses every call already) and before a resign (the key is deleted only after
   * this resolves, so the next holder never overlaps this one's last calls).
   */
  stopLane(lane: string): Promise<void>;
}

/** A lane as every replica sees it. */
export interface LaneView {
  readonly lane: string;
  /** Its holder now; undefined while nobody holds it. */
  readonly holder?: { readonly replica: string; readonly token: string; readonly since: string };
  /** The holder's last published summary (from whichever replica held it last). */
  readonly summary?: PublishedSummary;
}

/** A lane's summary as published: small (a few KiB at most), never a secret. */
export interface PublishedSummary {
  readonly replica: string;
  readonly token: string;
  /** ISO time of publication. */
  readonly publishedAt: string;
  /** The daemon's own shape (revision, groups' conditions and counts …). */
  readonly data: Readonly<Record<string, unknown>>;
}

/** A group suspended through the API (the value of its `suspensions/<group>` key). */
export interface ApiSuspension {
  /** The replica that got the API call ('' when the value is not drover's). */
  readonly by: string;
  /** ISO time of the call. */
  readonly at: string;
}

/** The replica's standing towards etcd, for /readyz and status. */
export interface CoordinatorHealth {
  /** Connected with a live lease: it holds its lanes or stands by. */
  readonly ok: boolean;
  /** Why not, for a person (`etcd unreachable since …`). */
  readonly reason: string;
}

/** The replicas' coordination, one per daemon. start() once, stop() once. */
export interface LaneCoordinator {
  /** This replica's identity (config `ha.replicaId`, default `<hostname>-<pid>-<random>`). */
  readonly replica: string;
  /**
   * Registers the replica and begins campaigning for its share of the lanes (see setLanes).
   * Resolves once connected, or after about two etcd call timeouts when etcd does not answer (it
   * keeps connecting in the background; health() says why it is not ready meanwhile).
   */
  start(host: LaneHost): Promise<void>;
  /**
   * The fleet's lanes now (Provider names of the current revision). The replica campaigns for a
   * free lane while it holds fewer than its fair share (ceil(lanes / live replicas)) and resigns
   * what it holds above that share, one lane at a time, so lanes spread without flapping.
   */
  setLanes(lanes: readonly string[]): void;
  /**
   * The fleet id of the current revision. When it differs from the one recorded under the prefix
   * (the `fleet` key), the replica resigns every lane and campaigns for none; health() says why.
   */
  setFleet(fleet: string): void;
  /** The lanes this replica holds now. */
  holds(): ReadonlyMap<string, LaneHold>;
  /** Every lane of the fleet with its holder and last summary, as of the last watch event. */
  view(): LaneView[];
  /**
   * Publishes the lane's summary; ignored (false) unless this replica holds the lane (checked by
   * etcd against the hold's token). Rejects with HaError 'SummaryTooLarge' over 16 KiB of JSON,
   * or 'EtcdUnreachable'.
   */
  publish(lane: string, data: Readonly<Record<string, unknown>>): Promise<boolean>;
  /**
   * Asks every replica (this one too) to reconcile now: a webhook or API call landed here. When
   * etcd cannot be reached, this replica's listeners are still called and the promise rejects with
   * HaError 'EtcdUnreachable' (the others were not told).
   */
  trigger(reason: string): Promise<void>;
  /** Called on every replica when some replica forwarded a trigger. */
  onTrigger(listener: (reason: string) => void): void;
  /**
   * Suspends (creates `suspensions/<group>` = `{suspended, by, at}` unless it exists) or resumes
   * (deletes it) a group for every replica; the lane's holder applies it at its next pass. Resolves
   * once etcd has it; rejects with HaError 'EtcdUnreachable' when etcd could not be written (or
   * 'NotRunning' before start), and then nothing changed.
   */
  setSuspended(group: string, suspended: boolean): Promise<void>;
  /** The groups suspended through the API, as of the last watch event or periodic read. */
  suspensions(): ReadonlyMap<string, ApiSuspension>;
  /**
   * Called with the suspended groups once they are first read from etcd (even when none), then
   * whenever they changed (a watch event or the periodic read saw it).
   */
  onSuspensions(listener: (groups: ReadonlyMap<string, ApiSuspension>) => void): void;
  health(): CoordinatorHealth;
  /**
   * Why this replica's source settings differ from another live replica's (each publishes a hash
   * of its source with its membership: HaSettings.source), or undefined when they agree: replicas
   * with another branch, tag, commit or path would each run their lanes at their own revision.
   */
  sourceConflict?(): string | undefined;
  /**
   * ISO time of etcd's last answer to the periodic read, i.e. how current view() is (undefined
   * before the first): cut off from etcd, the view is frozen and status must say so.
   */
  viewAsOf(): string | undefined;
  /**
   * Resigns every lane (host.stopLane first, then the key is deleted so another replica takes it
   * within about a second), revokes the lease and closes the client.
   */
  stop(): Promise<void>;
}

/**
 * How a replica reaches etcd and campaigns: the operator's `ha` configuration with its files
 * already read (src/config maps it; TLS material and the password never come from Git).
 */
export interface HaSettings {
  /** etcd client URLs (`http://` or `https://`). */
  readonly endpoints: readonly string[];
  /** Key prefix, default `/drover`: every key of the fleet is under it; one prefix per fleet. */
  readonly prefix: string;
  /** The fleet id of the first revision (later ones through setFleet); checked against `<prefix>/fleet`. */
  readonly fleet: string;
  /** This replica's identity. */
  readonly replicaId: string;
  /** Lease TTL of every campaign key, ms (default 15 s, as controller-runtime). */
  readonly leaseTtlMs: number;
  /**
   * How long a confirmation of the hold (and an acknowledged keep-alive) stays good for mutating
   * calls, ms (default a fifth of the TTL): a replica cut off from etcd stops mutating within it.
   * Must be under half the TTL; keep-alives are sent every third of it.
   */
  readonly fenceWindowMs: number;
  /** TLS: the CA that signs etcd's certificate, and a client certificate and key (PEM). */
  readonly tls?: { readonly caPem: string; readonly certPem?: string; readonly keyPem?: string };
  /** etcd user and password (the password read from a file, named in errors by `passwordFile`, never shown). */
  readonly auth?: { readonly username: string; readonly password: string; readonly passwordFile?: string };
  /** A hash of the replica's source settings (Git URL, ref, path), published with its membership; undefined: not compared. */
  readonly source?: string;
}
