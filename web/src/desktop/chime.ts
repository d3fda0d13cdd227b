// A short two-tone chime for a new offer, made with Web Audio (no file to
// load). Browsers allow it after the user's first interaction (the login).
let ctx: AudioContext | null = null;

export function chime() {
  try {
    ctx ??= new AudioContext();
    const at = ctx.currentTime;
    for (const [i, freq] of [660, 880].entries()) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, at + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.2, at + i * 0.18 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + i * 0.18 + 0.3);
      osc.connect(gain).connect(ctx.destination);
      osc.start(at + i * 0.18);
      osc.stop(at + i * 0.18 + 0.32);
    }
  } catch {
    /* no audio: the visual notification is enough */
  }
}
