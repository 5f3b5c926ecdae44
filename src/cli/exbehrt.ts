// exbehrt: the command-line front door. Same modules as the worker; Node-only I/O lives here.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parsePatientsText, type Patient } from '../data/schema';
import { loadModelFromDir } from '../model/folder-node';
import { disposeModel, instantiate, predict } from '../model/runtime';
import { tokenize } from '../tokens/layout';
import { useBackend } from './node-tf';
import { attribute, OutsidePopulationError } from '../attribution';
import { parseReferenceSet, referenceGrids, type ReferenceFilter } from '../attribution/reference';
import type { Method } from '../attribution/types';

const USAGE = `exbehrt <command> [options]

commands:
  synth      --n N --seed S [--out patients.jsonl] [--truth truth.json]   write a synthetic cohort
  train      --arch exbehrt|behrt --out <folder> [--n N --seed S ...]       train one model (see README)
             [--targets planted|labels] [--drop-codes R --drop-events R --swap-values R]
             [--epochs 40] [--death-population cancer|all] [--truncate 0.5] [--shuffle-series 0.5] [--patience 8] [--last-value yes]   (defaults: the shipped recipe)
  train-all  [--out-dir public/models]                                      train the shipped ExBEHRT and BEHRT
  tokenize   --model <folder> --patients <file> [--id ID]                   show the token grid of a patient
  predict    --model <folder> --patients <file.json|jsonl>                  JSON lines {patient_id, task, logit, probability[, outside]}
  attribute  --model <folder> --patients <file> --task T [--method eg|ig|gxi|occlusion]
             [--samples N] [--seed S] [--id ID] [--ref-sex F|M] [--ref-age-min A] [--ref-age-max A]
             [--ref-diagnosis PREFIX] [--baseline pad|reference]                JSON lines, one result per patient (or its reason: outside the task's population)
  faithfulness --model <folder> --patients <file> --truth <truth.json> --task T
             [--method eg] [--samples N] [--seed S] [--limit N] [--ref-...]     planted-factor precision@5, deletion, randomisation
  import     <fhir|synthea-csv|omop|meds|timeline|auto> <file or folder> -o patients.jsonl [--coverage coverage.json]
             [--shift-dates] [--seed S] [--model <folder>] [--codemap codemap.json] [--today YYYY-MM-DD]
                                                                            real data -> timelines, coverage summary on stderr
  cohort     --model <folder> --patients <file> --out <dir> [--shard i/n] [--k 4] [--method kmeans|dbscan]
             [--eps E --min-pts M] [--seed S] [--diagnosis PREFIX] [--task T] [--attribute-samples N --attribute-limit M]
             cohort merge --out <dir>                                       representations, UMAP, clusters, summaries (docs/cohort.md)
`;

export class UsageError extends Error {}

export async function readPatients(file: string): Promise<Patient[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parsePatientsText(text, file);
}

