// The root contexts of this VM (one per plugin configuration) and their Plugins: registration,
// configuration and reconfiguration, and the hand-over of unsent batches when a root is
// reconfigured or goes away, so no recorded request is lost with it.
import { LOG_ERROR } from "./abi";
import { Config } from "./config";
import * as E from "./errors";
import * as L from "./log-line";
import { Plugin } from "./plugin";

const MAX_ROOTS = 8;
const rootIds = new StaticArray<u32>(MAX_ROOTS); // 0 = free
const plugins = new StaticArray<Plugin | null>(MAX_ROOTS);
/** The newest live plugin: serves streams whose own root went away. */
let latest: Plugin | null = null;

function rootIndex(root: u32): i32 {
  for (let i = 0; i < MAX_ROOTS; i++) if (unchecked(rootIds[i]) == root) return i;
  return -1;
}

function logTooManyRoots(): void {
  L.str(E.TOO_MANY_ROOTS); L.text(staticText(": more than 8 root contexts in one VM")); // MAX_ROOTS
  L.emit(LOG_ERROR);
}

/** Takes a slot for a root context (idempotent); false when every slot is taken (logged). */
export function registerRoot(root: u32): bool {
  if (rootIndex(root) >= 0) return true;
  const i = rootIndex(0);
  if (i < 0) { logTooManyRoots(); return false; }
  unchecked(rootIds[i] = root);
  unchecked(plugins[i] = null);
  return true;
}

/** The live plugin of a root context, or null. */
export function pluginOf(root: u32): Plugin | null {
  const i = rootIndex(root);
  if (i < 0) return null;
  const p = unchecked(plugins[i]);
  return p !== null && !p.done ? p : null;
}

/** The plugin a stream of root `root` records into: its own, else (its root went away) the
 * newest. */
// @ts-ignore: decorator
@inline
export function pluginFor(root: u32): Plugin | null {
  const p = pluginOf(root);
  return p !== null ? p : latest;
}

/** Installs `config` on root `root`; false when no slot is left (logged). */
// @ts-ignore: decorator
@inline
export function configureRoot(root: u32, config: Config): bool {
  if (!registerRoot(root)) return false;
  const i = rootIndex(root);
  const old = unchecked(plugins[i]);
  const plugin = new Plugin(root, config);
  // Configure again on a running root (cpp-host WasmBase::start reuses the root context of the
  // same plugin key): its open window becomes a batch first, so no recorded request is lost.
  if (old !== null) { old.closeWindow(); old.outbox.drainInto(plugin.outbox); old.free(); }
  unchecked(plugins[i] = plugin);
  latest = plugin;
  return true;
}

function newestPlugin(): Plugin | null {
  let best: Plugin | null = null;
  for (let i = 0; i < MAX_ROOTS; i++) {
    const q = unchecked(plugins[i]);
    if (q !== null && !q.done && (best === null || q.rootId > best.rootId)) best = q;
  }
  return best;
}

/** proxy_on_done of a context; false when the root must wait (see below). For a root, its
 * plugin stops and hands its unsent data to the newest other root (a configuration update must
 * not lose the last window; its batches keep their own vm id and seq). The last root sends
 * what it holds itself and, while that POST is on the wire, answers false: cpp-host keeps such
 * a root (WasmBase::startShutdown -> pending_done_, src/wasm.cc) until it calls proxy_done, as
 * long as its VM lives. When the VM itself goes away (new module code, the plugin removed)
 * ~WasmBase drops the root and envoy's ~Context cancels the POST: the open window and the
 * buffered batches are lost (docs/wire-format.md, "When a VM goes away"). */
// @ts-ignore: decorator
@inline
export function rootDone(ctx: u32): bool {
  const i = rootIndex(ctx);
  if (i < 0) return true;
  const p = unchecked(plugins[i]);
  if (p === null || p.done) return true;
  p.done = true;
  if (latest === p) latest = newestPlugin();
  const to = latest;
  p.closeWindow();
  if (to !== null) {
    p.outbox.drainInto(to.outbox);
    return true;
  }
  if (!p.outbox.finalFlush()) return true;
  p.draining = true;
  return false;
}

/** A root waiting in proxy_on_done for its last POST (rootDone returned false), or null. */
export function drainingPlugin(root: u32): Plugin | null {
  const i = rootIndex(root);
  if (i < 0) return null;
  const p = unchecked(plugins[i]);
  return p !== null && p.draining ? p : null;
}

/** proxy_on_delete of a context: true when it was a root (its slot and plugin are freed). */
// @ts-ignore: decorator
@inline
export function deleteRoot(ctx: u32): bool {
  const i = rootIndex(ctx);
  if (i < 0) return false;
  const p = unchecked(plugins[i]);
  unchecked(plugins[i] = null);
  unchecked(rootIds[i] = 0);
  if (p !== null) {
    if (latest === p) { p.done = true; latest = newestPlugin(); }
    p.free();
  }
  return true;
}
