// The few Dockerfile rules the image build (which base images a target needs) and the worker image's static tests
// need: instructions with their continuation lines joined (comments and blank lines dropped, as Docker drops them
// even inside a continuation), grouped into stages.

export interface Instruction {
  op: string;
  args: string;
  line: number;
}
export interface Stage {
  /** The FROM image: an image reference, or the name of an earlier stage. */
  image: string;
  name?: string;
  body: Instruction[];
}

export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (/^\s*#/.test(line) || line.trim() === '') return;
    if (buf === '') start = i + 1;
    if (/\\\s*$/.test(line)) {
      buf += line.replace(/\\\s*$/, ' ');
      return;
    }
    buf += line;
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(buf);
    if (!m) throw new Error(`Dockerfile line ${start}: cannot parse ${JSON.stringify(buf)}`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.replace(/\s+/g, ' ').trim(), line: start });
    buf = '';
  });
  if (buf !== '') throw new Error('Dockerfile ends inside a line continuation');
  return out;
}

export function stages(instructions: Instruction[]): Stage[] {
  const out: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: cannot parse FROM ${ins.args}`);
      out.push({ image: m[1]!, ...(m[2] ? { name: m[2].toLowerCase() } : {}), body: [] });
    } else if (ins.op !== 'ARG' || out.length > 0) {
      if (out.length === 0) throw new Error(`line ${ins.line}: ${ins.op} before the first FROM`);
      out[out.length - 1]!.body.push(ins);
    }
  }
  return out;
}

/** The stage named `name` (Docker's stage names are case-insensitive). */
export function stageNamed(all: Stage[], name: string): Stage | undefined {
  return all.find((s) => s.name === name.toLowerCase());
}

/** A COPY's --from stage, lower-cased; undefined for a copy from the build context. */
export function copyFrom(ins: Instruction): string | undefined {
  return /--from=(\S+)/.exec(ins.args)?.[1]?.toLowerCase();
}

/** The stages `target` is built from, in build order, itself last: its FROM chain and every COPY --from's. */
export function stagesFor(all: Stage[], target: string): Stage[] {
  const out: Stage[] = [];
  const visit = (name: string) => {
    const s = stageNamed(all, name);
    if (!s || out.includes(s)) return;
    visit(s.image);
    for (const i of s.body) if (i.op === 'COPY' && copyFrom(i)) visit(copyFrom(i)!);
    out.push(s);
  };
  visit(target);
  return out;
}

/** The image a stage ultimately starts from, following FROM <stage> back to an image reference. */
export function baseImage(all: Stage[], s: Stage): string {
  const parent = stageNamed(all, s.image);
  return parent ? baseImage(all, parent) : s.image;
}
