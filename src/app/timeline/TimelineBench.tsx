// A page for `npm run bench` only (opened as /?bench=timeline&events=N): the timeline alone, drawing
// the stress fixture (a long synthetic patient with fake attributions), so that first render and
// zoom frames can be timed in Chromium without the engine. Loaded lazily; not part of the app.
import { useMemo } from 'react';
import { buildTimeline } from './model';
import { stressPatient } from './stress';
import { Timeline } from './Timeline';

export function TimelineBench({ events }: { events: number }) {
  const model = useMemo(() => {
    const { patient, result } = stressPatient(events);
    return buildTimeline(patient, result);
  }, [events]);
  return (
    <main>
      <h1>Timeline benchmark: {model.marks.length} events</h1>
      <div data-testid="timeline">
        <Timeline model={model} width={1280} />
      </div>
    </main>
  );
}
