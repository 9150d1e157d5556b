import type { JsonSchema, Node } from './node.js';

/**
 * The JSON Schema (draft-07: what editors and Helm 3's validator read) of a document AS WRITTEN: before defaults and
 * resolution, so it accepts what the parser accepts, and rejects structurally what the parser rejects. Rules JSON
 * Schema cannot state (a time zone lookup, overlapping URIs) are the parser's alone.
 */
export function nodeToJsonSchema(n: Node): JsonSchema {
  const s: JsonSchema = { ...(n.description ? { description: n.description } : {}), ...typeSchema(n) };
  if (n.presence === 'default' && typeof n.default !== 'function' && !isEmptyMapping(n.default)) s.default = n.default;
  return n.json ? { ...s, ...n.json } : s;
}

function typeSchema(n: Node): JsonSchema {
  const d = n.def;
  switch (d.kind) {
    case 'string': {
      const s: JsonSchema = { type: 'string' };
      if (d.nonEmpty) {
        if (d.pattern) s.minLength = 1;
        // Not whitespace alone.
        else s.pattern = '\\S';
      }
      if (d.pattern) s.pattern = d.pattern.source;
      if (d.maxLength !== undefined) s.maxLength = d.maxLength;
      // Numbers are taken as their string (version: 3); the patterns that allow one allow no sign.
      return d.coerceNumber ? { anyOf: [s, { type: 'number', minimum: 0 }] } : s;
    }
    case 'number':
      return {
        type: d.integer ? 'integer' : 'number',
        ...(d.min === undefined ? {} : { minimum: d.min }),
        ...(d.max === undefined ? {} : { maximum: d.max }),
      };
    case 'boolean':
      return { type: 'boolean' };
    case 'literal':
      return { type: 'string', const: d.value };
    case 'enum':
      return { type: 'string', enum: [...d.values] };
    case 'list':
      return { type: 'array', ...(d.minItems > 0 ? { minItems: d.minItems } : {}), items: nodeToJsonSchema(d.item) };
    case 'record':
      return {
        type: 'object',
        ...(d.keyPattern ? { propertyNames: { pattern: d.keyPattern.source } } : {}),
        additionalProperties: nodeToJsonSchema(d.value),
      };
    case 'object': {
      const required = Object.entries(d.fields)
        .filter(([, f]) => f.presence === 'required')
        .map(([k]) => k);
      return {
        type: 'object',
        additionalProperties: false,
        ...(required.length > 0 ? { required } : {}),
        properties: Object.fromEntries(Object.entries(d.fields).map(([k, f]) => [k, nodeToJsonSchema(f)])),
      };
    }
    case 'union':
      return { anyOf: d.options.map(nodeToJsonSchema) };
    case 'map':
      return nodeToJsonSchema(d.inner);
  }
}

function isEmptyMapping(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
}
