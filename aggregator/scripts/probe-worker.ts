// A child process of load-test.ts that times GETs on its own event loop: the flood's 64 senders
// in the parent cannot delay the measurement, only the aggregator and the machine can.
//   (forked with argv: port path untilMs pauseMs; sends the latencies in ms over IPC)
import { Agent, request } from "node:http";

const [port, untilMs, pauseMs] = [2, 4, 5].map((i) => Number(process.argv[i]));
const path = process.argv[3]!;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function get(): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(performance.now() - t0));
    });
    req.on("error", () => resolve(NaN));
    req.end();
  });
}

const ms: number[] = [];
while (Date.now() < untilMs) {
  ms.push(await get());
  await new Promise((r) => setTimeout(r, pauseMs));
}
agent.destroy();
process.send!(ms, () => process.disconnect());
