/** One CSV record with the line it starts on (1-based; a quoted field may span lines). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * RFC 4180 CSV: comma-separated, fields optionally in double quotes (a quote
 * inside is doubled), CRLF or LF line ends, a UTF-8 byte-order mark ignored
 * (spreadsheets save one). Blank lines are skipped. An unterminated quote is an error.
 */
export function parseCsv(text: string): CsvRecord[] {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let start = 1;
  let quoted = false;
  let i = 0;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0]!.trim() === '')) records.push({ line: start, fields });
    fields = [];
    field = '';
  };
  while (i < src.length) {
    const c = src[i]!;
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\r' && src[i + 1] === '\n') {
      // CRLF: the \n ends the record
    } else if (c === '\n') {
      endRecord();
      line++;
      start = line;
    } else field += c;
    i++;
  }
  if (quoted) throw new Error(`line ${start}: a quoted field is not closed`);
  if (field !== '' || fields.length > 0) endRecord();
  return records;
}

/**
 * The text of an uploaded CSV file. UTF-8 (with or without a byte-order mark)
 * is read as it is; a file Excel saved on Chinese Windows (GBK, GB18030) is
 * read as GB18030; a charset named in the request wins. Anything that reads
 * as neither is refused with what to do, instead of being read as mojibake.
 */
export function decodeCsv(bytes: Uint8Array, charset?: string): string {
  const named = charset?.trim().toLowerCase().replace(/^"|"$/g, '');
  if (named && named !== 'utf-8' && named !== 'utf8') {
    let decoder: TextDecoder;
    try {
      decoder = new TextDecoder(named, { fatal: true });
    } catch {
      throw new CsvEncodingError(`unknown charset ${charset}; send the file as UTF-8 (in Excel: Save As → CSV UTF-8)`);
    }
    try {
      return stripBom(decoder.decode(bytes));
    } catch {
      throw new CsvEncodingError(`the file is not valid ${charset}; save it as CSV UTF-8 (in Excel: Save As → CSV UTF-8) and upload it again`);
    }
  }
  try {
    return stripBom(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    if (named) throw new CsvEncodingError('the file is not valid UTF-8; save it as CSV UTF-8 (in Excel: Save As → CSV UTF-8) and upload it again');
  }
  try {
    return new TextDecoder('gb18030', { fatal: true }).decode(bytes);
  } catch {
    throw new CsvEncodingError('the file is neither UTF-8 nor GBK/GB18030; save it as CSV UTF-8 (in Excel: Save As → CSV UTF-8) and upload it again');
  }
}

const stripBom = (text: string): string => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

export class CsvEncodingError extends Error {}
