// Regenerates aggregator/proto/metrics.json, the protobufjs descriptor of metrics.proto that the
// aggregator loads (a JSON import bundles with the service; a .proto read at run time would not).
// aggregator/test/protobuf.test.ts fails when the two differ.
import protobuf from "protobufjs";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function descriptorOf(protoPath: string): unknown {
  return protobuf.loadSync(protoPath).toJSON();
}

const proto = fileURLToPath(new URL("../proto/metrics.proto", import.meta.url));
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(fileURLToPath(new URL("../proto/metrics.json", import.meta.url)), JSON.stringify(descriptorOf(proto), null, 1) + "\n");
}
