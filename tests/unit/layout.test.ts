import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/model/config';
import { parsePatient, type Patient } from '../../src/data/schema';
import { stackGrids, tokenize } from '../../src/tokens/layout';
import { buildVocab, checkVocabAgainstConfig, eventToken, eventTokens, parseVocab } from '../../src/tokens/vocab';
import { auprc, auroc } from '../../src/model/metrics';

const patient: Patient = parsePatient({
  id: 'p1',
  sex: 'F',
  birthDate: '1950-06-01',
  visits: [
    { date: '2020-01-10', events: [
      { modality: 'diagnosis', code: 'I10' },
      { modality: 'diagnosis', code: 'E11.9' },
      { modality: 'procedure', code: 'P1' },
      { modality: 'procedure', code: 'P2' },
      { modality: 'procedure', code: 'P3' },
      { modality: 'lab', code: '33762-6', value: 900, unit: 'pg/mL' },
    ] },
    // no diagnosis: one placeholder slot carries the medication
    { date: '2021-03-05', events: [{ modality: 'medication', code: 'C03CA01' }] },
    { date: '2021-07-01', events: [{ modality: 'diagnosis', code: 'ZZZ' }, { modality: 'procedure', code: 'P9' }] },
  ],
});
// training data for the vocab: codes seen twice
const train = [patient, { ...patient, id: 'p2' }];
const vocab = buildVocab(train, ['procedure', 'medication', 'lab'], { minCount: 2 });
const config = parseConfig({
  model_type: 'exbehrt', hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16,
  max_len: 12, vocab_size: vocab.diagnosis.length, age_vocab_size: 121, max_position_embeddings: 12,
  modalities: [
    { name: 'procedure', rows: 2, vocab_size: vocab.modalities.procedure.length },
    { name: 'medication', rows: 1, vocab_size: vocab.modalities.medication.length },
    { name: 'lab', rows: 1, vocab_size: vocab.modalities.lab.length },
  ],
  static: { name: 'sex', vocab_size: 4 },
  tasks: [{ name: 'hf' }],
});

