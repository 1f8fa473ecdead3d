// Shared data and shared queues. In Envoy both are process-wide and namespaced by vm_id
// (proxy-wasm-cpp-host src/shared_data.cc, src/shared_queue.cc); here one SharedState belongs
// to a Plugin (all its VMs) unless the caller passes one to several plugins.

export interface QueueState {
  readonly token: number;
  readonly vmId: string;
  readonly name: string;
  readonly items: Uint8Array[];
  /** Last registrant: proxy_on_queue_ready goes to this VM's root context. */
  notify: ((token: number) => void) | null;
}

export class SharedState {
  readonly #data = new Map<string, Map<string, { value: Uint8Array; cas: number }>>();
  #cas = 1; // shared_data.cc nextCas(): starts at 1, skips 0 on wrap
  readonly #queues = new Map<string, QueueState>();
  readonly #byToken = new Map<number, QueueState>();
  #nextToken = 1;

  #ns(vmId: string): Map<string, { value: Uint8Array; cas: number }> {
    let m = this.#data.get(vmId);
    if (!m) this.#data.set(vmId, (m = new Map()));
    return m;
  }

  #nextCas(): number {
    const c = this.#cas;
    this.#cas = (this.#cas + 1) >>> 0 || 1;
    return c;
  }

  get(vmId: string, key: string): { value: Uint8Array; cas: number } | undefined {
    return this.#ns(vmId).get(key);
  }

  /** shared_data.cc set: cas 0 always writes; otherwise it must match (else CAS_MISMATCH = false). */
  set(vmId: string, key: string, value: Uint8Array, cas: number): boolean {
    const m = this.#ns(vmId);
    const cur = m.get(key);
    if (cur && cas !== 0 && cas !== cur.cas) return false;
    m.set(key, { value, cas: this.#nextCas() });
    return true;
  }

  register(vmId: string, name: string, notify: (token: number) => void): number {
    const k = `${vmId}\0${name}`;
    let q = this.#queues.get(k);
    if (!q) {
      q = { token: this.#nextToken++, vmId, name, items: [], notify: null };
      this.#queues.set(k, q);
      this.#byToken.set(q.token, q);
    }
    q.notify = notify;
    return q.token;
  }

  resolve(vmId: string, name: string): number | undefined {
    return this.#queues.get(`${vmId}\0${name}`)?.token;
  }

  queue(token: number): QueueState | undefined {
    return this.#byToken.get(token);
  }
}
