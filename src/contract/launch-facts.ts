/**
 * Launch-relevant facts of one instance: what tamper detection compares. A provider reports them
 * for each instance it lists ({@link ObservedInstance.launch}), from the fields its listing calls
 * already return, and says what an instance launched from a template would report
 * ({@link Provider.expectedFacts}); src/plan/tamper.ts compares the two. Both sides are in one
 * vocabulary, the provider's own (the same translation its create uses), so the comparer needs no
 * knowledge of any cloud.
 *
 * Semantics: a field left undefined on either side is not compared (the cloud does not expose it,
 * or the template does not set it and the cloud's default is unknown). A field set on both sides
 * and different is a modification, reported by name only: values may be secret (user data, metadata)
 * and are never put in a condition, event or log. Secret values are never carried at all: user
 * data is reported as its digest.
 */

/** Values the cloud changes on any modification of the instance, each against the value recorded when it was created. */
export interface Seal {
  /** The value the cloud reports now. */
  readonly now: string;
  /** The value drover recorded after creating the instance; undefined: none recorded (not compared). */
  readonly recorded: string | undefined;
}

/** The facts of one instance (observed) or of a template (expected). Every field is optional: see the module comment. */
export interface LaunchFacts {
  /** AWS InstanceType, GCE machine type name, Azure vmSize. */
  readonly machineType?: string;
  /** Proxmox: vCPU cores in the VM's config (pending values applied). */
  readonly cores?: number;
  /** Proxmox: memory in MiB in the VM's config (pending values applied). */
  readonly memoryMiB?: number;
  /** The image booted from: AMI id, the GCE boot disk's source image, the Azure image reference id. */
  readonly image?: string;
  /** AWS subnet id, GCE subnetwork, Azure subnet id of the primary interface. */
  readonly subnet?: string;
  /** GCE network; Proxmox net0's bridge. */
  readonly network?: string;
  /** AWS security group ids, sorted. */
  readonly securityGroups?: readonly string[];
  /** AWS IAM instance profile name. */
  readonly instanceProfile?: string;
  /** AWS MetadataOptions in a canonical `Key=value,…` form (sorted keys). */
  readonly metadataOptions?: string;
  /**
   * The group's tags (labels) as the instance carries them. Expected: the template's tags; each of
   * them missing or different on the instance is a modification (`tags.KEY`). Tags the template
   * does not name are not compared (the cloud or other tooling may add its own).
   */
  readonly tags?: Readonly<Record<string, string>>;
  /** The digest of the user data (`sha256:` + hex, '' for none), never the text. */
  readonly userData?: string;
  /**
   * The digest of every instance metadata item the template decides (GCE: all items but drover's
   * ownership ones; an item added by hand, e.g. a startup-script, changes it), never the values.
   */
  readonly metadata?: string;
  /** Extra data disks in order, each `SIZE_GIB:TYPE` (`TYPE` empty when not known). */
  readonly disks?: readonly string[];
  /** Observed only: values the cloud changes on any modification (GCE fingerprints, Proxmox config digest, Azure timeCreated). */
  readonly seals?: Readonly<Record<string, Seal>>;
  /** Observed only: fields with a change the cloud holds pending (Proxmox): each counts as modified (`pending.FIELD`). */
  readonly pending?: readonly string[];
}
