// Scheduling for work that must not lengthen a frame: idle-time work (the timeline's overview strip,
// the panels under the timeline) waits for an idle period with enough of it left; a step of opening a
// patient waits for a later animation frame (Later.tsx).

/** idle time the overview strip's paint is given at least (ms) */
export const IDLE_NEED_MS = 4;

/** Run `f` when the main thread is idle with at least `needMs` of the idle period left, or at the
 *  latest 500 ms after the call whatever is left (the browser's timeout; a plain timeout where
 *  requestIdleCallback is missing); with `frames`, only from the `frames`-th animation frame on.
 *  Returns a cancel. */
export function whenIdle(f: (deadline?: IdleDeadline) => void, needMs = 0, frames = 0): () => void {
  if (frames > 0) {
    let cancelIdle: (() => void) | undefined;
    const cancelFrames = afterFrames(frames, () => {
      cancelIdle = whenIdle(f, needMs);
    });
    return () => {
      cancelFrames();
      cancelIdle?.();
    };
  }
  if (typeof requestIdleCallback === 'function') {
    let h = 0;
    const until = performance.now() + 500;
    // asking again keeps the first call's deadline, so the 500 ms bound holds across retries
    const run = (d: IdleDeadline) => {
      if (d.timeRemaining() < needMs && !d.didTimeout) h = requestIdleCallback(run, { timeout: Math.max(1, until - performance.now()) });
      else f(d);
    };
    h = requestIdleCallback(run, { timeout: 500 });
    return () => cancelIdleCallback(h);
  }
  const h = setTimeout(f, 16);
  return () => clearTimeout(h);
}

/** Call `f` at the start of the `frames`-th animation frame from now (at once without animation
 *  frames, as in Node). Returns a cancel. */
export function afterFrames(frames: number, f: () => void): () => void {
  if (frames <= 0 || typeof requestAnimationFrame !== 'function') {
    f();
    return () => {};
  }
  let left = frames;
  let handle = 0;
  const step = () => {
    if (--left > 0) handle = requestAnimationFrame(step);
    else f();
  };
  handle = requestAnimationFrame(step);
  return () => cancelAnimationFrame(handle);
}
