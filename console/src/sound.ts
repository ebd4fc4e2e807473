/**
 * The alarm sound: a two-tone beep made with WebAudio, so no audio file is needed. Browsers only
 * let a page make sound after a user gesture: `unlock()` is called from the sign-in click.
 */
let context: AudioContext | null = null;
let timer: ReturnType<typeof setInterval> | null = null;

export function unlockAudio(): void {
  try {
    context ??= new AudioContext();
    void context.resume();
  } catch {
    context = null;
  }
}

function beep(at: number, frequencyHz: number, durationS: number): void {
  if (context === null) return;
  const oscillator = context.createOscillator();
  const gain = context.createGain();
  oscillator.type = 'square';
  oscillator.frequency.value = frequencyHz;
  gain.gain.setValueAtTime(0.0001, at);
  gain.gain.exponentialRampToValueAtTime(0.2, at + 0.01);
  gain.gain.exponentialRampToValueAtTime(0.0001, at + durationS);
  oscillator.connect(gain).connect(context.destination);
  oscillator.start(at);
  oscillator.stop(at + durationS + 0.02);
}

/** Starts the alarm tone (every 1.5 s) until stopAlarmSound(). */
export function startAlarmSound(): void {
  if (timer !== null) return;
  unlockAudio();
  const play = (): void => {
    if (context === null) return;
    const now = context.currentTime;
    beep(now, 880, 0.25);
    beep(now + 0.35, 660, 0.25);
  };
  play();
  timer = setInterval(play, 1_500);
}

export function stopAlarmSound(): void {
  if (timer !== null) clearInterval(timer);
  timer = null;
}

export const alarmSoundPlaying = (): boolean => timer !== null;

/**
 * Several takeovers may want the tone at once (a panic alarm during an evacuation): it plays while
 * any of them asks, so one going quiet does not silence the other.
 */
const wanting = new Set<string>();
export function soundFor(holder: string, on: boolean): void {
  if (on) wanting.add(holder);
  else wanting.delete(holder);
  if (wanting.size > 0) startAlarmSound();
  else stopAlarmSound();
}
