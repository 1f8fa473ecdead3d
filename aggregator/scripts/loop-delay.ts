// Preloaded into the aggregator by load-test.ts (`--import`): reports the process's own event-loop
// delay over IPC, and how much CPU the process used during its longest stall. A stall that used
// little CPU was the machine (other processes had the cores), not the aggregator's own work.
// Inert without an IPC channel.
import { monitorEventLoopDelay } from "node:perf_hooks";

if (process.send) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  // A 10 ms tick: the wall gap between ticks and the process CPU (all threads) spent in it.
  let last = performance.now(), lastCpu = process.cpuUsage();
  let worst = { wallMs: 0, cpuMs: 0 };
  setInterval(() => {
    const now = performance.now(), cpu = process.cpuUsage();
    const wallMs = now - last, cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
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
