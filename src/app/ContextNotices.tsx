// Context of use: say when a patient lies outside the population the model (or the chosen
// reference) describes, when the model cannot read most of the patient's codes, and when the
// reference population is too small for a stable explanation.
import type { ReferenceFilter } from '../attribution/reference';
import type { Patient } from '../data/schema';
import type { ReferenceRisks } from '../state/engine-client';
import type { TokenInfo } from '../state/store';
import { ageAtLastVisit } from './format';
import { describeFilter } from './ReferencePicker';

/** Below this many reference patients, EG estimates rest on too few comparisons to be stable. */
export const SMALL_REFERENCE = 30;

export function contextNotices(p: {
  patient: Patient;
  modelName: string;
  /** the model's whole reference population (the training-like population it describes) */
  population: ReferenceRisks | null | undefined;
  /** the reference chosen for the explanation */
  chosen: ReferenceRisks | null | undefined;
  filter: ReferenceFilter;
  tokens: TokenInfo | undefined;
}): string[] {
  const out: string[] = [];
  const age = ageAtLastVisit(p.patient);
  const pop = p.population;
  if (pop?.ages && age !== null && (age < pop.ages[0] - 1 || age > pop.ages[1] + 1))
    out.push(`This patient is ${age} at the last visit; ${p.modelName}'s reference population spans ages ${Math.round(pop.ages[0])}–${Math.round(pop.ages[1])}. The model was not shown patients like this one.`);
  if (pop && pop.size > 0 && !pop.sexes[p.patient.sex]) out.push(`No patient of sex ${p.patient.sex} is in ${p.modelName}'s reference population.`);
  if (p.tokens && p.tokens.events > 0) {
    const share = p.tokens.unknownEvents / p.tokens.events;
    if (share >= 0.5)
      out.push(`${Math.round(share * 100)}% of this patient's events have codes ${p.modelName} does not know (they reach it as UNK): the prediction rests on a small part of the record.`);
    if (p.tokens.truncatedVisits > 0) out.push(`The record is longer than the model reads: the ${p.tokens.truncatedVisits} oldest visits are left out.`);
  }
  if (p.chosen && p.chosen.size === 0) out.push(`No reference patient matches ${describeFilter(p.filter)}: expected gradients cannot run. Widen the reference.`);
  else if (p.chosen && p.chosen.size < SMALL_REFERENCE)
    out.push(`The reference population is small (${p.chosen.size} patients: ${describeFilter(p.filter)}): the explanation says how this patient differs from very few others and varies with the seed.`);
  return out;
}

export function ContextNotices({ notices }: { notices: string[] }) {
  if (!notices.length) return null;
  return (
    <div className="notice context-notices" role="note" data-testid="context-notices">
      <strong>Context of use</strong>
      <ul>
        {notices.map((n) => (
          <li key={n}>{n}</li>
        ))}
      </ul>
    </div>
  );
}
