// Preloaded into the aggregator by load-test.ts (`--import`): reports the process's own event-loop
// delay over IPC, and how much CPU its main thread used during its longest stall. A stall in
// which the main thread ran little was the machine (other processes had the cores), not the
// aggregator's own work. Inert without an IPC channel.
import { readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";

/** The main thread's CPU time (user + system, ms) from /proc (proc(5): fields 14 and 15, in clock ticks of 10 ms). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

if (process.send) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  // A 10 ms tick: the wall gap between ticks and the main thread's CPU spent in it.
  let last = performance.now(), lastCpu = mainThreadCpuMs();
  let worst = { wallMs: 0, cpuMs: 0 };
  setInterval(() => {
    const now = performance.now(), cpu = mainThreadCpuMs();
    const wallMs = now - last, cpuMs = cpu - lastCpu;
    if (wallMs > worst.wallMs) worst = { wallMs, cpuMs };
    last = now;
    lastCpu = cpu;
  }, 10).unref();
  process.on("message", (m) => {
    if (m !== "loop-delay") return;
    process.send!({ p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6, worstStall: worst });
    h.reset();
    worst = { wallMs: 0, cpuMs: 0 };
  });
  // The IPC channel must not keep the process alive on its own.
  process.channel?.unref();
}
