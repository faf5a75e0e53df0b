/* Generated from schemas/*.schema.json by fixtures/generate-schema-types.ts: do not edit. */

/**
 * Any document of a drover fleet repository.
 */
export type FleetDocument = Fleet | Provider | Image | VmGroup;

/**
 * Exactly one per repository. Its name is the fleet id stamped on every instance drover creates; drover only ever deletes instances that carry it.
 */
export interface Fleet {
  /**
   * Version of the drover fleet format. Only drover/v1 exists.
   */
  apiVersion: 'drover/v1';
  kind: 'Fleet';
  metadata: Metadata;
  spec?: FleetSpec;
}
/**
 * Identifies the document.
 */
export interface Metadata {
  /**
   * A DNS-label-like name: lowercase letters, digits and '-', starting with a letter, at most 40 characters (it becomes part of instance names in every cloud).
   */
  name: string;
  /**
   * Free text for humans.
   */
  description?: string;
}
/**
 * Fleet-wide safety settings.
 */
export interface FleetSpec {
  /**
   * Delete instances of this fleet whose group no longer exists in Git (orphans). Off by default: orphans are only reported.
   */
  prune?: boolean;
  deletionGuard?: DeletionGuard;
}
/**
 * Refuses passes that would delete a whole group, or too much of the fleet, unless Git explicitly allows it (protects against a vanished file or a renamed group).
 */
export interface DeletionGuard {
  /**
   * Largest share of the fleet's ready instances one pass may delete for any reason other than an explicit replicas decrease.
   */
  maxDeletePercent?: number;
  /**
   * Groups whose instances may all be deleted (the group was removed from Git on purpose). '*' is not accepted: name each group.
   *
   * Items: A DNS-label-like name: lowercase letters, digits and '-', starting with a letter, at most 40 characters (it becomes part of instance names in every cloud).
   */
  allowGroupDeletion?: string[];
  /**
   * Lift the maxDeletePercent limit for as long as this is true. Set it for one change, then remove it.
   */
  allowMassDeletion?: boolean;
}
/**
 * One cloud scope (an AWS region, a GCP project, an Azure resource group, a Proxmox cluster's nodes): where in the cloud the fleet lives, never with what authority. Credentials, endpoints and TLS settings belong to the operator: providers.<name> in the daemon config (see README, Security model); drover validate refuses them here.
 */
export interface Provider {
  /**
   * Version of the drover fleet format. Only drover/v1 exists.
   */
  apiVersion: 'drover/v1';
  kind: 'Provider';
  metadata: Metadata;
  /**
   * Cloud-specific settings, chosen by 'type' (aws, gcp, azure or proxmox).
   */
  spec: AwsProviderSpec | GcpProviderSpec | AzureProviderSpec | ProxmoxProviderSpec;
}
export interface AwsProviderSpec {
  type: 'aws';
  /**
   * AWS region, e.g. eu-west-1.
   */
  region: string;
}
export interface GcpProviderSpec {
  type: 'gcp';
  /**
   * GCP project id.
   */
  project: string;
}
export interface AzureProviderSpec {
  type: 'azure';
  /**
   * Azure subscription id.
   */
  subscriptionId: string;
  /**
   * Resource group that holds the fleet's VMs and NICs: 1-90 letters, digits, _ - . ( ), not ending in '.' (Azure's rule; '.' and '..' would change the API path).
   */
  resourceGroup: string;
  /**
   * Azure region, e.g. westeurope.
   */
  location: string;
}
export interface ProxmoxProviderSpec {
  type: 'proxmox';
  /**
   * Cluster nodes drover may place VMs on.
   *
   * @minItems 1
   */
  nodes: [string, ...string[]];
  /**
   * Target storage for full clones (default: the template's).
   */
  storage?: string;
  /**
   * Resource pool new VMs join: letters, digits, _ . -, starting with a letter or digit.
   */
  pool?: string;
  /**
   * VMIDs drover may allocate from (default: whatever /cluster/nextid offers).
   */
  vmidRange?: {
    min: number;
    max: number;
  };
}
/**
 * One build of a machine image: its digest (identity) and its artifact in each provider. Changing the digest rolls every group that uses the image.
 */
export interface Image {
  /**
   * Version of the drover fleet format. Only drover/v1 exists.
   */
  apiVersion: 'drover/v1';
  kind: 'Image';
  metadata: Metadata;
  spec: {
    /**
     * Content digest of an image build: 'sha256:' followed by 64 lowercase hex digits.
     */
    digest: string;
    /**
     * Artifact per Provider name. Each artifact is verified to carry this digest before any instance is launched from it.
     */
    artifacts: {
      [k: string]: Artifact;
    };
  };
}
/**
 * Either 'id' (AMI id, GCE image path, Azure image resource id) or 'template' (Proxmox template VMID).
 */
export interface Artifact {
  /**
   * Cloud image id: ami-…, projects/P/global/images/NAME, or an Azure image/gallery version resource id.
   */
  id?: string;
  /**
   * Proxmox VMID of the template to clone.
   */
  template?: number;
}
/**
 * A set of identical VMs in one provider. drover converges it by creating and deleting instances, never by modifying one.
 */