describe('ExBEHRT layout', () => {
  const g = tokenize(patient, vocab, config);
  const tok = (t: number) => vocab.diagnosis[g.diagnosis[t]];
  it('builds CLS, diagnosis slots and one SEP per visit, padded to max_len', () => {
    expect(Array.from({ length: g.realLength }, (_, t) => tok(t))).toEqual(['[CLS]', 'I10', 'E11.9', '[SEP]', '[UNK]', '[SEP]', 'ZZZ', '[SEP]']);
    expect(g.realLength).toBe(8);
    expect(Array.from(g.attentionMask)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect(tok(8)).toBe('[PAD]');
  });
  it('steps segment and visit position after each SEP; CLS belongs to the first visit', () => {
    expect(Array.from(g.segment.slice(0, 8))).toEqual([0, 0, 0, 0, 1, 1, 0, 0]);
    expect(Array.from(g.position.slice(0, 8))).toEqual([0, 0, 0, 0, 1, 1, 2, 2]);
    expect(Array.from(g.age.slice(0, 8))).toEqual([69, 69, 69, 69, 70, 70, 71, 71]);
  });
  it('lays procedures onto the visit slots left to right and wraps onto the next row', () => {
    const L = config.max_len;
    const proc = (r: number, t: number) => vocab.modalities.procedure[g.modalities.procedure[r * L + t]];
    expect([proc(0, 1), proc(0, 2), proc(1, 1), proc(1, 2)]).toEqual(['P1', 'P2', 'P3', '[PAD]']);
    // medication of the diagnosis-less visit sits on its placeholder slot
    expect(vocab.modalities.medication[g.modalities.medication[4]]).toBe('C03CA01');
    // CLS and SEP slots never carry other modalities
    for (const t of [0, 3, 5, 7]) expect(g.modalities.procedure[t]).toBe(0);
  });
  it('bins lab values per code and counts unknown codes as UNK', () => {
    expect(eventToken({ modality: 'lab', code: '33762-6', value: 900 }, { 'lab:33762-6': [100, 200, 300, 400] })).toBe('33762-6|q5');
    expect(eventToken({ modality: 'lab', code: '33762-6', value: 50 }, { 'lab:33762-6': [100, 200, 300, 400] })).toBe('33762-6|q1');
    const other = parsePatient({ ...patient, id: 'p3', visits: [{ date: '2020-01-01', events: [{ modality: 'diagnosis', code: 'NEW' }, { modality: 'procedure', code: 'PX' }] }] });
    const g2 = tokenize(other, vocab, config);
    expect(g2.unknown).toEqual({ 'diagnosis:NEW': 1, 'procedure:PX': 1 });
    expect(vocab.diagnosis[g2.diagnosis[1]]).toBe('[UNK]');
  });
  it('value bins: deciles plus equal steps between the 1st and 99th percentiles, so a sparse tail is resolved', () => {
    // 90% of the values are dense around 4.0; 10% form a sparse low tail 2.0-3.8 (as albumin does)
    const values = [...Array.from({ length: 900 }, (_, i) => 3.9 + (i % 5) * 0.05), ...Array.from({ length: 100 }, (_, i) => 2.0 + i * 0.018)];
    const many = parsePatient({ id: 'b', sex: 'F', birthDate: '1950-01-01', visits: [{ date: '2020-01-01', events: values.map((v) => ({ modality: 'lab', code: 'ALB', value: v })) }] });
    const edges = buildVocab([many], ['lab']).bins['lab:ALB'];
    expect(edges.every((e, i) => i === 0 || e > edges[i - 1])).toBe(true);
    // the deciles alone put everything below 3.9 in one bin; the steps split 2.9 from 3.1
    const tok = (v: number) => eventToken({ modality: 'lab', code: 'ALB', value: v }, { 'lab:ALB': edges });
    expect(tok(2.9)).not.toBe(tok(3.1));
    expect(tok(2.2)).not.toBe(tok(2.9));
    expect(edges.filter((e) => e < 3.9).length).toBeGreaterThanOrEqual(10);
  });
  it('last_value: the most recent value of each series (in time order) is its own token; without it, none is', () => {
    const bins = { 'lab:ALB': [3.0, 3.5], 'vital:W': [70] };
    const alb = (date: string, value: number) => ({ date, events: [{ modality: 'lab' as const, code: 'ALB', value }, { modality: 'vital' as const, code: 'W', value: 80 }, { modality: 'lab' as const, code: 'NOBIN', value: 1 }] });
    // visits out of date order: the latest is the first one given
    const visits = [alb('2020-03-01', 2.5), alb('2020-01-01', 3.2), alb('2020-02-01', 3.8)];
    expect(eventTokens(visits, { bins, last_value: true })).toEqual([
      ['ALB|q1|last', 'W|q2|last', 'NOBIN'],
      ['ALB|q2', 'W|q2', 'NOBIN'],
      ['ALB|q3', 'W|q2', 'NOBIN'],
    ]);
    expect(eventTokens(visits, { bins, last_value: false }).flat().some((t) => t.endsWith('|last'))).toBe(false);
    // removing the latest value moves the mark to the one before (a what-if edit)
    expect(eventTokens(visits.slice(1), { bins, last_value: true })[1][0]).toBe('ALB|q3|last');
    // a vocab built with lastValue has both forms, and tokenize looks the marked one up
    const series = (id: string, values: number[]) => parsePatient({ id, sex: 'F', birthDate: '1950-01-01', visits: values.map((v, i) => ({ date: `2020-0${i + 1}-01`, events: [{ modality: 'diagnosis', code: 'I10' }, { modality: 'lab', code: '33762-6', value: v }] })) });
    const ps = Array.from({ length: 30 }, (_, i) => series(`s${i}`, [100 + i, 200 + i, 900 + i]));
    const lv = buildVocab(ps, ['lab'], { minCount: 1, lastValue: true });
    expect(lv.last_value).toBe(true);
    // a diagnosis-only model (BEHRT) has no value tokens to mark
    expect(buildVocab(ps, [], { minCount: 1, lastValue: true }).last_value).toBe(false);
    expect(lv.modalities.lab.some((t) => t.endsWith('|last'))).toBe(true);
    const cfg = parseConfig({ ...config, vocab_size: lv.diagnosis.length, modalities: [{ name: 'lab', rows: 1, vocab_size: lv.modalities.lab.length }], static: null });
    const gl = tokenize(ps[0], lv, cfg);
    const labs = gl.slots.filter((s) => s.part === 'lab').map((s) => lv.modalities.lab[gl.modalities.lab[s.t]]);
    expect(labs.map((t) => t.endsWith('|last'))).toEqual([false, false, true]);
    expect(labs.every((t) => t !== '[UNK]')).toBe(true);
    // an older vocab.json without the field reads as false; a field that is not true/false is refused by name
    const bare = { format: 'exbehrt-vocab', version: 1, diagnosis: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] };
    expect(parseVocab(bare).last_value).toBe(false);
    expect(() => parseVocab({ ...bare, last_value: 'yes' }, 'my/vocab.json')).toThrow(/my\/vocab\.json.*last_value/);
  });
  it('keeps the most recent visits when the sequence is too long, and says so', () => {
    const many = parsePatient({
      ...patient,
      id: 'long',
      visits: Array.from({ length: 10 }, (_, i) => ({ date: `2010-01-${String(i + 10)}`, events: [{ modality: 'diagnosis', code: 'I10' }] })),
    });
    const gl = tokenize(many, vocab, config);
    expect(gl.realLength).toBeLessThanOrEqual(config.max_len);
    expect(gl.truncatedVisits).toBe(5); // 1 + 5 * 2 = 11 <= 12
    expect(gl.visitsKept).toEqual([5, 6, 7, 8, 9]);
    expect(gl.position[1]).toBe(0);
  });
  it('refuses a patient without visits with a message naming the patient', () => {
    expect(() => tokenize({ ...patient, visits: [] }, vocab, config)).toThrow(/patient p1: no visits/);
  });
  it('stacks grids into a batch trimmed to the longest real length', () => {
    const b = stackGrids([g, tokenize({ ...patient, id: 'x', visits: patient.visits.slice(0, 1) }, vocab, config)], config);
    expect(b.length).toBe(8);
    expect(b.modalities.procedure.length).toBe(2 * 2 * 8);
    expect(b.attentionMask[8 + 3]).toBe(1);
    expect(b.attentionMask[8 + 4]).toBe(0);
  });
});

