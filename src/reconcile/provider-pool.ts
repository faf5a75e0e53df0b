/**
 * Each lane's provider, opened by the lane itself and kept between passes: a lane never waits for
 * another cloud's SDK to load, and a changed Provider document reopens that provider alone (the
 * others keep their rate limiters and batches in flight). An opening keyed by the fleet id and the
 * document (less its source position) is reused until either changes; one that failed is forgotten, so
 * the next pass tries again (an unreadable CA file, a secret not mounted yet).
 */
import type { DesiredState } from '../contract/fleet.ts';
import type { LaneAuthority, OpenedProviders } from './open-providers.ts';

/**
 * Opens the providers of a state that holds one Provider document (the composition root's opener),
 * with the lane holder's fence (and shared records) when replicas share the fleet.
 */
export type OpenOne = (state: DesiredState, revision: string, hold?: LaneAuthority) => Promise<OpenedProviders>;

/** The opened provider of every lane, by Provider name. */
export class ProviderPool {
  private readonly open: OpenOne;
  private readonly opened = new Map<string, { key: string; providers: Promise<OpenedProviders> }>();

  constructor(open: OpenOne) {
    this.open = open;
  }

  /**
   * Provider `name` of `state`, opened for its current document (reopened when it changed) and,
   * under HA, for the lane's current hold: a new hold (a new fencing token) reopens it with its fence
   * and records (it reads the journals the previous holder left).
   */
  providersFor(name: string, state: DesiredState, revision: string, hold?: LaneAuthority): Promise<OpenedProviders> {
    const fence = hold?.fence;
    const config = state.providers[name];
    // The fleet id is part of the key: a provider judges the instances it launched (and refuses to
    // delete others) by the id it was opened with, so one kept across a fleet id change would not
    // recognise its own launches.
    const document = JSON.stringify([state.fleet.id, config], (k, v: unknown) => (k === 'source' ? undefined : v));
    const key = fence === undefined ? document : `${document}\0${fence.token}`;
    const current = this.opened.get(name);
    if (current?.key === key) return current.providers;
    const opening = (async () => {
      await (await current?.providers.catch(() => undefined))?.close();
      return this.open({ ...state, providers: config === undefined ? {} : { [name]: config } }, revision, hold);
    })();
    this.opened.set(name, { key, providers: opening });
    const forget = () => {
      if (this.opened.get(name)?.providers === opening) this.opened.delete(name);
    };
    opening.then((opened) => (opened.errors.size > 0 ? forget() : undefined), forget);
    return opening;
  }

  /** Closes provider `name` (its lane ended). */
  async close(name: string): Promise<void> {
    const opened = this.opened.get(name);
    this.opened.delete(name);
    await (await opened?.providers.catch(() => undefined))?.close();
  }

  /** Closes every provider (the daemon stopped). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.opened.keys()].map((name) => this.close(name)));
  }
}
