/**
 * Clones in flight that nothing places yet. A VM in its copy window is a config holding only
 * `lock: clone`: no name, description or tags say whose it is. This process knows its own creates,
 * and the clone journal knows those of earlier processes — unless the state directory was lost. For
 * the rest, PVE's active task list of the VM's node says whether a clone of drover's own API token
 * is still filling it: the task's log opens with `creating a clone of VM <template> with ID <vmid>`
 * (qemu-server's clone_vm), and PVE shows a token its own tasks without Sys.Audit. Such a clone may
 * be a slot of any group, so creates on the provider wait until it ends (its description then
 * places it) — at most the clone timeout from when it was first seen, like AWS's launch fence.
 * When a node's task list cannot be read, every unplaced clone there counts as possibly drover's.
 * A copy that ends between the listing and the task list read leaves no running task behind a VM the
 * listing showed copying: its config is read again (where a new listing shows it, when the copy
 * ended onto another node and the config moved there), and when the clone wrote this fleet's description
 * (or the read fails) creates wait for this listing too — the next one places the VM by its
 * description. Without that re-read such a VM would be skipped as someone else's and its slot cloned
 * again.
 */
import type { PveApi, TaskEntry, VmConfig } from './api.ts';
import { classifyPve } from './classify.ts';
import { movedEntry } from './inventory.ts';
import { ownershipFromDescription } from './ownership.ts';
import type { ProviderLogger } from './retry.ts';

/** A VM in its copy window that may be drover's and cannot be placed in a slot. */
export interface UnplacedClone {
  readonly vmid: number;
  readonly node: string;
  /** When this process first saw it, epoch ms. */
  readonly since: number;
}

/**
 * How long a create refused with CloneInFlight waits before it is tried again (at most: never past
 * the clone timeout). The copy's end is unknown, so a few seconds, like pvestatd's rounds.
 */
export const CLONE_IN_FLIGHT_RETRY_MS = 5_000;

const CLONE_LINE = /^creating a clone of VM \d+ with ID (\d+)\s*$/;

/** Watches the active clone tasks of one API token. */
export class CloneWatch {
  readonly #api: PveApi;
  readonly #provider: string;
  readonly #fleet: string;
  readonly #user: string;
  readonly #tokenid: string | undefined;
  readonly #timeoutMs: number;
  readonly #logger: ProviderLogger | undefined;
  /** UPID → the VMID its log names (tasks never change their first line). */
  readonly #targets = new Map<string, number | undefined>();
  readonly #firstSeen = new Map<number, number>();
  readonly #expired = new Set<number>();

  constructor(init: {
    api: PveApi;
    provider: string;
    fleet: string;
    tokenId: string;
    timeoutMs: number;
    logger?: ProviderLogger | undefined;
  }) {
    this.#api = init.api;
    this.#provider = init.provider;
    this.#fleet = init.fleet;
    const bang = init.tokenId.indexOf('!');
    this.#user = bang < 0 ? init.tokenId : init.tokenId.slice(0, bang);
    this.#tokenid = bang < 0 ? undefined : init.tokenId.slice(bang + 1);
    this.#timeoutMs = init.timeoutMs;
    this.#logger = init.logger;
  }

