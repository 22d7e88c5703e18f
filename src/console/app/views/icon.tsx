/** The bell: drawn, so no emoji font is needed on a station PC. */
export function Bell({ size = 18 }: { size?: number }) {
  return (
    <svg class="bell" width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" fill="currentColor">
      <path d="M12 2a1.5 1.5 0 0 0-1.5 1.5v.7A6.5 6.5 0 0 0 5.5 10.5V15l-1.8 2.4A1 1 0 0 0 4.5 19h15a1 1 0 0 0 .8-1.6L18.5 15v-4.5a6.5 6.5 0 0 0-5-6.3v-.7A1.5 1.5 0 0 0 12 2Zm-2.5 18a2.5 2.5 0 0 0 5 0h-5Z" />
    </svg>
  );
}
