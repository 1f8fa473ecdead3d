// Closed-loop HTTP load generator: `concurrency` clients each send one request after another
// (optionally paced to a total rate), with the `x-user-tier` header drawn from a weighted mix.
// It counts what it sent and what came back, per tier and status, so tests can compare its
// own counts with what meshlat reported.
import http from "node:http";
import { pickWeighted, seededRandom } from "../support/rand.ts";
import { sleep } from "../support/poll.ts";

export interface LoadOptions {
  /** Where requests go: a pod's inbound sidecar (the edge of the mesh). */
  port: number;
  /** Host header, i.e. the service the client thinks it calls. */
  authority: string;
  path?: string;
  concurrency?: number;
  /** Total requests per second across all clients; unlimited when absent. */
  rps?: number;
  /** Weights of x-user-tier values; "" sends no header. */
  tiers?: Record<string, number>;
  seed?: number;
}

export interface LoadStats {
  sent: number;
  completed: number;
  /** Requests that got no HTTP response at all (connection errors). */
  failed: number;
  byStatus: Map<number, number>;
  byTier: Map<string, number>;
}

export const DEFAULT_TIERS: Record<string, number> = { free: 5, standard: 3, premium: 1.5, enterprise: 0.5 };

export class LoadGenerator {
  readonly stats: LoadStats = { sent: 0, completed: 0, failed: 0, byStatus: new Map(), byTier: new Map() };
  private running = false;
  private workers: Promise<void>[] = [];
  private readonly agent: http.Agent;
  private readonly opts: Required<Omit<LoadOptions, "rps">> & { rps?: number };
  private readonly rand: () => number;

  constructor(opts: LoadOptions) {
    this.opts = { ...opts, path: opts.path ?? "/", concurrency: opts.concurrency ?? 4, tiers: opts.tiers ?? DEFAULT_TIERS, seed: opts.seed ?? 7 };
    this.rand = seededRandom(this.opts.seed);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: this.opts.concurrency });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < this.opts.concurrency; i++) this.workers.push(this.loop());
  }

  /** Stops sending and waits for every request in flight to finish. */
  async stop(): Promise<LoadStats> {
    this.running = false;
    await Promise.all(this.workers);
    this.workers = [];
    return this.stats;
  }

  /** Sends exactly `n` requests (sequentially per client, paced by `rps`) and resolves when all are answered. */
  async runCount(n: number): Promise<LoadStats> {
    let left = n;
    const gapMs = this.opts.rps ? (1000 * this.opts.concurrency) / this.opts.rps : 0;
    const worker = async () => {
      while (left > 0) {
        left--;
        const t = Date.now();
        await this.once();
        const wait = gapMs - (Date.now() - t);
        if (wait > 0 && left > 0) await sleep(wait);
      }
    };
    await Promise.all(Array.from({ length: this.opts.concurrency }, worker));
    return this.stats;
  }

  close(): void {
    this.agent.destroy();
  }

  private async loop(): Promise<void> {
    const gapMs = this.opts.rps ? (1000 * this.opts.concurrency) / this.opts.rps : 0;
    while (this.running) {
      const t = Date.now();
      await this.once();
      const wait = gapMs - (Date.now() - t);
      if (wait > 0 && this.running) await sleep(wait);
    }
  }

  private once(): Promise<void> {
    const tier = pickWeighted(this.opts.tiers, this.rand);
    const headers: http.OutgoingHttpHeaders = { host: this.opts.authority };
    if (tier !== "") headers["x-user-tier"] = tier;
    const s = this.stats;
    s.sent++;
    s.byTier.set(tier, (s.byTier.get(tier) ?? 0) + 1);
    return new Promise((resolve) => {
      const req = http.request(
        { host: "127.0.0.1", port: this.opts.port, path: this.opts.path, method: "GET", headers, agent: this.agent },
        (res) => {
          res.resume();
          res.once("end", () => {
            s.completed++;
            s.byStatus.set(res.statusCode ?? 0, (s.byStatus.get(res.statusCode ?? 0) ?? 0) + 1);
            resolve();
          });
          res.once("error", () => {
            s.failed++;
            resolve();
          });
        },
      );
      req.once("error", () => {
        s.failed++;
        resolve();
      });
      req.end();
    });
  }
}