  /** Of the unplaced copy-window VMs `bare`, those a clone of this token may still be filling. */
  async mine(bare: readonly { vmid: number; node: string }[], signal?: AbortSignal): Promise<UnplacedClone[]> {
    const listed = new Set(bare.map((b) => b.vmid));
    for (const vmid of this.#firstSeen.keys()) if (!listed.has(vmid)) this.#firstSeen.delete(vmid);
    if (bare.length === 0) return [];
    const ours = new Set<number>();
    const unreadable = new Set<string>();
    for (const node of new Set(bare.map((b) => b.node))) {
      const targets = await this.#targetsOn(node, signal);
      if (targets === undefined) unreadable.add(node);
      else for (const vmid of targets) ours.add(vmid);
    }
    for (const b of bare.filter((x) => !ours.has(x.vmid) && !unreadable.has(x.node))) {
      if (await this.#finishedOurs(b, signal)) ours.add(b.vmid);
    }
    const now = Date.now();
    const out: UnplacedClone[] = [];
    for (const b of bare.filter((x) => ours.has(x.vmid) || unreadable.has(x.node))) {
      const since = this.#firstSeen.get(b.vmid) ?? now;
      this.#firstSeen.set(b.vmid, since);
      if (now - since < this.#timeoutMs) out.push({ ...b, since });
      else this.#expire(b.vmid, b.node);
    }
    return out;
  }

  /** VMIDs this token's running clones on `node` fill; undefined when the list cannot be read. */
  async #targetsOn(node: string, signal: AbortSignal | undefined): Promise<number[] | undefined> {
    try {
      const tasks = await this.#api.activeTasks(node, 'qmclone', signal);
      const running = tasks.filter((t) => this.#mine(t) && (t.status === undefined || t.status === 'RUNNING'));
      const current = new Set(running.map((t) => t.upid));
      for (const upid of this.#targets.keys()) if (upid.split(':')[1] === node && !current.has(upid)) this.#targets.delete(upid);
      const out: number[] = [];
      for (const task of running) {
        if (!this.#targets.has(task.upid)) this.#targets.set(task.upid, await this.#targetOf(task.upid, signal));
        const vmid = this.#targets.get(task.upid);
        if (vmid !== undefined) out.push(vmid);
      }
      return out;
    } catch (error) {
      if (classifyPve(error).reason === 'Aborted' || signal?.aborted === true) throw error;
      this.#logger?.warn(
        { provider: this.#provider, node, reason: classifyPve(error).reason },
        "cannot read the active clone tasks; clones in their copy window there are treated as possibly drover's",
      );
      return undefined;
    }
  }

  /**
   * Whether a VM the listing showed copying, with no running clone task of this token, has since
   * finished a clone that wrote this fleet's description (its task ended after the listing). A VM
   * still copying is someone else's clone (or one whose worker died); one gone is nobody's.
   */
  async #finishedOurs(vm: { vmid: number; node: string }, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      const config = await this.#configWherever(vm, signal);
      if (config === undefined) return false;
      if (config['lock'] === 'clone') return false;
      const description = typeof config['description'] === 'string' ? config['description'] : undefined;
      return ownershipFromDescription(description).fleet === this.#fleet;
    } catch (error) {
      const { reason } = classifyPve(error);
      if (reason === 'Aborted' || signal?.aborted === true) throw error;
      return reason !== 'VmNotFound';
    }
  }

  /**
   * The VM's config on the node it was listed on or, when that node no longer has it, on the node a
   * new listing shows it on: a clone that ended onto another node moved its config there. Undefined: gone.
   */
  async #configWherever(vm: { vmid: number; node: string }, signal: AbortSignal | undefined): Promise<VmConfig | undefined> {
    try {
      return await this.#api.config(vm.node, vm.vmid, signal);
    } catch (error) {
      if (classifyPve(error).reason !== 'VmNotFound') throw error;
    }
    const moved = await movedEntry(this.#api, vm, signal);
    return moved === undefined ? undefined : this.#api.config(moved.node, vm.vmid, signal);
  }

  async #targetOf(upid: string, signal: AbortSignal | undefined): Promise<number | undefined> {
    const lines = await this.#api.taskLog(upid, 5, signal);
    for (const line of lines) {
      const match = CLONE_LINE.exec(line);
      if (match !== null) return Number(match[1]);
    }
    return undefined;
  }

  #mine(task: TaskEntry): boolean {
    if (task.type !== 'qmclone') return false;
    if (task.tokenid !== undefined) return task.user === this.#user && task.tokenid === this.#tokenid;
    // Older releases list the token's full id as the user.
    return task.user === (this.#tokenid === undefined ? this.#user : `${this.#user}!${this.#tokenid}`);
  }

  #expire(vmid: number, node: string): void {
    if (this.#expired.has(vmid)) return;
    this.#expired.add(vmid);
    this.#logger?.warn(
      { provider: this.#provider, vmid, node },
      'a clone of this API token has been in its copy window longer than the clone timeout; creates no longer wait for it',
    );
  }
}
