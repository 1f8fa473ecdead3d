// Children (Prometheus, the aggregator) must not outlive the process that started them, even
// when it dies on an uncaught error or a signal.
import type { ChildProcess } from "node:child_process";

const children = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

export function killOnExit(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
  if (hooked) return;
  hooked = true;
  process.once("exit", killAll);
}
