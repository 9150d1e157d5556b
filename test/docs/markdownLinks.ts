/**
 * Links and headings of Markdown files, for test/docs/links.test.ts. Pure functions of the texts.
 */

/** Fenced code blocks blanked out (line count kept), so that `# comment` lines and `[x](y)` in code are not read. */
function withoutCode(md: string): string {
  return md.replace(/^```[\s\S]*?^```/gm, (block) => block.replace(/[^\n]/g, ''));
}

/** The anchor GitHub gives a heading: lowercase, punctuation dropped (not `-` or `_`), spaces to `-`. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a file's headings, in order; a repeated heading gets `-1`, `-2`, … as on GitHub. */
export function anchorsIn(md: string): string[] {
  const seen = new Map<string, number>();
  return [...withoutCode(md).matchAll(/^#{1,6} (.+)$/gm)].map((m) => {
    const base = anchorOf(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}-${n}`;
  });
}

export interface Link {
  line: number;
  target: string;
}

/** Relative links `[text](target)` outside code: not http(s), not mailto. */
export function relativeLinksIn(md: string): Link[] {
  const lines = withoutCode(md).split('\n');
  return lines.flatMap((l, i) =>
    [...l.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!)
      .filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t))
      .map((target) => ({ line: i + 1, target })),
  );
}
