/**
 * The alarm sound: a two-tone call repeated while a critical alarm waits
 * unacknowledged, unless the user muted it for this session. Made with Web
 * Audio, so no sound file is needed. The page shows the state in
 * `data-alarm-sound` on <body>.
 */
let ctx: AudioContext | undefined;
let timer: ReturnType<typeof setInterval> | undefined;

/** Whether the page may make sound now: browsers allow it only after a user gesture on the page. */
export type AudioState = 'running' | 'locked' | 'unavailable';
const audioListeners = new Set<(state: AudioState) => void>();

export function audioState(): AudioState {
  if (!ctx) {
    try {
      ctx = new AudioContext();
      ctx.onstatechange = () => {
        document.body.dataset.audio = audioState();
        for (const l of audioListeners) l(audioState());
      };
    } catch {
      return 'unavailable';
    }
  }
  return ctx.state === 'running' ? 'running' : 'locked';
}

export function onAudioState(listener: (state: AudioState) => void): () => void {
  audioListeners.add(listener);
  return () => audioListeners.delete(listener);
}

/** Call from a user gesture (any click or key): browsers allow sound only after one. */
export function unlockAudio(): void {
  if (audioState() !== 'unavailable') void ctx!.resume().catch(() => {});
  if ('Notification' in window && Notification.permission === 'default') void Notification.requestPermission().catch(() => {});
}

/**
 * Every click, tap or key on the page unlocks the sound: after a reload (F5)
 * the login click is gone, and a console that looks armed but stays silent is
 * the worst kind of failure. Until then the page shows a bar that says so.
 */
export function unlockAudioOnAnyGesture(): void {
  for (const type of ['pointerdown', 'keydown', 'touchstart']) addEventListener(type, () => audioState() === 'locked' && unlockAudio(), { capture: true, passive: true });
  document.body.dataset.audio = audioState();
}

/** A run of short notes, one every `step` seconds, each `length` long. */
function tones(freqs: number[], opts: { step: number; length: number; volume: number; wave?: OscillatorType }): void {
  if (!ctx) return;
  const now = ctx.currentTime;
  for (const [i, freq] of freqs.entries()) {
    const at = now + i * opts.step;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    if (opts.wave) osc.type = opts.wave;
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(opts.volume, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + opts.length - 0.02);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + opts.length);
  }
}

/** The call tone: high-low, twice. */
const beep = () => tones([880, 660, 880, 660], { step: 0.25, length: 0.24, volume: 0.3 });

/** A low double tone: the live connection to the gateway is lost. */
export function lostConnectionTone(): void {
  if (ctx?.state === 'running') tones([440, 330], { step: 0.4, length: 0.38, volume: 0.15, wave: 'square' });
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