describe('vocab.json', () => {
  it('matches config sizes and reports each mismatch', () => {
    expect(checkVocabAgainstConfig(vocab, config)).toEqual([]);
    const bad = { ...config, vocab_size: 99, modalities: [{ name: 'procedure', rows: 2, vocab_size: 3 }, { name: 'vital', rows: 1, vocab_size: 3 }] };
    const problems = checkVocabAgainstConfig(vocab, bad);
    expect(problems.join('\n')).toMatch(/diagnosis has \d+ tokens, config.json vocab_size is 99/);
    expect(problems.join('\n')).toMatch(/modality procedure has \d+ tokens, config.json modalities.procedure.vocab_size is 3/);
    expect(problems.join('\n')).toMatch(/modality vital \(in config.json\) has no token list/);
  });
  it('rejects a vocab whose specials are out of place', () => {
    expect(() => parseVocab({ ...vocab, diagnosis: ['[CLS]', ...vocab.diagnosis.slice(1)] })).toThrow(/vocab.json: field diagnosis\[0\]: expected \[PAD\]/);
    expect(() => parseVocab({ format: 'x' })).toThrow(/vocab.json: field format/);
  });
});

describe('metrics', () => {
  it('AUROC and AUPRC match hand-computed values', () => {
    // positives at scores 0.9, 0.4; negatives 0.8, 0.3, 0.1: pairs won 1 + 1 + 1 + 0 + 1 + 1 = 5 of 6
    expect(auroc([0.9, 0.8, 0.4, 0.3, 0.1], [1, 0, 1, 0, 0])).toBeCloseTo(5 / 6, 10);
    // AP = 0.5 * 1 + 0.5 * (2/3)
    expect(auprc([0.9, 0.8, 0.4, 0.3, 0.1], [1, 0, 1, 0, 0])).toBeCloseTo(0.5 + 1 / 3, 10);
    expect(auroc([0.5, 0.5], [1, 0])).toBe(0.5);
    expect(auroc([1, 2], [1, 1])).toBeNaN();
  });
});
