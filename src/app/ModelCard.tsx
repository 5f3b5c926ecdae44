// The model card of the selected model: what it is for (shown first), what it was trained on, and
// its held-out metrics next to the baseline's.
import { memo } from 'react';
import type { LoadedModelInfo } from '../state/engine-client';
import { formatMetric, MODEL_TYPE_LABEL } from './format';

export interface ModelCardProps {
  info: LoadedModelInfo;
}

export const ModelCard = memo(function ModelCard({ info }: ModelCardProps) {
  const { card, config } = info;
  const type = MODEL_TYPE_LABEL[config.model_type] ?? config.model_type;
  const baselineType = config.model_type === 'exbehrt' ? 'BEHRT' : config.model_type === 'behrt' ? 'ExBEHRT' : 'baseline';
  const tasks = card ? [...new Set([...Object.keys(card.metrics ?? {}), ...Object.keys(card.baseline_metrics ?? {})])] : [];
  const hasBaseline = !!card?.baseline_metrics && Object.keys(card.baseline_metrics).length > 0;
  return (
    <section className="card model-card" aria-labelledby="model-card-heading" data-testid="model-card">
      <div className="card-head">
        <h2 id="model-card-heading">Model card: {card?.name ?? info.name}</h2>
        <p className="muted">
          {type}
          {card?.version !== undefined && <> · version {card.version}</>}
          {card?.created && <> · {card.created}</>}
        </p>
      </div>
      {!card ? (
        <p className="warning" role="note">
          This model folder has no model-card.json: its intended use, training data and performance are unknown.
        </p>
      ) : (
        <>
          <div className="intended-use" role="note" aria-labelledby="intended-use-heading" data-testid="intended-use">
            <h3 id="intended-use-heading">Intended use</h3>
            <p>{card.intended_use}</p>
            {card.out_of_scope && (
              <p>
                <strong>Out of scope:</strong> {card.out_of_scope}
              </p>
            )}
          </div>
          <h3>Training data</h3>
          <p>{card.training_data}</p>
          {card.reference_population && (
            <p>
              <strong>Reference population:</strong> {card.reference_population}
            </p>
          )}
          <h3 id="metrics-heading">Held-out performance</h3>
          {tasks.length === 0 ? (
            <p className="muted">The model card reports no metrics.</p>
          ) : (
            <div className="table-wrap">
              <table className="metrics" aria-labelledby="metrics-heading" data-testid="metrics-table">
                <thead>
                  <tr>
                    <th scope="col" rowSpan={2}>
                      Task
                    </th>
                    <th scope="col" rowSpan={2}>
                      n (positives)
                    </th>
                    <th scope="colgroup" colSpan={2}>
                      {type} (this model)
                    </th>
                    {hasBaseline && (
                      <th scope="colgroup" colSpan={2} title={card.baseline_name}>
                        {baselineType} (baseline)
                      </th>
                    )}
                  </tr>
                  <tr>
                    <th scope="col">AUROC</th>
                    <th scope="col">AUPRC</th>
                    {hasBaseline && (
                      <>
                        <th scope="col">AUROC</th>
                        <th scope="col">AUPRC</th>
                      </>
                    )}
                  </tr>
                </thead>
                <tbody>
                  {tasks.map((t) => {
                    const m = card.metrics?.[t];
                    const b = card.baseline_metrics?.[t];
                    const n = m ?? b;
                    return (
                      <tr key={t}>
                        <th scope="row">{t}</th>
                        <td className="num">{n ? `${n.n} (${n.positives})` : 'n/a'}</td>
                        <td className="num">{formatMetric(m?.auroc)}</td>
                        <td className="num">{formatMetric(m?.auprc)}</td>
                        {hasBaseline && (
                          <>
                            <td className="num">{formatMetric(b?.auroc)}</td>
                            <td className="num">{formatMetric(b?.auprc)}</td>
                          </>
                        )}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
          {hasBaseline && card.baseline_name && <p className="muted small">Baseline: {card.baseline_name}.</p>}
        </>
      )}
      <h3>Architecture</h3>
      <p className="small">
        {type}, {config.num_hidden_layers} layer{config.num_hidden_layers === 1 ? '' : 's'}, hidden size {config.hidden_size},{' '}
        {config.num_attention_heads} attention heads, up to {config.max_len} tokens; modalities: diagnosis
        {config.modalities.length ? `, ${config.modalities.join(', ')}` : ' only'}; tasks: {config.tasks.map((t) => t.name).join(', ')}.
      </p>
    </section>
  );
});
