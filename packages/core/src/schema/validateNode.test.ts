import { describe, expect, it } from 'vitest';
import {
  anyOf,
  bool,
  int,
  list,
  literal,
  map,
  object,
  oneOf,
  optional,
  posInt,
  record,
  str,
  withDefault,
} from './node.js';
import { nodeToJsonSchema } from './nodeToJsonSchema.js';
import { validateNode } from './validateNode.js';

const ctx = { baseDir: '/jobs' };
const lines = (r: { problems: { path: string; message: string }[] }) =>
  r.problems.map((p) => `${p.path}: ${p.message}`);

const thing = object(
  {
    name: str({ pattern: /^[a-z]+$/, patternMessage: (s) => `${JSON.stringify(s)} is not lowercase` }),
    size: withDefault(posInt(), 4),
    twice: withDefault(int(), (o: { size?: number }) => (o.size === undefined ? undefined : o.size * 2)),
    mode: withDefault(oneOf(['fast', 'slow']), 'fast'),
    memory: optional(str({ coerceNumber: true, pattern: /^[0-9]+(Gi)?$/, rule: 'a quantity such as 2, 4Gi;' })),
    on: optional(map(bool(), (b) => (b ? (true as const) : undefined))),
    batch: withDefault(anyOf([literal('auto'), posInt()], { rule: '"auto" or a positive integer' }), 'auto'),
    hook: optional(anyOf([str(), object({ url: str() })])),
    tags: withDefault(list(str(), { minItems: 1 }), ['x']),
    env: withDefault(record(str({ nonEmpty: false }), { keyPattern: /^[A-Z]+$/ }), {}),
  },
  { refine: (o, r) => o.size === 3 && r.bad('3 is unlucky', 'size') },
);

describe('validateNode', () => {
  it(
    'fills in defaults (as written, or from the fields before), converts, and leaves ' +
      'out what is absent or maps to nothing',
    () => {
      expect(validateNode(thing, { name: 'a' }, ctx)).toEqual({
        value: { name: 'a', size: 4, twice: 8, mode: 'fast', batch: 'auto', tags: ['x'], env: {} },
        problems: [],
      });
      const r = validateNode(
        thing,
        { name: 'a', size: 5, memory: 2, on: false, batch: 7, hook: { url: 'u' }, env: { A: '' } },
        ctx,
      );
      expect(r).toEqual({
        value: {
          name: 'a',
          size: 5,
          twice: 10,
          mode: 'fast',
          memory: '2',
          batch: 7,
          hook: { url: 'u' },
          tags: ['x'],
          env: { A: '' },
        },
        problems: [],
      });
      expect(Object.keys(r.value!)).toEqual([
        'name',
        'size',
        'twice',
        'mode',
        'memory',
        'batch',
        'hook',
        'tags',
        'env',
      ]);
    },
  );

  it("reports every problem, each at its path, in the schema's field order, after the unknown fields", () => {
    const r = validateNode(
      thing,
      {
        colour: 1,
        name: 'A',
        size: 0,
        mode: 'medium',
        memory: 'lots',
        batch: 'x',
        hook: { url: 3 },
        tags: [],
        env: { a: 'x' },
      },
      ctx,
    );
    expect(lines(r)).toEqual([
      'colour: unknown field (expected one of name, size, twice, mode, memory, on, batch, hook, tags, env)',
      'name: "A" is not lowercase',
      'size: expected a positive integer, got 0',
      'mode: expected one of fast, slow, got "medium"',
      'memory: expected a quantity such as 2, 4Gi; got "lots"',
      'batch: expected "auto" or a positive integer, got "x"',
      'hook.url: expected a non-empty string, got 3',
      'tags: expected a non-empty list, got []',
      'env.a: is not a valid key',
    ]);
  });

  it("runs refine rules on what parsed; names the document '(document)'; says 'is required' of a missing field", () => {
    expect(lines(validateNode(thing, { name: 'a', size: 3 }, ctx))).toEqual(['size: 3 is unlucky']);
    expect(lines(validateNode(thing, [1], ctx))).toEqual(['(document): expected a mapping, got [1]']);
    expect(lines(validateNode(thing, {}, ctx))).toEqual(['name: is required']);
  });
});

describe('nodeToJsonSchema', () => {
  it('describes the document as written: required fields, defaults as written, no unknown fields', () => {
    const s = object({
      a: str({ description: 'A.' }),
      b: withDefault(int({ min: 0, max: 9 }), 1),
      c: optional(oneOf(['x', 'y'])),
      d: optional(str({ coerceNumber: true, pattern: /^[0-9]+$/ })),
    });
    expect(nodeToJsonSchema(s)).toEqual({
      type: 'object',
      additionalProperties: false,
      required: ['a'],
      properties: {
        a: { description: 'A.', type: 'string', pattern: '\\S' },
        b: { type: 'integer', minimum: 0, maximum: 9, default: 1 },
        c: { type: 'string', enum: ['x', 'y'] },
        d: {
          anyOf: [
            { type: 'string', minLength: 1, pattern: '^[0-9]+$' },
            { type: 'number', minimum: 0 },
          ],
        },
      },
    });
  });
});
