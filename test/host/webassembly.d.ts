// The WebAssembly JS API types. The project's tsconfig uses lib ES2023 without DOM and
// @types/node 20 does not declare the WebAssembly namespace, so the host (and everything that
// passes WebAssembly.Module values around) gets it from here. Shapes follow the WebAssembly
// JS API spec (https://webassembly.github.io/spec/js-api/), reduced to what Node 20 offers.
declare global {
  namespace WebAssembly {
    type ImportExportKind = "function" | "table" | "memory" | "global" | "tag";
    interface ModuleImportDescriptor {
      module: string;
      name: string;
      kind: ImportExportKind;
    }
    interface ModuleExportDescriptor {
      name: string;
      kind: ImportExportKind;
    }
    // An exported function has whatever signature the module declares (lib.dom.d.ts types it so too).
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
    type ExportValue = Function | Global | Memory | Table;
    type Exports = Record<string, ExportValue>;
    type ImportValue = ExportValue | number | bigint;
    type ModuleImports = Record<string, ImportValue>;
    type Imports = Record<string, ModuleImports>;
    type BufferSource = ArrayBufferView | ArrayBuffer;

    class Module {
      constructor(bytes: BufferSource);
      static imports(module: Module): ModuleImportDescriptor[];
      static exports(module: Module): ModuleExportDescriptor[];
      static customSections(module: Module, sectionName: string): ArrayBuffer[];
    }
    class Instance {
      constructor(module: Module, importObject?: Imports);
      readonly exports: Exports;
    }
    interface MemoryDescriptor {
      initial: number;
      maximum?: number;
      shared?: boolean;
    }
    class Memory {
      constructor(descriptor: MemoryDescriptor);
      readonly buffer: ArrayBuffer;
      grow(delta: number): number;
    }
    interface TableDescriptor {
      element: "anyfunc" | "externref";
      initial: number;
      maximum?: number;
    }
    class Table {
      constructor(descriptor: TableDescriptor, value?: unknown);
      readonly length: number;
      get(index: number): unknown;
      grow(delta: number, value?: unknown): number;
      set(index: number, value?: unknown): void;
    }
    interface GlobalDescriptor {
      value: "i32" | "i64" | "f32" | "f64" | "externref" | "anyfunc";
      mutable?: boolean;
    }
    class Global {
      constructor(descriptor: GlobalDescriptor, v?: unknown);
      value: unknown;
      valueOf(): unknown;
    }
    interface WebAssemblyInstantiatedSource {
      module: Module;
      instance: Instance;
    }
    class CompileError extends Error {}
    class LinkError extends Error {}
    class RuntimeError extends Error {}
    function compile(bytes: BufferSource): Promise<Module>;
    function validate(bytes: BufferSource): boolean;
    function instantiate(bytes: BufferSource, importObject?: Imports): Promise<WebAssemblyInstantiatedSource>;
    function instantiate(moduleObject: Module, importObject?: Imports): Promise<Instance>;
  }
}
export {};
