import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../../src/onboarding/csv.ts';

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, and keeps each record\'s first line', () => {
    const text = '\ufeffname,address,notes\r\n王秀英,"江汉路 12 号, 3 单元","说 ""你好""\n多行"\r\n\r\n李明,湖滨路 1 号,\n';
    expect(parseCsv(text)).toEqual([
      { line: 1, fields: ['name', 'address', 'notes'] },
      { line: 2, fields: ['王秀英', '江汉路 12 号, 3 单元', '说 "你好"\n多行'] },
      { line: 5, fields: ['李明', '湖滨路 1 号', ''] },
    ]);
  });

  it('reads a last record without a line end, and refuses an unclosed quote', () => {
    expect(parseCsv('a,b\n1,2')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['1', '2'] },
    ]);
    expect(() => parseCsv('a,b\n"1,2\n')).toThrow('line 2: a quoted field is not closed');
  });
});
