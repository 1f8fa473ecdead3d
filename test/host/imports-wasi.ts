// The WASI functions Envoy provides (proxy-wasm-cpp-host src/exports.cc, the wasi_unstable_*
// functions, registered under wasi_snapshot_preview1 and wasi_unstable):
// fd_write to fd 1 logs at info, fd 2 at error (writevImpl, trailing newline dropped);
// clock_time_get 0 = realtime, 1 = monotonic (since cpp-host 31c75e0), else ENOTSUP;
// random_get from a CSPRNG (max 64 KiB per call, include/proxy-wasm/limits.h);
// environ_* expose the VM's configured env only; proc_exit does not exit (Context::error,
// logged at trace); everything else is a stub with cpp-host's return value.
import { randomFillSync } from "node:crypto";
import { Errno, LogLevel } from "./abi.ts";
import type { Vm } from "./vm.ts";

const RANDOM_GET_MAX = 64 * 1024;

export function wasiImports(vm: Vm): Record<string, (...args: never[]) => unknown> {
  const envList = (): [string, string][] => Object.entries(vm.env.env);

  return {
    fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number {
      let level: number;
      if (fd === 1) level = LogLevel.info;
      else if (fd === 2) level = LogLevel.error;
      else return Errno.BADF;
      vm.refresh();
      let s = "";
      let written = 0;
      for (let i = 0; i < iovsLen >>> 0; i++) {
        const at = (iovs >>> 0) + i * 8;
        if (!vm.inBounds(at, 8)) return Errno.FAULT;
        const buf = vm.dv.getUint32(at, true);
        const len = vm.dv.getUint32(at + 4, true);
        if (len === 0) continue;
        const part = vm.str(buf, len);
        if (part === null) return Errno.FAULT;
        s += part;
        written += len;
      }
      if (written > 0) {
        if (s.endsWith("\n")) s = s.slice(0, -1);
        vm.emit(level, s, fd === 1 ? "stdout" : "stderr");
      }
      return vm.setU32(nwrittenPtr, written) ? Errno.SUCCESS : Errno.FAULT;
    },
    fd_read(): number {
      return Errno.NOSYS;
    },
    fd_seek(): number {
      vm.emit(LogLevel.trace, "wasi_unstable fd_seek", "host");
      return Errno.SUCCESS;
    },
    fd_close(): number {
      vm.emit(LogLevel.trace, "wasi_unstable fd_close", "host");
      return Errno.SUCCESS;
    },
    fd_fdstat_get(fd: number, statPtr: number): number {
      if (fd !== 1 && fd !== 2) return Errno.BADF;
      if (!vm.inBounds(statPtr >>> 0, 24)) return Errno.SUCCESS; // cpp-host ignores setMemory's result
      vm.dv.setBigUint64(statPtr >>> 0, 0n, true);
      vm.dv.setBigUint64((statPtr >>> 0) + 8, 64n, true); // fs_rights_base = FD_WRITE
      vm.dv.setBigUint64((statPtr >>> 0) + 16, 0n, true);
      return Errno.SUCCESS;
    },
    fd_fdstat_set_flags(): number {
      return Errno.NOSYS;
    },
    environ_get(arrayPtr: number, bufPtr: number): number {
      let a = arrayPtr >>> 0;
      let b = bufPtr >>> 0;
      for (const [k, v] of envList()) {
        if (!vm.setU32(a, b)) return Errno.FAULT;
        const s = `${k}=${v}\0`;
        const n = Buffer.byteLength(s);
        if (!vm.inBounds(b, n)) return Errno.FAULT;
        vm.nodeBuf.write(s, b, n, "utf8");
        b += n;
        a += 4;
      }
      return Errno.SUCCESS;
    },
    environ_sizes_get(countPtr: number, sizePtr: number): number {
      const e = envList();
      let size = 0;
      for (const [k, v] of e) size += Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
      return vm.setU32(countPtr, e.length) && vm.setU32(sizePtr, size) ? Errno.SUCCESS : Errno.FAULT;
    },
    args_get(): number {
      return Errno.SUCCESS;
    },
    args_sizes_get(argcPtr: number, bufSizePtr: number): number {
      return vm.setU32(argcPtr, 0) && vm.setU32(bufSizePtr, 0) ? Errno.SUCCESS : Errno.FAULT;
    },
    clock_time_get(id: number, _precision: bigint, resultPtr: number): number {
      let t: bigint;
      if (id === 0) t = vm.env.clock.wallNs();
      else if (id === 1) t = vm.env.clock.monoNs();
      else return Errno.NOTSUP;
      return vm.setU64(resultPtr, t) ? Errno.SUCCESS : Errno.FAULT;
    },
    random_get(bufPtr: number, len: number): number {
      len >>>= 0;
      if (len > RANDOM_GET_MAX) return Errno.INVAL;
      if (!vm.inBounds(bufPtr >>> 0, len)) return Errno.FAULT;
      randomFillSync(vm.u8, bufPtr >>> 0, len);
      return Errno.SUCCESS;
    },
    sched_yield(): number {
      return Errno.SUCCESS;
    },
    poll_oneoff(): number {
      return Errno.NOSYS;
    },
    proc_exit(_code: number): void {
      // Does not exit: the guest continues (an AssemblyScript abort then hits `unreachable`).
      vm.emit(LogLevel.trace, "wasi_unstable proc_exit", "host");
    },
    path_open(): number {
      return Errno.NOENT;
    },
    fd_prestat_get(): number {
      return Errno.BADF;
    },
    fd_prestat_dir_name(): number {
      return Errno.NOSYS;
    },
  };
}
