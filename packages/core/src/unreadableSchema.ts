import { parseField } from 'arrow-js-ffi';
import type * as PW from 'parquet-wasm/node';
import { BatchscoreError } from './errors.js';

/**
 * The error for a file whose Arrow schema apache-arrow cannot decode: a type newer than it (pyarrow writes a
 * list_view column's type into the file's Arrow schema). apache-arrow names only the type, so the file's schema is
 * walked over the C Data Interface to find the column, and the innermost type arrow-js-ffi cannot take in it.
 */
export function unreadableSchema(
  schema: PW.Schema,
  wasmMemory: WebAssembly.Memory,
  where: string,
  err: unknown,
): BatchscoreError {
  const reason = String((err as Error)?.message ?? err).split('\n')[0];
  const ffi = schema.intoFFI();
  try {
    const memory = wasmMemory.buffer;
    for (const child of childrenOf(memory, ffi.addr())) {
      const format = unreadableFormat(memory, child);
      if (format === undefined) continue;
      const known = UNREADABLE_FORMATS[format];
      const type = known ? `${known.name}, Arrow format "${format}"` : `Arrow format "${format}"`;
      return new BatchscoreError(
        'INPUT_INVALID',
        `${where}: column ${JSON.stringify(cString(memory, child, 4))} holds an Arrow type batchscore cannot read ` +
          `(${type}); ${known?.instead ?? 'write it as a plain Arrow type'} or leave it out of the file`,
      );
    }
  } finally {
    ffi.free();
  }
  return new BatchscoreError(
    'INPUT_INVALID',
    `${where}: its Arrow schema holds a type batchscore cannot read (${reason})`,
  );
}

/** The Arrow C formats of types apache-arrow 21 has none for, and what a writer can store instead. */
const UNREADABLE_FORMATS: Record<string, { name: string; instead: string }> = {
  '+vl': { name: 'list_view', instead: 'write it as a list (pyarrow: .cast(pa.list_(...)))' },
  '+vL': { name: 'large_list_view', instead: 'write it as a list (pyarrow: .cast(pa.large_list(...)))' },
  '+r': { name: 'run_end_encoded', instead: 'write its values (pyarrow: pyarrow.compute.run_end_decode)' },
};

/** The format of the innermost field under `ptr` (an ArrowSchema) that arrow-js-ffi cannot parse, if any. */
function unreadableFormat(memory: ArrayBuffer, ptr: number): string | undefined {
  try {
    parseField(memory, ptr);
    return undefined;
  } catch {
    for (const child of childrenOf(memory, ptr)) {
      const inner = unreadableFormat(memory, child);
      if (inner !== undefined) return inner;
    }
    return cString(memory, ptr, 0);
  }
}

/** An ArrowSchema's children (wasm32: `n_children` an int64 at +24, `children` a pointer at +32). */
function childrenOf(memory: ArrayBuffer, ptr: number): number[] {
  const view = new DataView(memory);
  const n = Number(view.getBigInt64(ptr + 24, true));
  const at = view.getUint32(ptr + 32, true);
  return Array.from({ length: n }, (_, i) => view.getUint32(at + 4 * i, true));
}

/** The NUL-terminated UTF-8 string an ArrowSchema points to at `offset` (0: format, 4: name). */
function cString(memory: ArrayBuffer, ptr: number, offset: number): string {
  const bytes = new Uint8Array(memory);
  const start = new DataView(memory).getUint32(ptr + offset, true);
  let end = start;
  while (bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(start, end));
}
