/**
 * Topic permissions per OAuth client, changeable at run time (a role loses a permission mid-run).
 * Whether Genesys keeps delivering an existing subscription after its permission is removed is not
 * documented; the simulator takes the worst case: the subscription is dropped silently.
 */
import type { SimulatedClient } from "./types.ts";

export class Permissions {
  private readonly denied = new Map<string, Set<string>>();

  constructor(clients: readonly SimulatedClient[]) {
    for (const client of clients) this.denied.set(client.clientId, new Set(client.deniedTopics ?? []));
  }

  deniedFor(clientId: string): ReadonlySet<string> {
    return this.denied.get(clientId) ?? new Set();
  }

  forbid(clientId: string, topic: string): void {
    const set = this.denied.get(clientId) ?? new Set<string>();
    set.add(topic);
    this.denied.set(clientId, set);
  }

  allow(clientId: string, topic: string): void {
    this.denied.get(clientId)?.delete(topic);
  }
}
