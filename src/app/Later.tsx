// Opening a patient, frame by frame. The click's own render shows the selection and the risk; the
// rest follows in renders of their own, each in a later frame, so that no frame holds two of them:
//   frame 0  the click: React's render and commit of the selection and the risk card, and the
//            browser's style and layout of it (in the click's task)
//   frame 1  the browser paints that
//   frame 2  the timeline's render and commit for the new patient (ExplanationView, a transition)
//   frame 3  the browser lays that out
//   frame 4  the timeline's draw (d3 axes, overlays; Timeline.tsx)
//   frame 5+ its paint in parts (4 for 2,000 events), the overview strip and hit targets when idle
//   frame 9+ the panels under the timeline (Later), in an idle period with room for their render
// On a 2-core machine each of these is 3-10 ms; two in one frame went past 16 ms (BENCHMARKS.md).
import { startTransition, useEffect, useRef, useState, type ReactNode } from 'react';
import { afterFrames, whenIdle } from './timeline/idle';

/** Animation frames after the click before the timeline renders the new patient. */
export const TIMELINE_AFTER_FRAMES = 2;
/** Animation frames after the click before the panels under the timeline wait for an idle period:
 *  after the timeline's render, layout, draw and first paint. */
const PANELS_AFTER_FRAMES = 9;
/** idle time the panels' update waits for (ms): their render and commit took 2-3.5 ms in traces */
const PANELS_NEED_MS = 8;

/** `value`, `frames` animation frames after it changed (and, with `idleNeedMs`, once the page is
 *  next idle with that much of the idle period left), set in a transition: a render React splits
 *  into slices that yield to frames and input. The first render has it at once; a newer value
 *  restarts the wait. */
export function useLaterValue<T>(value: T, frames: number, idleNeedMs?: number): T {
  const [shown, setShown] = useState(() => value);
  useEffect(() => {
    if (Object.is(shown, value)) return;
    const show = () => startTransition(() => setShown(() => value));
    return idleNeedMs === undefined ? afterFrames(frames, show) : whenIdle(show, idleNeedMs, frames);
  }, [value, shown, frames, idleNeedMs]);
  return shown;
}

/** Its children; but when `id` changes (another patient opened), the children of the last render
 *  before it until the timeline has been drawn and the page is idle. React skips elements it has
 *  rendered already, so the click's own render and commit leave these panels alone. */
export function Later({ id, children }: { id: string; children: ReactNode }) {
  const shownId = useLaterValue(id, PANELS_AFTER_FRAMES, PANELS_NEED_MS);
  const last = useRef(children);
  if (shownId === id) last.current = children;
  return last.current;
}
