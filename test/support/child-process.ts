// Children (Prometheus, the aggregator) must not outlive the process that started them, even
// when it dies on an uncaught error or is stopped by a signal (e.g. a CI timeout).
import type { ChildProcess } from "node:child_process";

const children = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

function onSignal(sig: NodeJS.Signals): void {
  // Someone else (the demo) handles this signal and stops its children gracefully.
  if (process.listenerCount(sig) > 1) return;
  killAll();
  process.off(sig, onSignal);
  process.kill(process.pid, sig); // die of the signal, as without this handler
}

export function killOnExit(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
  if (hooked) return;
  hooked = true;
  process.once("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, onSignal);
}
