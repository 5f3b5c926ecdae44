// The app shell: header with the model picker and status, the patient list, the risk card and the
// model card. Later views (the attribution timeline) slot into <main>.
import { useStore } from 'zustand';
import { selectedModelInfo, selectedPatient, selectedPrediction, type WorkbenchStore } from '../state/store';
import { ModelCard } from './ModelCard';
import { PatientList } from './PatientList';
import { RiskCard } from './RiskCard';

export function App({ store }: { store: WorkbenchStore }) {
  const s = useStore(store);
  const info = selectedModelInfo(s);
  const patient = selectedPatient(s);
  const rows = selectedPrediction(s);
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to the prediction
      </a>
      <header className="app-header">
        <h1>ExBEHRT Workbench</h1>
        <div className="model-picker">
          <label htmlFor="model-select">Model</label>
          <select
            id="model-select"
            data-testid="model-select"
            value={s.modelId ?? ''}
            disabled={s.models.length === 0}
            onChange={(e) => void s.selectModel(e.target.value)}
          >
            {s.models.length === 0 && <option value="">(no models)</option>}
            {s.models.map((m) => (
              <option key={m.id} value={m.id}>
                {s.modelInfo[m.id]?.card?.name ?? m.id}
              </option>
            ))}
          </select>
        </div>
        <p className="status" role="status" aria-live="polite" data-testid="status">
          {s.busy ?? (s.phase === 'ready' ? 'Ready. Everything runs in this page; no data leaves it.' : '')}
        </p>
      </header>
      {s.error && (
        <div className="error" role="alert" data-testid="error">
          {s.error.split('\n').map((line, i) => (
            <p key={i}>{line}</p>
          ))}
        </div>
      )}
      <div className="layout">
        <aside className="sidebar">
          <PatientList patients={s.patients} selectedId={s.patientId} onSelect={(id) => void s.selectPatient(id)} />
        </aside>
        <main id="main" className="content" tabIndex={-1}>
          <RiskCard backend={s.backend} patient={patient} tasks={info?.config.tasks ?? []} rows={rows} modelName={info?.card?.name ?? info?.name} />
          {info ? (
            <ModelCard info={info} />
          ) : (
            <section className="card" aria-label="Model card">
              <p className="muted">{s.phase === 'error' ? 'No model is loaded.' : 'Loading the model…'}</p>
            </section>
          )}
        </main>
      </div>
    </div>
  );
}
