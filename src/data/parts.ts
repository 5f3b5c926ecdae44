// Timelines in parts of about a given number of events, for messages between threads: the
// structured clone of a message is made and read in one task, so a 100 MB import's 2,000 timelines
// in one message held the page's main thread ~0.4-0.5 s each way (BENCHMARKS.md, 2026-12-06).
import type { Patient } from './schema';

/** Whole patients in order, each part holding at least one patient and, past the first, no more
 *  than about `events` events. */
export function inParts(patients: Patient[], events: number): Patient[][] {
  const parts: Patient[][] = [];
  let part: Patient[] = [];
  let n = 0;
  for (const p of patients) {
    const size = p.visits.reduce((s, v) => s + v.events.length, 0);
    if (part.length && n + size > events) {
      parts.push(part);
      part = [];
      n = 0;
    }
    part.push(p);
    n += size;
  }
  if (part.length) parts.push(part);
  return parts;
}

/** Events per message for timelines crossing between threads (~20 ms to clone or read here). */
export const EVENTS_PER_MESSAGE = 20_000;
