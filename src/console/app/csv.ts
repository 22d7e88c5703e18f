/**
 * One cell of a CSV file the console writes (credentials, templates). A value
 * a spreadsheet would run as a formula (starting with = + - @, a tab or a
 * return) gets a leading apostrophe, so it is shown as text (CSV injection);
 * commas, quotes and line breaks are quoted.
 */
export function csvCell(value: string): string {
  const plain = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(plain) ? `"${plain.replaceAll('"', '""')}"` : plain;
}

/** Saves a CSV file the console wrote, with a byte-order mark so Excel on Chinese Windows opens the UTF-8 with the right characters. */
export function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob(['\uFEFF' + text], { type: 'text/csv;charset=utf-8' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1_000);
}

/** Rows of cells as CSV text; every cell through `csvCell`. */
export function csvRows(rows: Array<Array<string | number | null>>): string {
  return rows.map((r) => r.map((c) => csvCell(c === null ? '' : String(c))).join(',')).join('\r\n');
}
