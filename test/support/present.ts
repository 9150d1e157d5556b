/**
 * A rendered object with every optional field taken as present, for reading in expectations: the renderer's types
 * say what Argo allows to be absent, a test says what batchscore renders; a field the renderer left out is
 * undefined where the test reads it, and the test fails there.
 */
export type Present<T> = T extends (infer E)[]
  ? Present<E>[]
  : T extends object
    ? { [K in keyof T]-?: Present<T[K]> }
    : T;

export const present = <T>(x: T): Present<T> => x as Present<T>;
