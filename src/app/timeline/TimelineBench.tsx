// A page for `npm run bench` only (opened as /?bench=timeline&events=N): the timeline alone, drawing
// the stress fixture (a long synthetic patient with fake attributions), so that first render and
// zoom frames can be timed in Chromium without the engine. Loaded lazily; not part of the app.
// As in the workbench, where a long patient's timeline replaces the one already on screen, the
// page first shows a short patient's timeline (the document's first style and layout, font
// lookups and JIT warm-up happen then), and the long patient's fixture is made before it is
// shown (a frame before): the measured frames are the long timeline's own. `&warm=0` mounts the
// long timeline into a fresh page instead (the cold case); `&remount=1` shows the short one first
// but mounts a new timeline for the long one (as the side-by-side view does: JIT warm, DOM new).
import { useEffect, useState } from 'react';
import { buildTimeline, type TimelineModel } from './model';
import { stressPatient } from './stress';
import { Timeline } from './Timeline';

const fixture = (events: number) => {
  const { patient, result } = stressPatient(events);
  return buildTimeline(patient, result);
};
const afterNextFrame = (f: () => void) => requestAnimationFrame(() => setTimeout(f, 0));

export function TimelineBench({ events, warm, remount = false }: { events: number; warm: boolean; remount?: boolean }) {
  const [model, setModel] = useState<TimelineModel | null>(null);
  useEffect(() => {
    let stop = false;
    // each fixture is made a frame before it is shown, so the measured frames hold only the
    // timeline's own work
    const show = (events: number) => {
      const m = fixture(events);
      afterNextFrame(() => !stop && setModel(m));
    };
    afterNextFrame(() => {
      if (stop) return;
      if (!warm) return show(events);
      show(40);
      // the short timeline's frames, then its idle overview strip, then the long patient
      setTimeout(() => !stop && show(events), 300);
    });
    return () => void (stop = true);
  }, [events, warm]);
  return (
    <main>
      <h1>Timeline benchmark: {model ? `${model.marks.length} events` : 'preparing'}</h1>
      <div data-testid="timeline">{model && <Timeline key={remount ? model.marks.length : 0} model={model} width={1280} />}</div>
    </main>
  );
}
