/**
 * Pure: the number token a JSON object line holds for a top-level key, as written ("9007199254740993", "-0",
 * "1e400"), or undefined when its value is not a number. JSON.parse hands numbers out as doubles, which lose
 * integers past 2^53 and the difference between -0 and 0; the few values where that matters are looked up here
 * again. A key given twice counts by its last value, as JSON.parse counts it. Only well-formed lines reach here.
 */
export function rawJsonNumber(line: string, key: string): string | undefined {
  let i = 0;
  let found: string | undefined;
  const ws = () => {
    while (i < line.length && (line[i] === ' ' || line[i] === '\t' || line[i] === '\n' || line[i] === '\r')) i++;
  };
  const string = (): string => {
    const start = i++;
    while (line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(line.slice(start, i)) as string;
  };
  const skipValue = () => {
    if (line[i] === '"') return void string();
    if (line[i] === '{' || line[i] === '[') {
      let depth = 0;
      do {
        const c = line[i];
        if (c === '"') {
          string();
          continue;
        }
        if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') depth--;
        i++;
      } while (depth > 0);
      return;
    }
    while (i < line.length && !',}] \t\r\n'.includes(line[i]!)) i++;
  };
  ws();
  if (line[i] !== '{') return undefined;
  i++;
  ws();
  while (i < line.length && line[i] !== '}') {
    const k = string();
    ws();
    i++; // ':'
    ws();
    const start = i;
    skipValue();
    if (k === key) {
      const token = line.slice(start, i);
      found = /^-?\d/.test(token) ? token : undefined;
    }
    ws();
    if (line[i] === ',') i++;
    ws();
  }
  return found;
}
