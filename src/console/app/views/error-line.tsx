/** A form's or a page's error, read out by screen readers; nothing when there is none. */
export function ErrorLine({ error, testid }: { error: string | null; testid?: string }) {
  if (!error) return null;
  return (
    <p class="error" role="alert" {...(testid ? { 'data-testid': testid } : {})}>
      {error}
    </p>
  );
}
