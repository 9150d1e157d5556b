import { describe, expect, it } from 'vitest';
import { csvDelimiter } from './csvDelimiter.js';

describe('csvDelimiter', () => {
  it('is tab for .tsv files and comma for others when the job sets none', () => {
    expect([
      csvDelimiter('in/a.tsv', undefined),
      csvDelimiter('in/A.TSV', undefined),
      csvDelimiter('in/a.csv', undefined),
      csvDelimiter('in/tsv/a.csv', undefined),
    ]).toEqual(['\t', '\t', ',', ',']);
  });

  it('is spec.input.csv.delimiter whenever the job sets it, whatever the extension', () => {
    expect([csvDelimiter('in/a.tsv', ';'), csvDelimiter('in/a.csv', '|')]).toEqual([';', '|']);
  });
});
