// Getting an agent's attention when the desktop is in the background: the
// page title alternates with a short message until the window gets focus.
let timer: ReturnType<typeof setInterval> | undefined;
let original = '';

export function flashTitle(text: string) {
  if (typeof document === 'undefined' || document.hasFocus()) return;
  if (timer === undefined) original = document.title;
  clearInterval(timer);
  let on = true;
  document.title = text;
  timer = setInterval(() => {
    on = !on;
    document.title = on ? text : original;
  }, 1000);
  addEventListener('focus', stopFlash, { once: true });
}

export function stopFlash() {
  if (timer === undefined) return;
  clearInterval(timer);
  timer = undefined;
  document.title = original;
}
