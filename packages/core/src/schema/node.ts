/**
 * A small schema language: each field of the job file is a data object (type, bounds, pattern, default, description,
 * the rule its messages state), and generic walkers read it: validateNode checks a document and builds the parsed
 * value, nodeToJsonSchema writes the editor's JSON Schema, and Static<typeof node> is the parsed value's TypeScript
 * type. One description, so the three cannot drift apart.
 */

/** A field of an object: required, optional (left out of the parsed value when absent), or given a default. */
export type Presence = 'required' | 'optional' | 'default';
export type PathPart = string | number;

/** What a refine rule gets besides the value: the document as written, and where to report. */
export interface Refiner {
  /**
   * The node's part of the document as written (before defaults and resolution): any shape at all, which each rule
   * reads only as far as it checks it (`r.raw.url === undefined`), so no type narrower than any is true of it.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly raw: any;
  /** Reports a problem at this node, or below it (`bad(msg, 'resources')`, `bad(msg, 'ranges', 'age')`). */
  bad(message: string, ...at: PathPart[]): void;
}

/** Where a document is parsed: relative paths in it resolve against baseDir. */
export interface ParseContext {
  baseDir: string;
}

export type Result<T> = { value: T } | { error: string };

export type JsonSchema = { [key: string]: unknown };

export type Def =
  | {
      kind: 'string';
      /** Whitespace alone is no value. */
      nonEmpty: boolean;
      pattern?: RegExp;
      maxLength?: number;
      /** A number written where a string is meant (version: 3, memory: 2) is taken as its string. */
      coerceNumber?: boolean;
      /** Message when the pattern or length does not hold; default `expected <rule>, got <value>`. */
      patternMessage?: (s: string) => string;
      /** A check or conversion beyond the pattern (resolving a URI, a time zone lookup). */
      then?: (s: string, ctx: ParseContext) => Result<string>;
    }
  | { kind: 'number'; integer: boolean; min?: number; max?: number; maxMessage?: (n: number) => string }
  | { kind: 'boolean' }
  | { kind: 'literal'; value: string }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'list'; item: Node; minItems: number }
  | { kind: 'record'; value: Node; keyPattern?: RegExp; keyMessage?: (key: string) => string }
  | { kind: 'object'; fields: Record<string, Node> }
  /** reportOption: without a rule of its own, a union reports the problems of the option of the value's type. */
  | { kind: 'union'; options: Node[]; reportOption: boolean }
  // A method, so that a node of any parsed type fits (method parameters are bivariant).
  | { kind: 'map'; inner: Node; fn(v: unknown): unknown };

export interface Node<T = unknown, P extends Presence = Presence> {
  readonly def: Def;
  readonly presence: P;
  /** What the messages say a value must be: `expected <rule>, got <value>`. */
  readonly rule?: string;
  readonly description?: string;
  /** The value as written that an absent field takes; or a function of the object's fields parsed so far. */
  readonly default?: unknown;
  /**
   * Rules beyond the node's type, run after it (and, for objects, its fields) parsed. A method, so that a node of
   * any parsed type fits where a Node is taken (method parameters are bivariant).
   */
  refine?(value: unknown, r: Refiner): void;
  /** JSON Schema keywords that say what `refine` says, where JSON Schema can say it. */
  readonly json?: JsonSchema;
  /** Phantom: the parsed value's type. */
  readonly __out?: T;
}

export type Static<N> = N extends Node<infer T, Presence> ? T : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type Fields = Record<string, Node<unknown, Presence>>;
type OptionalKeys<F> = { [K in keyof F]: F[K] extends Node<unknown, 'optional'> ? K : never }[keyof F];
export type ObjectOf<F extends Fields> = Simplify<
  { -readonly [K in Exclude<keyof F, OptionalKeys<F>>]: Static<F[K]> } & {
    -readonly [K in OptionalKeys<F>]?: Exclude<Static<F[K]>, undefined>;
  }
>;
/** A value whose parts may be missing: what refine rules see, since a part that broke a rule is left out. */
export type Loose<T> = T extends readonly (infer E)[]
  ? Loose<E>[]
  : T extends object
    ? { [K in keyof T]?: Loose<T[K]> }
    : T;

interface Common<T> {
  description?: string;
  rule?: string;
  refine?: (value: Loose<T>, r: Refiner) => void;
  json?: JsonSchema;
}

function node<T>(def: Def, o: Common<T>, rule: string): Node<T, 'required'> {
  return { def, presence: 'required', ...o, rule: o.rule ?? rule } as Node<T, 'required'>;
}

export function str(
  o: Common<string> & Omit<Extract<Def, { kind: 'string' }>, 'kind' | 'nonEmpty'> & { nonEmpty?: boolean } = {},
): Node<string, 'required'> {
  const { description, rule, refine, json, ...d } = o;
  const nonEmpty = d.nonEmpty ?? true;
  return node<string>(
    { kind: 'string', ...d, nonEmpty },
    { description, rule, refine, json },
    nonEmpty ? 'a non-empty string' : 'a string',
  );
}

