/** What `{date}` can stand for: a YYYY-MM-DD date, character by character (d = a digit). */
const DATE_SHAPE = 'dddd-dd-dd';

/**
 * True when, for some run date, one location is the other or lies inside it: `template` (an input URI, where
 * "{date}" stands for any YYYY-MM-DD) expanded, against the literal `uri`. Both are resolved URIs of one scheme, so
 * the same store shares a prefix (`s3://bucket/…`, `file:///…`). Pure.
 *
 * Overlap is what makes output read back as input: each later date reads earlier dates' outputs and staging.
 */
export function prefixesOverlap(template: string, uri: string): boolean {
  let j = 0;
  for (let i = 0; i < template.length;) {
    // `uri` ends inside the template: it is a prefix of some expansion, so the template lies inside `uri`.
    if (j >= uri.length) return true;
    if (template.startsWith('{date}', i)) {
      for (const shape of DATE_SHAPE) {
        if (j >= uri.length) return true;
        const ch = uri[j++]!;
        if (shape === 'd' ? !(ch >= '0' && ch <= '9') : ch !== shape) return false;
      }
      i += '{date}'.length;
      continue;
    }
    if (template[i++] !== uri[j++]) return false;
  }
  // The whole expansion is a prefix of `uri`: `uri` lies inside the template's location.
  return true;
}
