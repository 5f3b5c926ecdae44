// Panels off the critical path of opening a patient: they follow the click in a render and commit of
// their own, when the page is next idle, instead of lengthening the click's frame.
import { startTransition, useEffect, useRef, useState, type ReactNode } from 'react';
import { whenIdle } from './timeline/idle';

/** `value` as of the last idle period (at most ~500 ms behind): the first render has it at once; a
 *  new one is taken when the page is next idle, in a transition (a render React splits into slices
 *  that yield to frames and input). */
export function useIdleValue<T>(value: T): T {
  const [shown, setShown] = useState(() => value);
  useEffect(() => {
    if (Object.is(shown, value)) return;
    return whenIdle(() => startTransition(() => setShown(() => value)));
  }, [value, shown]);
  return shown;
}

/** Its children; but when `id` changes (another patient opened), the children of the last render
 *  before it until the page is next idle. React skips elements it has rendered already, so the
 *  click's own render and commit leave these panels alone; they update a frame or two later. */
export function Later({ id, children }: { id: string; children: ReactNode }) {
  const shownId = useIdleValue(id);
  const last = useRef(children);
  if (shownId === id) last.current = children;
  return last.current;
}