type NumOpts = Common<number> & { min?: number; max?: number; maxMessage?: (n: number) => string };

function numRule(what: 'an integer' | 'a number', o: NumOpts): string {
  if (o.min !== undefined && o.max !== undefined) return `${what} from ${o.min} to ${o.max}`;
  if (o.min !== undefined) return `${what} ≥ ${o.min}`;
  if (o.max !== undefined) return `${what} ≤ ${o.max}`;
  return what === 'a number' ? 'a finite number' : 'an integer';
}

/** A safe integer (YAML reads 2.0 as 2). */
export function int(o: NumOpts = {}): Node<number, 'required'> {
  const { description, rule, refine, json, ...d } = o;
  return node<number>(
    { kind: 'number', integer: true, ...d },
    { description, rule, refine, json },
    numRule('an integer', o),
  );
}

export function posInt(o: Omit<NumOpts, 'min'> = {}): Node<number, 'required'> {
  return int({ rule: 'a positive integer', ...o, min: 1 });
}

/** A finite number. */
export function num(o: NumOpts = {}): Node<number, 'required'> {
  const { description, rule, refine, json, ...d } = o;
  return node<number>(
    { kind: 'number', integer: false, ...d },
    { description, rule, refine, json },
    numRule('a number', o),
  );
}

export function bool(o: Common<boolean> = {}): Node<boolean, 'required'> {
  return node<boolean>({ kind: 'boolean' }, o, 'true or false');
}

export function literal<const V extends string>(value: V, o: Common<V> = {}): Node<V, 'required'> {
  return node<V>({ kind: 'literal', value }, o, JSON.stringify(value));
}

export function oneOf<const V extends readonly string[]>(
  values: V,
  o: Common<V[number]> = {},
): Node<V[number], 'required'> {
  return node<V[number]>({ kind: 'enum', values }, o, `one of ${values.join(', ')}`);
}

/** Items that break a rule are reported and left out; `minItems` counts the list as written. */
export function list<T>(item: Node<T, Presence>, o: Common<T[]> & { minItems?: number } = {}): Node<T[], 'required'> {
  const { minItems = 0, ...c } = o;
  return node<T[]>({ kind: 'list', item, minItems }, c, minItems > 0 ? 'a non-empty list' : 'a list');
}

export function record<T>(
  value: Node<T, Presence>,
  o: Common<Record<string, T>> & { keyPattern?: RegExp; keyMessage?: (key: string) => string } = {},
): Node<Record<string, T>, 'required'> {
  const { keyPattern, keyMessage, ...c } = o;
  return node<Record<string, T>>(
    { kind: 'record', value, ...(keyPattern ? { keyPattern } : {}), ...(keyMessage ? { keyMessage } : {}) },
    c,
    'a mapping',
  );
}

/** Fields parse in the order given, which is the parsed value's key order; any other key is an unknown field. */
export function object<F extends Fields>(fields: F, o: Common<ObjectOf<F>> = {}): Node<ObjectOf<F>, 'required'> {
  return node<ObjectOf<F>>({ kind: 'object', fields }, o, 'a mapping');
}

/**
 * The first option the value satisfies. Otherwise the problems of the one option of the value's type (a string, a
 * mapping), or `expected <rule>` when a rule is given or no option has that type.
 */
export function anyOf<const N extends readonly Node<unknown, 'required'>[]>(
  options: N,
  o: Common<Static<N[number]>> = {},
): Node<Static<N[number]>, 'required'> {
  return node<Static<N[number]>>(
    { kind: 'union', options: [...options], reportOption: o.rule === undefined },
    o,
    'one of the allowed forms',
  );
}

/** The parsed value converted; undefined leaves the field out of its object. */
export function map<T, U>(inner: Node<T, 'required'>, fn: (v: T) => U): Node<U, 'required'> {
  return {
    def: { kind: 'map', inner, fn },
    presence: 'required',
    ...(inner.rule ? { rule: inner.rule } : {}),
    ...(inner.description ? { description: inner.description } : {}),
  } as Node<U, 'required'>;
}

export function optional<T>(n: Node<T, Presence>): Node<T, 'optional'> {
  return { ...n, presence: 'optional' } as Node<T, 'optional'>;
}

/**
 * An absent field takes `value`, written as a user would write it (it is parsed like theirs, and the JSON Schema
 * shows it), or computed from the fields before it in the same object (`(o) => ...`: not in the JSON Schema).
 */
export function withDefault<T>(n: Node<T, Presence>, value: unknown): Node<T, 'default'> {
  return { ...n, presence: 'default', default: value } as Node<T, 'default'>;
}

export function describe<N extends Node<unknown, Presence>>(n: N, description: string): N {
  return { ...n, description };
}
