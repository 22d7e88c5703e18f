import { describe, expect, it } from 'vitest';
import { csvCell } from '../../../src/console/app/csv.ts';

describe('CSV cells the console writes', () => {
  it('writes what a spreadsheet would run as a formula as text', () => {
    expect(csvCell('=HYPERLINK("http://evil","x")')).toBe(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(csvCell('+86 139 0000 1001')).toBe("'+86 139 0000 1001");
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tcmd')).toBe("'\tcmd");
  });

  it('quotes commas, quotes and line breaks, and leaves plain text alone', () => {
    expect(csvCell('江汉路 8 号, 2 单元')).toBe('"江汉路 8 号, 2 单元"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('pendant-1')).toBe('pendant-1');
    expect(csvCell('')).toBe('');
  });
});
