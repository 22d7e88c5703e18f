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
