// A small RFC 4180 CSV reader (quotes, CRLF, BOM) and a table view that names missing columns clearly.

import { readFileSync } from 'node:fs';
import { BadInputFileError } from '../../engine/errors.ts';

/** Splits CSV text into rows of fields; blank lines are dropped. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let index = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const finishRow = (): void => {
    row.push(field);
    if (row.length > 1 || row[0] !== '') rows.push(row);
    row = [];
    field = '';
  };
  for (; index < text.length; index++) {
    const character = text[index]!;
    if (quoted) {
      if (character !== '"') field += character;
      else if (text[index + 1] === '"') {
        field += '"';
        index++;
      } else quoted = false;
    } else if (character === '"') quoted = true;
    else if (character === ',') {
      row.push(field);
      field = '';
    } else if (character === '\n') finishRow();
    else if (character !== '\r') field += character;
  }
  if (field !== '' || row.length > 0) finishRow();
  return rows;
}

export interface CsvTable {
  file: string;
  header: string[];
  /** data rows, without the header */
  rows: string[][];
  /** column name -> index into a row */
  columns: Map<string, number>;
}

/** Reads a CSV file whose first row is a header and checks that the required columns are present. */
export function readCsvTable(file: string, requiredColumns: readonly string[]): CsvTable {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BadInputFileError(file, code === 'ENOENT' ? 'file not found' : `cannot read (${code})`);
  }
  const [header, ...rows] = parseCsv(text);
  if (header === undefined) throw new BadInputFileError(file, 'empty CSV file');
  const columns = new Map<string, number>();
  header.forEach((name, index) => {
    if (!columns.has(name.trim())) columns.set(name.trim(), index);
  });
  const missing = requiredColumns.filter((name) => !columns.has(name));
  if (missing.length > 0) {
    throw new BadInputFileError(file, `missing column${missing.length > 1 ? 's' : ''} ${missing.map((name) => `'${name}'`).join(', ')} (header: ${header.join(',')})`);
  }
  return { file, header, rows, columns };
}

/** The header of NIH's Data_Entry_2017.csv (the bracketed columns hold two comma-separated fields). */
export const chestXray8CsvHeader = 'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]';