export interface VmGroup {
  /**
   * Version of the drover fleet format. Only drover/v1 exists.
   */
  apiVersion: 'drover/v1';
  kind: 'VmGroup';
  metadata: Metadata;
  spec: GroupSpec;
}
export interface GroupSpec {
  /**
   * A DNS-label-like name: lowercase letters, digits and '-', starting with a letter, at most 40 characters (it becomes part of instance names in every cloud).
   */
  provider: string;
  /**
   * A DNS-label-like name: lowercase letters, digits and '-', starting with a letter, at most 40 characters (it becomes part of instance names in every cloud).
   */
  image: string;
  /**
   * Desired number of running instances (0 to 1000). Changing it scales without replacing instances.
   */
  replicas: number;
  /**
   * Observe and report, but never create or delete.
   */
  suspend?: boolean;
  machine?: Machine;
  placement?: Placement;
  /**
   * cloud-init user data (at most 16 KiB, EC2's limit). Launch-relevant: changing its text replaces instances. drover fills ${drover.fleet}, ${drover.group}, ${drover.slot}, ${drover.zone}, ${drover.revision}, ${drover.imageDigest}, ${drover.templateHash} and ${drover.name} per instance at launch ($${drover.…} is the literal text; any other ${drover.…} is refused; nothing else is touched). Never a credential: instances get theirs from the cloud's identity. Proxmox: 'snippet: STORAGE:snippets/FILE'.
   */
  userData?: string;
  /**
   * Extra data disks.
   *
   * @maxItems 16
   */
  disks?:
    | []
    | [Disk]
    | [Disk, Disk]
    | [Disk, Disk, Disk]
    | [Disk, Disk, Disk, Disk]
    | [Disk, Disk, Disk, Disk, Disk]
    | [Disk, Disk, Disk, Disk, Disk, Disk]
    | [Disk, Disk, Disk, Disk, Disk, Disk, Disk]
    | [Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk]
    | [Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk]
    | [Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk]
    | [Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk]
    | [Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk]
    | [Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk]
    | [Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk]
    | [Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk]
    | [Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk, Disk];
  /**
   * Extra instance tags/labels (launch-relevant). Keys starting with 'drover' are reserved.
   */
  tags?: {
    [k: string]: string;
  };
  health?: Health;
  rollout?: Rollout;
  drift?: Drift;
}
/**
 * Size of each instance.
 */
export interface Machine {
  /**
   * Instance/machine type (t3.small, e2-standard-2, Standard_B2s). Required for aws, gcp and azure.
   */
  type?: string;
  /**
   * Proxmox: vCPU cores (default: the template's).
   */
  cores?: number;
  /**
   * Proxmox: memory in MiB (default: the template's).
   */
  memoryMiB?: number;
}
/**
 * Where instances go. New instances are spread evenly over zones (or Proxmox nodes).
 */
export interface Placement {
  /**
   * Availability zones (aws/gcp/azure: '1','2','3'). Proxmox: node names.
   *
   * @minItems 1
   * @maxItems 16
   */
  zones?:
    | [string]
    | [string, string]
    | [string, string, string]
    | [string, string, string, string]
    | [string, string, string, string, string]
    | [string, string, string, string, string, string]
    | [string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string, string, string, string, string]
    | [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string
      ]
    | [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string
      ]
    | [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string
      ];
  /**
   * Subnet id (aws, with exactly one zone: an AWS subnet lives in one availability zone; several zones use 'subnets'), subnetwork path (gcp, in the zones' region) or subnet resource id (azure).
   */
  subnet?: string;
  /**
   * aws: one subnet per availability zone, e.g. { eu-west-1a: subnet-…, eu-west-1b: subnet-… } (AWS subnets are zonal). 'zones' defaults to its keys; when both are given they must name the same zones. Part of the template hash: changing a zone's subnet (or adding a zone with its subnet) rolls the group.
   */
  subnets?: {
    [k: string]: string;
  };
  /**
   * aws: security group ids.
   *
   * @maxItems 5
   */
  securityGroups?:
    | []
    | [string]
    | [string, string]
    | [string, string, string]
    | [string, string, string, string]
    | [string, string, string, string, string];
  /**
   * aws: the IAM instance profile (name) each instance runs as; its role's credentials reach the instance through IMDSv2, so no key reaches Git or the image. drover's own identity needs iam:PassRole on the role. Launch-relevant: changing it rolls the group.
   */
  instanceProfile?: string;
  /**
   * gcp: network path; proxmox: bridge (e.g. vmbr0). Letters, digits and _ . / : - only (no ',' or '=': on Proxmox they would add options to net0).
   */
  network?: string;
  /**
   * proxmox: cloud-init ipconfig0 (default ip=dhcp).
   */
  ipConfig?: string;
  /**
   * proxmox: cloud-init user.
   */
  sshUser?: string;
  /**
   * proxmox/gcp: public SSH keys (public keys only).
   *
   * @maxItems 32
   */
  sshKeys?: string[];
  /**
   * gcp: the service account each instance runs as, by email: NAME@PROJECT.iam.gserviceaccount.com (or the default compute account PROJECT_NUMBER-compute@developer.gserviceaccount.com). The instance gets its tokens from the metadata server, so no key reaches Git or the image. drover's own identity needs iam.serviceAccounts.actAs on it (roles/iam.serviceAccountUser). Launch-relevant: changing it rolls the group.
   */
  serviceAccount?: string;
  /**
   * gcp: OAuth scopes of 'serviceAccount' (default [cloud-platform]: Google recommends granting through the account's IAM roles instead of scopes). Aliases and URLs are the same scope in the template hash.
   *
   * @minItems 1
   * @maxItems 32
   *
   * Items: an OAuth scope URL (https://www.googleapis.com/auth/…) or one of gcloud's aliases: bigquery, cloud-platform, cloud-source-repos, cloud-source-repos-ro, compute-ro, compute-rw, datastore, logging-write, monitoring, monitoring-read, monitoring-write, pubsub, service-control, service-management, sql-admin, storage-full, storage-ro, storage-rw, taskqueue, trace, userinfo-email
   */
  scopes?: [string, ...string[]];
  /**
   * azure: user-assigned managed identities attached to each VM (identity.type UserAssigned); the VM gets its tokens from IMDS, so no secret reaches Git or the image. drover's own identity needs Managed Identity Operator on them. Launch-relevant: changing the set rolls the group.
   *
   * @minItems 1
   * @maxItems 16
   *
   * Items: a user-assigned managed identity's resource id: /subscriptions/SUBSCRIPTION_ID/resourceGroups/GROUP/providers/Microsoft.ManagedIdentity/userAssignedIdentities/NAME
   */
  managedIdentities?:
    | [string]
    | [string, string]
    | [string, string, string]
    | [string, string, string, string]
    | [string, string, string, string, string]
    | [string, string, string, string, string, string]
    | [string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string, string, string, string, string]
    | [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string
      ]
    | [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string
      ]
    | [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string
      ];
}
export interface Disk {
  sizeGiB: number;
  /**
   * Volume type (gp3, pd-balanced, Premium_LRS, Proxmox storage).
   */
  type?: string;
}
/**
 * When an instance counts as ready. Without http or tcp, 'running' in the provider is enough.
 */