function need(v: string | undefined, flag: string): string {
  if (!v) throw new UsageError(`missing ${flag}\n\n${USAGE}`);
  return v;
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  // import takes positionals (format, path) and its own flags: parsed in import-cmd
  if (cmd === 'import') {
    const { importCommand, ImportUsageError } = await import('./import-cmd');
    try {
      return await importCommand(rest);
    } catch (e) {
      if (e instanceof ImportUsageError) throw new UsageError(e.message);
      throw e;
    }
  }
  // cohort takes a positional (merge) and its own flags: parsed in cohort-cmd
  if (cmd === 'cohort') {
    const { cohortCommand, CohortUsageError } = await import('./cohort-cmd');
    try {
      return await cohortCommand(rest);
    } catch (e) {
      if (e instanceof CohortUsageError) throw new UsageError(e.message);
      throw e;
    }
  }
  const { values } = parseArgs({
    args: rest,
    allowPositionals: false,
    options: {
      model: { type: 'string' },
      patients: { type: 'string' },
      id: { type: 'string' },
      n: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'out-dir': { type: 'string' },
      truth: { type: 'string' },
      arch: { type: 'string' },
      epochs: { type: 'string' },
      'mlm-epochs': { type: 'string' },
      targets: { type: 'string' },
      'drop-codes': { type: 'string' },
      'drop-events': { type: 'string' },
      'swap-values': { type: 'string' },
      'death-population': { type: 'string' },
      truncate: { type: 'string' },
      'shuffle-series': { type: 'string' },
      'last-value': { type: 'string' },
      patience: { type: 'string' },
      hidden: { type: 'string' },
      layers: { type: 'string' },
      backend: { type: 'string' },
      task: { type: 'string' },
      method: { type: 'string' },
      samples: { type: 'string' },
      baseline: { type: 'string' },
      'ref-sex': { type: 'string' },
      'ref-age-min': { type: 'string' },
      'ref-age-max': { type: 'string' },
      'ref-diagnosis': { type: 'string' },
      limit: { type: 'string' },
    },
  });
  switch (cmd) {
    // commands with heavy or Node-only dependencies load on demand
    case 'synth':
      return (await import('./synth-cmd')).synthCommand(values);
    case 'train':
      return (await import('./train-cmd')).trainCommand(values);
    case 'train-all':
      return (await import('./train-cmd')).trainAllCommand(values);
    case 'tokenize': {
      const folder = await loadModelFromDir(need(values.model, '--model'));
      const patients = await readPatients(need(values.patients, '--patients'));
      const p = values.id ? patients.find((x) => x.id === values.id) : patients[0];
      if (!p) throw new UsageError(`patient ${values.id} not found in ${values.patients}`);
      process.stdout.write(formatGrid(p, folder.vocab, folder.config));
      return;
    }
    case 'predict': {
      await useBackend(values.backend);
      const model = instantiate(await loadModelFromDir(need(values.model, '--model')));
      const patients = await readPatients(need(values.patients, '--patients'));
      const grids = patients.map((p) => tokenize(p, model.folder.vocab, model.folder.config));
      const rows = await predict(model, patients, grids);
      disposeModel(model);
      // say what the model did not see: unknown codes (-> UNK) and truncation, on stderr
      for (const [i, p] of patients.entries()) {
        const g = grids[i];
        const unk = Object.values(g.unknown).reduce((a, b) => a + b, 0);
        if (unk || g.truncatedVisits || g.droppedEvents)
          process.stderr.write(`patient ${p.id}: ${unk} unknown codes -> [UNK]${unk ? ` (${Object.keys(g.unknown).slice(0, 5).join(', ')}${Object.keys(g.unknown).length > 5 ? ', ...' : ''})` : ''}, ${g.truncatedVisits} oldest visits truncated, ${g.droppedEvents} events past the modality rows\n`);
      }
      process.stdout.write(rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      return;
    }
    case 'attribute': {
      await useBackend(values.backend);
      const folder = await loadModelFromDir(need(values.model, '--model'));
      const model = instantiate(folder);
      let patients = await readPatients(need(values.patients, '--patients'));
      if (values.id) patients = patients.filter((p) => p.id === values.id);
      if (!patients.length) throw new UsageError(`patient ${values.id} not found in ${values.patients}`);
      const filter = referenceFilterOf(values);
      const reference = folder.reference ? referenceGrids(parseReferenceSet(folder.reference), folder.config, filter) : [];
      const method = (values.method ?? 'eg') as Method;
      for (const patient of patients) {
        const r = await attribute(model, {
          patient,
          task: need(values.task, '--task'),
          method,
          reference,
          samples: values.samples !== undefined ? Number(values.samples) : undefined,
          seed: values.seed !== undefined ? Number(values.seed) : 0,
          baseline: values.baseline as 'pad' | 'reference' | undefined,
        }).catch((e) => {
          // over many patients, one outside the task's population is a line, not the end of the run
          if (patients.length > 1 && e instanceof OutsidePopulationError) return e;
          throw e;
        });
        if (r instanceof OutsidePopulationError) {
          process.stdout.write(JSON.stringify({ model: folder.name, patientId: patient.id, task: values.task, outside: r.reason }) + '\n');
          continue;
        }
        const { token, tokenStderr, referenceSize, ...rest } = r;
        process.stdout.write(JSON.stringify({ model: folder.name, reference: { size: referenceSize, filter }, ...rest, token, tokenStderr }) + '\n');
      }
      disposeModel(model);
      return;
    }
    case 'faithfulness': {
      await useBackend(values.backend);
      const { faithfulnessCommand } = await import('./faithfulness-cmd');
      const report = await faithfulnessCommand({
        model: need(values.model, '--model'),
        patients: await readPatients(need(values.patients, '--patients')),
        truthFile: need(values.truth, '--truth'),
        task: need(values.task, '--task'),
        method: (values.method ?? 'eg') as Method,
        samples: values.samples !== undefined ? Number(values.samples) : 64,
        seed: values.seed !== undefined ? Number(values.seed) : 0,
        limit: values.limit !== undefined ? Number(values.limit) : 30,
        referenceFilter: referenceFilterOf(values),
        log: (m) => process.stderr.write(m + '\n'),
      });
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      return;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return;
    default:
      throw new UsageError(`unknown command ${cmd}\n\n${USAGE}`);
  }
}

/** The reference population's filter from --ref-sex, --ref-age-min, --ref-age-max, --ref-diagnosis. */
function referenceFilterOf(values: Record<string, string | boolean | undefined>): ReferenceFilter {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const age = (k: string) => (str(k) !== undefined ? Number(str(k)) : undefined);
  return { sex: str('ref-sex') as 'F' | 'M' | undefined, ageMin: age('ref-age-min'), ageMax: age('ref-age-max'), diagnosis: str('ref-diagnosis') };
}

/** Text table of the token grid: one column per token, one row per sequence / modality row. */
function formatGrid(p: Patient, vocab: import('../tokens/vocab').Vocab, config: import('../model/config').ModelConfig): string {
  const g = tokenize(p, vocab, config);
  const L = g.realLength;
  const cols: string[][] = [];
  const rows: Array<[string, (t: number) => string]> = [
    ['token', (t) => vocab.diagnosis[g.diagnosis[t]]],
    ['age', (t) => String(g.age[t])],
    ['segment', (t) => String(g.segment[t])],
    ['position', (t) => String(g.position[t])],
    ['mask', (t) => String(g.attentionMask[t])],
  ];
  for (const m of config.modalities)
    for (let r = 0; r < m.rows; r++)
      rows.push([`${m.name}[${r}]`, (t) => {
        const id = g.modalities[m.name][r * g.length + t];
        return id === 0 ? '.' : vocab.modalities[m.name][id];
      }]);
  if (g.static) rows.push(['sex', (t) => vocab.static.sex![g.static![t]]]);
  for (const [name, f] of rows) cols.push([name, ...Array.from({ length: L }, (_, t) => f(t))]);
  const width = Array.from({ length: L + 1 }, (_, j) => Math.max(...cols.map((c) => c[j].length)));
  const lines = cols.map((c) => c.map((s, j) => s.padEnd(width[j])).join(' ').trimEnd());
  const notes = [
    `patient ${p.id}: ${L} tokens of ${g.length}, ${g.visitsKept.length} visits kept, ${g.truncatedVisits} truncated, ${g.droppedEvents} events dropped`,
    Object.keys(g.unknown).length ? `unknown codes (-> [UNK]): ${Object.entries(g.unknown).map(([k, n]) => `${k} x${n}`).join(', ')}` : 'unknown codes: none',
  ];
  return [...notes, ...lines].join('\n') + '\n';
}

const isMain = process.argv[1] && /exbehrt(\.ts|\.mjs)?$/.test(process.argv[1]);
if (isMain) {
  main(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(`exbehrt: ${e.message}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}
