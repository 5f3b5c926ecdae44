// Opening a patient, frame by frame. The click's own render shows the selection and the risk; the
// rest follows in renders of their own, each in a later frame, so that no frame holds two of them:
//   frame 0  the click: React's render and commit of the selection and the risk card, and the
//            browser's style and layout of it (in the click's task)
//   frame 1  the browser paints that
//   frame 2  the timeline's render and commit for the new patient (ExplanationView, a transition)
//   frame 3  the browser lays that out
//   frame 4  the timeline's draw (d3 axes, overlays; Timeline.tsx)
//   frame 5+ its paint in parts (4 for 2,000 events), the overview strip when idle
//   frame 9+ the panels under the timeline (Later), one per frame, each in an idle period with room
//            for its render
// On a 2-core machine each of these is 3-10 ms; two in one frame went past 16 ms (BENCHMARKS.md).
import { startTransition, useEffect, useRef, useState, type ReactNode } from 'react';
import { afterFrames, whenIdle } from './timeline/idle';

/** Animation frames after the click before the timeline renders the new patient. */
export const TIMELINE_AFTER_FRAMES = 2;
/** Animation frames after the click before the panels under the timeline wait for an idle period:
 *  after the timeline's render, layout, draw and first paint. */
const PANELS_AFTER_FRAMES = 9;
/** idle time each panel's update waits for (ms): all five panels' render and commit took 2-3.5 ms in
 *  traces, one panel's 0.4-1.5 ms */
const PANELS_NEED_MS = 8;

/** `value`, `frames` animation frames after it changed, set in a transition: a render React splits
 *  into slices that yield to frames and input. The first render has it at once; a newer value
 *  restarts the wait. */
export function useLaterValue<T>(value: T, frames: number): T {
  const [shown, setShown] = useState(() => value);
  useEffect(() => {
    if (Object.is(shown, value)) return;
    return afterFrames(frames, () => startTransition(() => setShown(() => value)));
  }, [value, shown, frames]);
  return shown;
}

/** Its children, the panels under the timeline; but when `id` changes (another patient opened),
 *  each keeps its render of the previous patient until its turn: the first once the timeline has been
 *  drawn and the page is idle, then the next ones one per frame, each in an idle period of its own (a
 *  panel's render, layout and paint are 1-5 ms; all of them in one frame were 8-12 ms, the busiest
 *  frame of an opening). React skips elements it has rendered already, so the click's own render and
 *  commit leave these panels alone. Each part is wrapped in a `display: contents` element that names
 *  the patient it shows (data-patient-id). */
export function Later({ id, children }: { id: string; children: ReactNode[] }) {
  const n = children.length;
  const [shown, setShown] = useState({ id, parts: n });
  const parts = shown.id === id ? shown.parts : 0;
  // (read when a part's turn comes: a render of the page in the meantime must not restart the wait)
  const current = useRef(children);
  current.current = children;
  useEffect(() => {
    if (parts >= n) return;
    const show = () => {
      // an empty part (a panel not shown) takes no frame of its own
      let next = parts + 1;
      while (next < n && !current.current[next - 1]) next++;
      startTransition(() => setShown({ id, parts: next }));
    };
    return whenIdle(show, PANELS_NEED_MS, parts === 0 ? PANELS_AFTER_FRAMES : 1);
  }, [id, parts, n]);
  const last = useRef<{ node: ReactNode; id: string }[]>([]);
  const kept = last.current;
  kept.length = Math.min(kept.length, n);
  for (let i = 0; i < n; i++) if (i < parts || !kept[i]) kept[i] = { node: children[i], id };
  return kept.map((part, i) => (
    <div key={i} className="later-part" data-patient-id={part.id}>
      {part.node}
    </div>
  ));
}
