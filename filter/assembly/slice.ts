// A byte range in linear memory, the one way a function hands bytes back to its caller: the
// caller passes the Slice to fill, so what a result is and how long it lives shows at the call
// site. Unmanaged, so a static Slice (see staticSlice) costs no allocation.

// @ts-ignore: decorator
@unmanaged
export class Slice {
  ptr: usize = 0;
  len: usize = 0;

  // @ts-ignore: decorator
  @inline set(ptr: usize, len: usize): void { this.ptr = ptr; this.len = len; }
  // @ts-ignore: decorator
  @inline clear(): void { this.ptr = 0; this.len = 0; }
}

/** Bytes a Slice takes in static memory: declare one per use site as
 * `const X = changetype<Slice>(memory.data(SLICE_BYTES, 8))` (memory.data reserves its block at
 * compile time, once per call site, so it cannot sit in a helper function). */
export const SLICE_BYTES: i32 = offsetof<Slice>();
