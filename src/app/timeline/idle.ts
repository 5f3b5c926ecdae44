// Idle-time scheduling for the timeline's deferred work (hit targets, the overview strip): work that
// must not lengthen a frame waits for an idle period with enough of it left.

/** idle time a chunk of hit targets or the overview's paint is given at least (ms) */
export const IDLE_NEED_MS = 4;

/** Run `f` when the main thread is idle with at least `needMs` of the idle period left, or at the
 *  latest 500 ms after the call whatever is left (the browser's timeout; a plain timeout where
 *  requestIdleCallback is missing). Returns a cancel. */
export function whenIdle(f: (deadline?: IdleDeadline) => void, needMs = 0): () => void {
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

/** Call `make(i)` for i in [from, last), `chunk` at a time, while `deadline` leaves more than
 *  `reserveMs` of the idle period (all of them without a deadline or after its timeout); at least
 *  one chunk. Returns where it stopped. */
export function inChunks(from: number, last: number, chunk: number, deadline: IdleDeadline | undefined, reserveMs: number, make: (i: number) => void): number {
  let end = from;
  do {
    const stop = deadline && !deadline.didTimeout ? Math.min(last, end + chunk) : last;
    for (let i = end; i < stop; i++) make(i);
    end = stop;
  } while (end < last && deadline && deadline.timeRemaining() > reserveMs);
  return end;
}
