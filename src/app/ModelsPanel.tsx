// Researchers' own models: drop a model folder (or pick its files), or give a URL on this page's
// origin. The worker validates every file against the others before anything is used; errors list
// every problem. A dropped model lives for this session unless the user keeps it in this browser.
import { memo, useId, useRef, useState, type DragEvent } from 'react';
import type { ModelEntry } from '../state/store';
import { filesOfDrop } from './drop';

export interface ModelsPanelProps {
  models: ModelEntry[];
  labelOf: (id: string) => string;
  canKeep: boolean;
  onFiles: (files: File[]) => void;
  onUrl: (url: string) => void;
  onKeep: (id: string) => void;
  onForget: (id: string) => void;
}

const ORIGIN_LABEL: Record<ModelEntry['origin'], string> = { shipped: 'shipped with the app', url: 'loaded from a URL', dropped: 'this session only', kept: 'kept in this browser' };

/** A memo component: its props change with the models only. */
export const ModelsPanel = memo(function ModelsPanel({ models, labelOf, canKeep, onFiles, onUrl, onKeep, onForget }: ModelsPanelProps) {
  const base = useId();
  const filesRef = useRef<HTMLInputElement>(null);
  const folderRef = useRef<HTMLInputElement>(null);
  const [url, setUrl] = useState('');
  const [over, setOver] = useState(false);
  const fromInput = (input: HTMLInputElement) => {
    const files = Array.from(input.files ?? []);
    input.value = '';
    if (files.length) onFiles(files);
  };
  return (
    <section className="card models-panel" aria-labelledby={`${base}-h`} data-testid="models-panel">
      <h2 id={`${base}-h`}>Models</h2>
      <div
        className={`drop-zone${over ? ' over' : ''}`}
        onDragOver={(e) => (e.preventDefault(), setOver(true))}
        onDragLeave={() => setOver(false)}
        onDrop={async (e: DragEvent) => {
          e.preventDefault();
          setOver(false);
          const files = (await filesOfDrop(e.dataTransfer.items)).map((f) => f.file);
          if (files.length) onFiles(files);
        }}
      >
        <p>
          Drop your model folder here (config.json, vocab.json, model.safetensors; optional model-card.json, reference.json, codemap.json), or{' '}
          <button type="button" onClick={() => folderRef.current?.click()}>
            choose a folder
          </button>{' '}
          <button type="button" onClick={() => filesRef.current?.click()}>
            choose files
          </button>
        </p>
        <p className="muted small">
          Exported from PyTorch with tools/export (see the README). Every tensor, shape and vocabulary size is checked before the model is used.
        </p>
        <input ref={filesRef} type="file" multiple hidden onChange={(e) => fromInput(e.currentTarget)} data-testid="model-files" aria-label="Model files" />
        <input ref={folderRef} type="file" multiple hidden onChange={(e) => fromInput(e.currentTarget)} aria-label="Model folder" {...({ webkitdirectory: '' } as Record<string, string>)} />
      </div>
      <form
        className="model-url"
        onSubmit={(e) => {
          e.preventDefault();
          if (url.trim()) onUrl(url.trim());
        }}
      >
        <label>
          Or a folder URL on this site{' '}
          <input type="text" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="/models/my-model/" data-testid="model-url" spellCheck={false} />
        </label>{' '}
        <button type="submit">Load</button>
      </form>
      <ul className="model-entries" data-testid="model-entries">
        {models.map((m) => (
          <li key={m.id} data-model-id={m.id}>
            <strong>{labelOf(m.id)}</strong> <span className="muted small">({ORIGIN_LABEL[m.origin]})</span>{' '}
            {m.origin === 'dropped' && canKeep && (
              <button type="button" onClick={() => onKeep(m.id)} data-testid={`keep-${m.id}`}>
                Keep in this browser
              </button>
            )}{' '}
            {m.origin !== 'shipped' && (
              <button type="button" onClick={() => onForget(m.id)} data-testid={`forget-${m.id}`}>
                {m.origin === 'kept' ? 'Delete from this browser' : 'Remove'}
              </button>
            )}
          </li>
        ))}
      </ul>
      <p className="muted small">Nothing is stored unless you press "Keep in this browser"; kept models stay in this browser's storage (IndexedDB) until you delete them.</p>
    </section>
  );
});