export interface Health {
  http?: {
    port: number;
    path?: string;
    scheme?: 'http' | 'https';
  };
  tcp?: {
    port: number;
  };
  /**
   * A running instance that is not healthy after this long (or unhealthy this long after being ready) is replaced. Counted from drover's first observation of the instance, never from before drover started.
   */
  gracePeriodSeconds?: number;
  /**
   * Consecutive failed probes, at least periodSeconds apart, before an instance counts as failing (a ready instance stays ready until then), like a Kubernetes probe's failureThreshold.
   */
  failureThreshold?: number;
  /**
   * Least time between two probes that count toward failureThreshold; drover probes at least this often while an instance fails.
   */
  periodSeconds?: number;
}
/**
 * How a template change rolls through the group.
 */
export interface Rollout {
  /**
   * rolling: replace in batches; blue-green: full new set, then cut over; canary: a few first, then rolling.
   */
  strategy?: 'rolling' | 'blue-green' | 'canary';
  /**
   * Instances allowed above replicas during a rollout (percent rounds up).
   */
  maxSurge?: number | string;
  /**
   * Ready instances allowed below replicas during a rollout (percent rounds down). Not both zero with maxSurge.
   */
  maxUnavailable?: number | string;
  /**
   * A new instance must be ready this long before an old one is deleted.
   */
  minReadySeconds?: number;
  /**
   * New instances not ready within this time fail the rollout.
   */
  progressDeadlineSeconds?: number;
  /**
   * On failure, delete the new instances and keep/restore the old set; the failed template is not retried until Git changes.
   */
  autoRollback?: boolean;
  /**
   * rolling: wait between batches.
   */
  pauseBetweenBatchesSeconds?: number;
  /**
   * blue-green: keep the old set this long after cut-over (instant rollback window).
   */
  keepOldSeconds?: number;
  /**
   * canary: how many new instances first, and when to go on.
   */
  canary?: {
    /**
     * Canary instances (percent of replicas, rounded up, at least 1).
     */
    count: number | string;
    /**
     * Names the rollout to continue past its canaries: the image digest being promoted (promote: sha256:<64 hex>, the Image's spec.digest; every rollout to that build) or the group's 12-hex template hash (that template only; drover plan and status show it). true/false are refused: a flag left in Git would let the next digest skip its canary. A new digest stops at its canaries until promote names it.
     */
    promote?: string;
    /**
     * Promote automatically after the canaries have been ready this long.
     */
    bakeSeconds?: number;
  };
}
/**
 * What drover does about instances that drift from their template out of band.
 */
export interface Drift {
  /**
   * An instance whose launch-relevant facts (machine type, image, network, tags, metadata, Proxmox config) no longer match the template it was launched from: replace (under the rollout limits: maxSurge, maxUnavailable, minReadySeconds) or report (condition Tampered=True and an event; nothing is deleted).
   */
  modified?: 'replace' | 'report';
}
