/**
 * Flags as the README and the CLI's --help texts spell them, for test/docs/readmeFlags.test.ts. Pure functions
 * of the texts, so the test follows the help texts as they change.
 */

/** `--long` and `-x` flags in a text: not inside a word (non-zero, x-kubernetes-...), without a `=value`. */
export function flagsIn(text: string): string[] {
  return [...new Set([...text.matchAll(/(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])/g)].map((m) => m[1]!))];
}

/** The command names a top-level `batchscore --help` lists: each command's help begins `batchscore NAME`. */
export function commandsIn(topHelp: string): string[] {
  return [...new Set([...topHelp.matchAll(/^batchscore ([a-z][a-z-]*)/gm)].map((m) => m[1]!))];
}

const SHELL = new Set(['', 'sh', 'bash', 'shell', 'console']);

/**
 * Long flags of the commands in the README's shell code blocks that are not batchscore (kubectl, argo, helm,
 * npm, ...): flag -> the tools that use it. Narrowly: only fenced blocks, only the words of that command (a
 * pipeline `batchscore render ... | kubectl create -f -` gives kubectl's flags, not batchscore's), comments
 * left out. `node .../batchscore.js` and `npx batchscore` count as batchscore.
 */
export function otherToolsFlags(readme: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const block of readme.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)) {
    if (!SHELL.has(block[1]!)) continue;
    const lines = block[2]!.replace(/\\\n/g, ' ').split('\n');
    for (const raw of lines) {
      const line = raw.replace(/(^|\s)#.*$/, '').replace(/^\s*\$\s+/, '');
      for (const segment of line.split(/\|\||\||&&|;|\$\(|`/)) {
        const words = segment
          .trim()
          .split(/\s+/)
          .filter((w) => w && !/^[A-Z_][A-Z0-9_]*=/.test(w) && w !== 'sudo');
        const tool = words[0];
        if (!tool || isBatchscore(words)) continue;
        for (const flag of flagsIn(words.slice(1).join(' '))) {
          if (!flag.startsWith('--')) continue;
          if (!out.has(flag)) out.set(flag, new Set());
          out.get(flag)!.add(tool);
        }
      }
    }
  }
  return out;
}

function isBatchscore(words: string[]): boolean {
  const isCli = (w: string | undefined) => w !== undefined && /(^|\/)batchscore(\.js)?$/.test(w);
  return isCli(words[0]) || ((words[0] === 'node' || words[0] === 'npx') && isCli(words[1]));
}

/** Line numbers (1-based) of the README lines that hold `flag`. */
export function linesWith(text: string, flag: string): number[] {
  const re = new RegExp(`(?<![\\w-])${flag}(?![\\w-])`);
  return text.split('\n').flatMap((l, i) => (re.test(l) ? [i + 1] : []));
}
