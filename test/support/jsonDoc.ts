/**
 * JSON (or YAML) as parsed, read and edited by a test in whatever shape it has: a job document bent into what the
 * parser and the schemas must refuse (a string where a number goes, an unknown field), objects helm printed, a
 * request body a stand-in server received. Any shape at all, so no type narrower than any is true of it; the tests
 * check the shapes they read.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonDoc = any;
