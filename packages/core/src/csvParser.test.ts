import { describe, expect, it } from 'vitest';
import { CsvParser, MAX_QUOTED_FIELD_BYTES } from './csvParser.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** Every record of `text`, parsed in one go, with its start offset; blank ones marked. */
function parseAll(text: string, delimiter = ','): [string[], number, boolean][] {
  const buf = enc(text);
  const records: [string[], number, boolean][] = [];
  const next = new CsvParser(enc(delimiter), 'f.csv', buf.length).parse(buf, 0, 0, true, (f, at, blank) =>
    records.push([f, at, blank]),
  );
  expect(next).toBe(buf.length);
  return records;
}

/** The same text parsed from chunks cut at `cuts`, as a reader that gets it in ranged reads would. */
function parseChunked(text: string, cuts: number[], delimiter = ','): string[][] {
  const all = enc(text);
  const parser = new CsvParser(enc(delimiter), 'f.csv', all.length);
  const out: string[][] = [];
  let buf = new Uint8Array(0);
  let base = 0;
  const ends = [...cuts, all.length];
  let from = 0;
  for (const end of ends) {
    const joined = new Uint8Array(buf.length + end - from);
    joined.set(buf);
    joined.set(all.subarray(from, end), buf.length);
    from = end;
    const next = parser.parse(joined, base, 0, end === all.length, (f) => out.push(f));
    buf = joined.subarray(next);
    base += next;
  }
  expect(buf.length).toBe(0);
  return out;
}

describe('CsvParser reads CSV as RFC 4180 and Python csv (default dialect) do', () => {
  it.each<[string, string, string[][]]>([
    [
      'plain lines',
      'a,b\n1,2\n',
      [
        ['a', 'b'],
        ['1', '2'],
      ],
    ],
    [
      'the last line without a line break',
      'a,b\n1,2',
      [
        ['a', 'b'],
        ['1', '2'],
      ],
    ],
    [
      'CRLF',
      'a,b\r\n1,2\r\n',
      [
        ['a', 'b'],
        ['1', '2'],
      ],
    ],
    [
      'CR alone ends a record too',
      'a,b\r1,2\r',
      [
        ['a', 'b'],
        ['1', '2'],
      ],
    ],
    [
      'empty fields',
      ',,\n1,,\n',
      [
        ['', '', ''],
        ['1', '', ''],
      ],
    ],
    ['a quoted field holding the delimiter', '"Smith, John",1\n', [['Smith, John', '1']]],
    ['doubled quotes', '"say ""hi""",""""\n', [['say "hi"', '"']]],
    ['a quoted empty field', '"",x\n', [['', 'x']]],
    ['line breaks inside quotes, kept as written', '"two\nlines","cr\r\nlf",z\n', [['two\nlines', 'cr\r\nlf', 'z']]],
    ['a quote inside an unquoted field is text', '6" screen,a"b"c\n', [['6" screen', 'a"b"c']]],
    ['text after a closing quote is kept', '"ab"cd,e\n', [['abcd', 'e']]],
    ['a leading blank before a quote makes it text', 'a, "b"\n', [['a', ' "b"']]],
    ['a quoted last field without a line break', 'a,"b\nc"', [['a', 'b\nc']]],
  ])('%s', (_, text, want) => {
    expect(parseAll(text).map(([f]) => f)).toEqual(want);
    // Any cut into chunks reads the same.
    for (let cut = 1; cut < enc(text).length; cut++) expect(parseChunked(text, [cut]), `cut ${cut}`).toEqual(want);
  });

  it("marks blank lines (and only unquoted ones), with each record's start byte", () => {
    expect(parseAll('a\n\n  \n""\nb\r\n\r\nc')).toEqual([
      [['a'], 0, false],
      [[''], 2, true],
      [['  '], 3, true],
      [[''], 6, false],
      [['b'], 9, false],
      [[''], 12, true],
      [['c'], 14, false],
    ]);
    // A buffer that starts with a line break and holds no CR (a range that starts between CR and LF).
    expect(parseAll('\nx,y\n')).toEqual([
      [[''], 0, true],
      [['x', 'y'], 1, false],
    ]);
  });

  it('a delimiter of several bytes, and UTF-8 text around it', () => {
    expect(parseAll('naïve¦"€5¦x"¦日本\n', '¦').map(([f]) => f)).toEqual([['naïve', '€5¦x', '日本']]);
  });

  it('refuses a quoted field not closed before the end of the file, naming the byte it opens at', () => {
    expect(() => parseAll('a,b\n1,"open\n2,3\n')).toThrow(
      'f.csv: the quoted field that opens at byte 6 is not closed before the end of the file',
    );
  });

  it(`refuses a quoted field longer than ${MAX_QUOTED_FIELD_BYTES} bytes`, () => {
    const long = `x,"${'y'.repeat(MAX_QUOTED_FIELD_BYTES)}"\n`;
    expect(() => parseAll(long)).toThrow(
      `f.csv: the quoted field that opens at byte 2 is longer than ${MAX_QUOTED_FIELD_BYTES} bytes`,
    );
    // One byte shorter (quotes included) is read.
    const fits = `x,"${'y'.repeat(MAX_QUOTED_FIELD_BYTES - 2)}"\n`;
    expect(parseAll(fits)[0]![0][1]!.length).toBe(MAX_QUOTED_FIELD_BYTES - 2);
  });
});
