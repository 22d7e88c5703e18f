/**
 * The alarm sound: a two-tone call repeated while a critical alarm waits
 * unacknowledged, unless the user muted it for this session. Made with Web
 * Audio, so no sound file is needed. The page shows the state in
 * `data-alarm-sound` on <body>.
 */
let ctx: AudioContext | undefined;
let timer: ReturnType<typeof setInterval> | undefined;

/** Call from a click (login): browsers allow sound only after a user gesture. */
export function unlockAudio(): void {
  try {
    ctx ??= new AudioContext();
    void ctx.resume();
  } catch {
    /* no audio on this device */
  }
  if ('Notification' in window && Notification.permission === 'default') void Notification.requestPermission().catch(() => {});
}

function beep(): void {
  if (!ctx) return;
  const now = ctx.currentTime;
  for (const [i, freq] of [880, 660, 880, 660].entries()) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + i * 0.25);
    gain.gain.exponentialRampToValueAtTime(0.3, now + i * 0.25 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.25 + 0.22);
    osc.connect(gain).connect(ctx.destination);
    osc.start(now + i * 0.25);
    osc.stop(now + i * 0.25 + 0.24);
  }
}

export function setAlarmSound(on: boolean): void {
  document.body.dataset.alarmSound = on ? 'on' : 'off';
  if (on && !timer) {
    beep();
    timer = setInterval(beep, 2_500);
  } else if (!on && timer) {
    clearInterval(timer);
    timer = undefined;
  }
}

/** A system notification when the console's tab is hidden. */
export function notifyHidden(title: string, body: string, tag: string): void {
  if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
  try {
    new Notification(title, { body, tag, requireInteraction: true });
  } catch {
    /* some browsers only allow notifications from a service worker */
  }
}
