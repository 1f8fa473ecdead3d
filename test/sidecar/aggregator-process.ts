// Runs the meshlat aggregator as a child process (`node --import tsx aggregator/src/main.ts`,
// what `npm start` runs) on 127.0.0.1, so it can be killed (SIGKILL, like an OOM kill) and
// restarted on the same port while the mesh keeps sending.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { killOnExit } from "../support/child-process.ts";
import { freePort } from "../support/net.ts";
import { poll } from "../support/poll.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export class AggregatorProcess {
  private child?: ChildProcess;
  private output: string[] = [];

  private constructor(
    readonly port: number,
    private readonly args: string[],
  ) {}

  /** The process id while it runs (the fleet simulator reads its CPU and RSS from /proc). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts on `port` (default: a free one) and waits for /readyz. */
  static async start(opts: { port?: number; args?: string[]; readyTimeoutMs?: number } = {}): Promise<AggregatorProcess> {
    const a = new AggregatorProcess(opts.port ?? (await freePort()), opts.args ?? []);
    await a.spawn(opts.readyTimeoutMs);
    return a;
  }

  /** Recent output of the process (for failure messages). */
  log(): string {
    return this.output.join("").slice(-4000);
  }

  async spawn(readyTimeoutMs = 30_000): Promise<void> {
    const child = spawn(process.execPath, [
      "--import", "tsx", "aggregator/src/main.ts",
      "--host", "127.0.0.1", "--port", String(this.port), "--log-level", "warn",
      // A test stops the process at once (no drain period after SIGTERM), and the sandbox mesh
      // has no sidecar in front of the aggregator to vouch for callers (no identity check).
      "--drain-period-ms", "0", "--caller-identity", "off", ...this.args,
    ], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    child.stdout!.on("data", (d) => this.output.push(String(d)));
    child.stderr!.on("data", (d) => this.output.push(String(d)));
    killOnExit(child);
    const ready = await poll(
      async () => {
        if (child.exitCode !== null) throw new Error(`aggregator exited with ${child.exitCode}: ${this.log()}`);
        return fetch(`${this.url}/readyz`).then((r) => r.ok, () => false);
      },
      (ok) => ok,
      { timeoutMs: readyTimeoutMs, intervalMs: 100, lastOnTimeout: true },
    );
    if (!ready) {
      await this.kill();
      throw new Error(`aggregator not ready within ${readyTimeoutMs} ms: ${this.log()}`);
    }
  }

  /** Stops the process (SIGKILL: no graceful flush, like a crash) and waits for its exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }

  /** Kill and start again on the same port (a pod restart behind a stable Service). */
  async restart(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.kill(signal);
    await this.spawn();
  }
}
