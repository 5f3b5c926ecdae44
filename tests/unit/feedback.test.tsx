// Clinician feedback: the export file (round trip, errors that name file and field, all or nothing),
// merging, the attribution recorded with a target, the disagreement ranking, the store's promise
// that nothing is stored unless the user enables it, and the panel (static render: this project's
// unit tests have no DOM; clicks are covered by the browser test).
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { FeedbackPanel, targetOptions, visitChoice, type FeedbackPanelContext } from '../../src/app/FeedbackPanel';
import type { AttributionResult } from '../../src/attribution/types';
import type { Patient } from '../../src/data/schema';
import {
  disagreementSummary,
  FeedbackFileError,
  feedbackInput,
  feedbackTargetFor,
  mergeFeedback,
  parseFeedbackFile,
  serializeFeedback,
  type FeedbackEntry,
  type FeedbackVerdict,
} from '../../src/feedback/feedback';
import { memoryFeedbackStorage, type FeedbackStorage } from '../../src/feedback/storage';
import { createFeedbackStore, type EnabledFlag } from '../../src/feedback/store';
import type { Explanation } from '../../src/state/store';

const patient: Patient = {
  id: 'p1',
  sex: 'F',
  birthDate: '1950-06-01',
  visits: [
    { date: '2019-01-10', events: [{ modality: 'diagnosis', code: 'I10' }, { modality: 'lab', code: '33762-6', value: 900, unit: 'pg/mL' }] },
    { date: '2020-06-02', events: [{ modality: 'diagnosis', code: 'E11.9' }, { modality: 'medication', code: 'C03CA01' }] },
  ],
};

/** Event values chosen so that ranks and weights are known: |−0.4| > 0.3 > 0.1 > 0.05. */
const VALUES = [
  [0.1, -0.4],
  [0.3, 0.05],
];
function result(p: Patient = patient): AttributionResult {
  const events = p.visits.flatMap((v, vi) =>
    v.events.map((e, ei) => ({ visit: vi, event: ei, part: e.modality, row: 0, t: vi + 1, modality: e.modality, code: e.code, value: VALUES[vi][ei], stderr: 0.01 })),
  );
  // a placeholder slot is not an event and must not count in ranks
  events.push({ visit: 1, event: -1, part: 'diagnosis', row: 0, t: 2, modality: 'diagnosis', code: 'PAD', value: 9, stderr: 0 });
  return {
    method: 'eg',
    task: 'hf_12m',
    patientId: p.id,
    logit: 1.2,
    referenceLogit: 0.2,
    referenceSize: 10,
    samplesDone: 128,
    samplesTotal: 128,
    token: {},
    tokenStderr: {},
    visit: { 0: -0.3, 1: 0.35 },
    modality: {},
    code: {},
    events,
    gap: 0.001,
    plainGap: 0.01,
    stderr: 0.01,
    truncatedVisits: 0,
    done: true,
    cancelled: false,
  };
}

const explanation: Explanation & { result: AttributionResult } = {
  modelId: 'exbehrt',
  patientId: 'p1',
  rev: 0,
  task: 'hf_12m',
  settings: { method: 'eg', samples: 128, seed: 7, reference: { sex: 'F' } },
  status: 'done',
  result: result(),
  startedAt: 0,
};
const context: FeedbackPanelContext = { modelId: 'exbehrt', modelName: 'ExBEHRT demo', reference: { description: 'reference set, female', size: 120 }, edits: [], risk: 0.42 };

function entry(id: string, patch: { verdict?: FeedbackVerdict; task?: string; patientId?: string; code?: string; kind?: 'event' | 'visit' | 'explanation'; weight?: number | null } = {}): FeedbackEntry {
  const kind = patch.kind ?? 'event';
  const target =
    kind === 'event'
      ? { kind, visit: 0, event: 0, modality: 'diagnosis', code: patch.code ?? 'I10', date: '2019-01-10' }
      : kind === 'visit'
        ? { kind, visit: 0, date: '2019-01-10' }
        : { kind };
  return {
    id,
    createdAt: `2024-05-0${(Number(id.replace(/\D/g, '')) % 9) + 1}T10:00:00.000Z`,
    verdict: patch.verdict ?? 'plausible',
    note: '',
    target,
    context: {
      modelId: 'exbehrt',
      modelName: 'ExBEHRT demo',
      task: patch.task ?? 'hf_12m',
      method: 'eg',
      samples: 128,
      seed: 1,
      reference: { description: 'all', filter: {}, size: 300 },
      patientId: patch.patientId ?? 'p1',
      revision: 0,
      edits: [],
      risk: 0.3,
      attribution: 0.2,
      attributionRank: kind === 'event' ? 1 : null,
      attributionWeight: patch.weight === undefined ? 1 : patch.weight,
      eventCount: 4,
    },
  };
}

const file = (entries: unknown[], patch: object = {}) => JSON.stringify({ format: 'exbehrt-feedback', version: 1, exportedAt: '2024-05-01T00:00:00.000Z', entries, ...patch });

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FeedbackFileError);
    return (e as Error).message;
  }
  throw new Error('expected a FeedbackFileError');
}

/** Storage that records every call, so a test can show that nothing touched it. */
function spied(inner: FeedbackStorage = memoryFeedbackStorage()) {
  const calls: string[] = [];
  const storage: FeedbackStorage = {
    list: () => (calls.push('list'), inner.list()),
    put: (e) => (calls.push(`put ${e.id}`), inner.put(e)),
    delete: (id) => (calls.push(`delete ${id}`), inner.delete(id)),
    clear: () => (calls.push('clear'), inner.clear()),
  };
  return { storage, calls, inner };
}

function memoryFlag(on = false): EnabledFlag & { value: boolean } {
  const flag = { value: on, get: () => flag.value, set: (b: boolean) => void (flag.value = b) };
  return flag;
}

describe('the feedback file', () => {
  it('round-trips every field through serialize and parse', () => {
    const entries = [entry('a1', { verdict: 'implausible' }), entry('a2', { kind: 'visit', weight: 0.5 }), entry('a3', { kind: 'explanation' })];
    entries[0].note = 'BNP high, but "quoted" and\nmultiline';
    entries[0].context.reference.filter = { ageMin: 60, ageMax: 70, sex: 'F', diagnosis: 'I' };
    entries[1].context.risk = null;
    entries[2].context.edits = ['removed I10 on 2019-01-10'];
    const text = serializeFeedback(entries, '2024-06-01T00:00:00.000Z');
    expect(JSON.parse(text)).toMatchObject({ format: 'exbehrt-feedback', version: 1, exportedAt: '2024-06-01T00:00:00.000Z' });
    expect(parseFeedbackFile(text, 'feedback.json')).toEqual(entries);
  });

  it('names the file and the exact field of the first problem', () => {
    const good = [entry('a1'), entry('a2')];
    expect(errorOf(() => parseFeedbackFile('{"format": ', 'feedback.json'))).toMatch(/^feedback\.json: not valid JSON \(/);
    expect(errorOf(() => parseFeedbackFile(file(good, { format: 'exbehrt-attribution' }), 'feedback.json'))).toBe(
      'feedback.json: format: expected "exbehrt-feedback" (not a feedback file of this workbench)',
    );
    expect(errorOf(() => parseFeedbackFile('[]', 'feedback.json'))).toBe('feedback.json: (root): expected a JSON object with format "exbehrt-feedback"');
    expect(errorOf(() => parseFeedbackFile(file(good, { version: 2 }), 'f.json'))).toBe('f.json: version: expected 1 (a newer workbench wrote this file?)');
    expect(errorOf(() => parseFeedbackFile(file([...good, { ...entry('a3'), verdict: 'maybe' }]), 'feedback.json'))).toBe(
      'feedback.json: entries[2].verdict: expected one of plausible, implausible, unsure',
    );
    const { verdict: _, ...noVerdict } = entry('a3');
    expect(errorOf(() => parseFeedbackFile(file([noVerdict]), 'feedback.json'))).toBe('feedback.json: entries[0].verdict: required field is missing');
    const noPatient = entry('a3');
    delete (noPatient.context as Partial<FeedbackEntry['context']>).patientId;
    expect(errorOf(() => parseFeedbackFile(file([...good, noPatient]), 'feedback.json'))).toBe('feedback.json: entries[2].context.patientId: required field is missing');
    const badSize = entry('a3');
    badSize.context.reference.size = -1;
    expect(errorOf(() => parseFeedbackFile(file([badSize]), 'x.json'))).toBe('x.json: entries[0].context.reference.size: expected 0 or more');
    expect(errorOf(() => parseFeedbackFile(file([{ ...entry('a3'), target: { kind: 'code' } }]), 'x.json'))).toBe('x.json: entries[0].target.kind: expected kind event, visit or explanation');
    expect(errorOf(() => parseFeedbackFile(file([entry('a1'), entry('a1')]), 'x.json'))).toBe('x.json: entries[1].id: "a1" appears twice in the file');
  });

  it('merges by id: entries already present are counted as duplicates and kept as they are', () => {
    const existing = [entry('a1', { verdict: 'implausible' }), entry('a2')];
    const incoming = [entry('a1', { verdict: 'plausible' }), entry('a3')];
    const merged = mergeFeedback(existing, incoming);
    expect(merged.added.map((e) => e.id)).toEqual(['a3']);
    expect(merged.duplicates).toBe(1);
    expect(merged.entries.map((e) => e.id)).toEqual(['a1', 'a2', 'a3']);
    expect(merged.entries[0].verdict).toBe('implausible');
    expect(mergeFeedback(merged.entries, incoming).added).toEqual([]);
  });
});

describe('the attribution recorded with a target', () => {
  it('an event: its value, the rank of |value| among real events, the weight relative to the top event', () => {
    const r = result();
    expect(feedbackTargetFor(patient, r, { kind: 'event', visit: 0, event: 1 })).toEqual({
      target: { kind: 'event', visit: 0, event: 1, modality: 'lab', code: '33762-6', description: expect.any(String), date: '2019-01-10' },
      attribution: -0.4,
      attributionRank: 1,
      attributionWeight: 1,
      eventCount: 4,
    });
    const e = feedbackTargetFor(patient, r, { kind: 'event', visit: 1, event: 0 });
    expect([e.attribution, e.attributionRank, e.attributionWeight]).toEqual([0.3, 2, 0.3 / 0.4]);
  });

  it('a visit: its total, weighed against the largest visit total; the whole explanation: logit minus reference logit', () => {
    const v = feedbackTargetFor(patient, result(), { kind: 'visit', visit: 0 });
    expect(v).toMatchObject({ target: { kind: 'visit', visit: 0, date: '2019-01-10' }, attribution: -0.3, attributionRank: null });
    expect(v.attributionWeight).toBeCloseTo(0.3 / 0.35);
    expect(feedbackTargetFor(patient, result(), { kind: 'explanation' })).toEqual({ target: { kind: 'explanation' }, attribution: 1, attributionRank: null, attributionWeight: 1, eventCount: 4 });
  });

  it('an event the model did not read has no attribution, and a visit the patient lacks is refused', () => {
    const r = result();
    r.events = r.events.filter((e) => e.visit !== 1);
    expect(feedbackTargetFor(patient, r, { kind: 'event', visit: 1, event: 1 })).toMatchObject({ attribution: null, attributionRank: null, attributionWeight: null, eventCount: 2 });
    expect(() => feedbackTargetFor(patient, r, { kind: 'visit', visit: 5 })).toThrow('patient p1 has no visit 6');
  });
});

describe('where clinicians disagree with the model', () => {
  it('ranks by the share of implausible verdicts times the mean model weight, per task and code', () => {
    const entries = [
      // hf_12m diagnosis:I10: 2 of 3 implausible, mean weight 0.8 -> 0.533
      entry('e1', { verdict: 'implausible', weight: 1, patientId: 'p1' }),
      entry('e2', { verdict: 'implausible', weight: 0.8, patientId: 'p2' }),
      entry('e3', { verdict: 'plausible', weight: 0.6, patientId: 'p2' }),
      // all implausible but weighed lightly by the model: 1 x 0.2 = 0.2
      entry('e4', { verdict: 'implausible', code: 'E11.9', weight: 0.2 }),
      entry('e5', { verdict: 'implausible', code: 'E11.9', weight: 0.2 }),
      // visits: 1 of 2 implausible, weight 0.5 -> 0.25 (unsure counts in the share's denominator)
      entry('e6', { verdict: 'implausible', kind: 'visit', weight: 0.5 }),
      entry('e7', { verdict: 'unsure', kind: 'visit', weight: 0.5 }),
      // the whole explanation found plausible: 0
      entry('e8', { kind: 'explanation' }),
      entry('e9', { kind: 'explanation', patientId: 'p3' }),
      // the same code under another task is its own row: 1 x 0.9
      entry('e10', { verdict: 'implausible', task: 'death_6m', weight: 0.9 }),
      // no weight known: counted, but scores 0
      entry('e11', { verdict: 'implausible', code: 'J44.9', weight: null }),
    ];
    const rows = disagreementSummary(entries);
    expect(rows.map((r) => `${r.task} ${r.key}`)).toEqual([
      'death_6m diagnosis:I10',
      'hf_12m diagnosis:I10',
      'hf_12m visit',
      'hf_12m diagnosis:E11.9',
      // equal scores: more implausible verdicts first, then by task and key
      'hf_12m diagnosis:J44.9',
      'hf_12m whole explanation',
    ]);
    const i10 = rows[1];
    expect(i10.counts).toEqual({ plausible: 1, implausible: 2, unsure: 0 });
    expect(i10.total).toBe(3);
    expect(i10.patients).toBe(2);
    expect(i10.meanWeight).toBeCloseTo(0.8);
    expect(i10.implausibleShare).toBeCloseTo(2 / 3);
    expect(i10.score).toBeCloseTo(0.5333, 4);
    expect(rows.map((r) => Number(r.score.toFixed(4)))).toEqual([0.9, 0.5333, 0.25, 0.2, 0, 0]);
    expect(rows[4].meanWeight).toBeNull();
    expect(rows[5]).toMatchObject({ kind: 'explanation', patients: 2, counts: { plausible: 2, implausible: 0, unsure: 0 } });
  });
});

describe('the feedback store', () => {
  const input = (verdict: FeedbackVerdict = 'implausible') => feedbackInput({ verdict, note: '  too high  ', choice: { kind: 'event', visit: 0, event: 1 }, patient, explanation, source: context });

  it('stores nothing in the browser while keeping is off', async () => {
    const { storage, calls } = spied();
    const store = createFeedbackStore({ storage, enabledFlag: memoryFlag(false) });
    expect(store.getState().persist).toBe(false);
    const added = await store.getState().add(input());
    await store.getState().importText(serializeFeedback([entry('x1')]), 'in.json');
    await store.getState().remove(added!.id);
    await store.getState().load();
    await store.getState().clearAll();
    expect(calls).toEqual([]);
  });

  it('writes every entry once keeping is on, restores them at the next start, and clearAll empties the storage', async () => {
    const { storage, inner } = spied();
    const flag = memoryFlag(false);
    const store = createFeedbackStore({ storage, enabledFlag: flag });
    const first = await store.getState().add(input());
    await store.getState().setPersist(true);
    expect(flag.value).toBe(true);
    const second = await store.getState().add(input('unsure'));
    expect((await inner.list()).map((e) => (e as FeedbackEntry).id)).toEqual([first!.id, second!.id]);

    const next = createFeedbackStore({ storage, enabledFlag: flag });
    expect(next.getState().persist).toBe(true);
    await next.getState().load();
    expect(next.getState().entries).toEqual(store.getState().entries);

    await next.getState().remove(first!.id);
    expect(await inner.list()).toHaveLength(1);
    await next.getState().clearAll();
    expect(await inner.list()).toEqual([]);
    expect(next.getState().entries).toEqual([]);
  });

  it('turning keeping off deletes what was kept but keeps the page\'s feedback', async () => {
    const { storage, inner } = spied();
    const flag = memoryFlag(true);
    const store = createFeedbackStore({ storage, enabledFlag: flag });
    await store.getState().add(input());
    expect(await inner.list()).toHaveLength(1);
    await store.getState().setPersist(false);
    expect(flag.value).toBe(false);
    expect(await inner.list()).toEqual([]);
    expect(store.getState().entries).toHaveLength(1);
  });

  it('does not read the storage at start-up unless keeping is enabled', async () => {
    const { storage, calls } = spied(memoryFeedbackStorage([entry('k1')]));
    const store = createFeedbackStore({ storage, enabledFlag: memoryFlag(false) });
    await store.getState().load();
    expect(calls).toEqual([]);
    expect(store.getState().entries).toEqual([]);
  });

  it('leaves out stored entries it cannot read, and says so', async () => {
    const broken = { ...entry('k2'), verdict: 'maybe' } as unknown as FeedbackEntry;
    const store = createFeedbackStore({ storage: memoryFeedbackStorage([entry('k1'), broken]), enabledFlag: memoryFlag(true) });
    await store.getState().load();
    expect(store.getState().entries.map((e) => e.id)).toEqual(['k1']);
    expect(store.getState().error).toBe('1 feedback entry kept in this browser could not be read and was left out (first: verdict: expected one of plausible, implausible, unsure)');
  });

  it('says when the browser storage fails, keeping the feedback in the page; without IndexedDB keeping cannot be turned on', async () => {
    const failing: FeedbackStorage = { ...memoryFeedbackStorage(), put: async () => Promise.reject(new Error('QuotaExceededError')) };
    const store = createFeedbackStore({ storage: failing, enabledFlag: memoryFlag(true) });
    await store.getState().add(input());
    expect(store.getState().entries).toHaveLength(1);
    expect(store.getState().error).toBe('Keeping the feedback failed in this browser\'s storage: QuotaExceededError. The feedback on this page is unaffected.');

    const flag = memoryFlag(false);
    const noIdb = createFeedbackStore({ enabledFlag: flag });
    expect(noIdb.getState().canPersist).toBe(false);
    await noIdb.getState().setPersist(true);
    expect(noIdb.getState().persist).toBe(false);
    expect(flag.value).toBe(false);
    expect(noIdb.getState().error).toBe('This browser offers no IndexedDB: feedback stays in this page only.');
  });

  it('imports all or nothing: a file with one bad entry adds none and names the entry', async () => {
    const store = createFeedbackStore({ storage: memoryFeedbackStorage(), enabledFlag: memoryFlag(false) });
    await store.getState().add(input());
    const before = store.getState().entries;
    const bad = file([entry('i1'), entry('i2'), { ...entry('i3'), verdict: 'wrong' }]);
    expect(await store.getState().importText(bad, 'clinic-a.json')).toBeNull();
    expect(store.getState().entries).toBe(before);
    expect(store.getState().error).toBe('Feedback not imported: clinic-a.json: entries[2].verdict: expected one of plausible, implausible, unsure');
    expect(await store.getState().importText(file([entry('i1'), entry('i2')]), 'clinic-a.json')).toEqual({ added: 2, duplicates: 0 });
    expect(store.getState().error).toBeNull();
    expect(await store.getState().importText(file([entry('i1'), entry('i4')]), 'clinic-b.json')).toEqual({ added: 1, duplicates: 1 });
    expect(store.getState().entries).toHaveLength(4);
  });

  it('refuses an entry that would not survive export (a non-finite attribution)', async () => {
    const store = createFeedbackStore({ enabledFlag: memoryFlag(false) });
    const broken = input();
    broken.context.attribution = NaN;
    expect(await store.getState().add(broken)).toBeNull();
    expect(store.getState().entries).toEqual([]);
    expect(store.getState().error).toMatch(/^Feedback not added: context\.attribution: /);
  });
});

describe('the feedback panel', () => {
  const render = (props: Partial<Parameters<typeof FeedbackPanel>[0]> & Pick<Parameters<typeof FeedbackPanel>[0], 'store'>) =>
    renderToStaticMarkup(<FeedbackPanel patient={patient} explanation={explanation} pinnedId="0:1" context={context} {...props} />);

  it('offers the whole explanation, the pinned event (chosen by default) and a visit by its number', () => {
    expect(targetOptions(patient, '0:1').map((o) => o.value)).toEqual(['explanation', 'event:0:1', 'visit']);
    expect(targetOptions(patient, null).map((o) => o.label)).toEqual(['The whole explanation', 'A visit (1 to 2)']);
    expect(targetOptions(patient, '7:0').map((o) => o.value)).toEqual(['explanation', 'visit']);
    expect(targetOptions({ ...patient, visits: patient.visits.slice(0, 1) }, null).map((o) => o.label)).toEqual(['The whole explanation', 'The visit']);
    expect(targetOptions({ ...patient, visits: [] }, null).map((o) => o.value)).toEqual(['explanation']);
    // the typed number is 1-based, as shown; anything else names the range
    expect(visitChoice(patient, '2')).toEqual({ choice: { kind: 'visit', visit: 1 }, error: null });
    for (const typed of ['', '0', '3', '1.5', 'x', '-1']) expect(visitChoice(patient, typed)).toEqual({ choice: null, error: 'The visit number must be a whole number from 1 to 2.' });
    const store = createFeedbackStore({ enabledFlag: memoryFlag(false) });
    const html = render({ store });
    expect(html).toMatch(/<option value="event:0:1" selected="">Pinned event: 33762-6 — [^<]+ \(2019-01-10\)<\/option>/);
    expect(html).toContain('aria-label="Clinician feedback"');
    expect(html).toContain('<legend>Verdict</legend>');
    expect(html).toMatch(/data-testid="feedback-persist"[^>]*disabled=""/);
    expect(html).toContain('The model now: attribution −0.400, rank 1 of 4 events.');
    // no verdict chosen yet
    expect(html).toMatch(/<button type="submit" data-testid="feedback-add" disabled=""/);
    const without = render({ store, explanation: { ...explanation, result: null, status: 'running' }, pinnedId: null });
    expect(without).toMatch(/<option value="explanation" selected="">/);
    expect(without).toContain('Needs an explanation of this patient.');
  });

  it('lists this patient\'s feedback on the pinned event and the whole explanation; export and import give the same entries back', async () => {
    const store = createFeedbackStore({ storage: memoryFeedbackStorage(), enabledFlag: memoryFlag(false) });
    // what the panel's Add button submits, for the pinned event and for the whole explanation
    const options = targetOptions(patient, '0:1');
    await store.getState().add(feedbackInput({ verdict: 'implausible', note: 'BNP drawn after the admission', choice: options[1].choice!, patient, explanation, source: context }));
    await store.getState().add(feedbackInput({ verdict: 'plausible', note: '', choice: options[0].choice!, patient, explanation, source: context }));
    // another patient's feedback is not listed here, but counts in the summary
    await store.getState().importText(serializeFeedback([entry('other', { patientId: 'p9', verdict: 'implausible', code: '33762-6' })]), 'other.json');

    const html = render({ store });
    const items = html.match(/data-testid="feedback-item"/g) ?? [];
    expect(items).toHaveLength(2);
    expect(html).toContain('Clinically implausible</strong> — lab 33762-6');
    expect(html).toContain('<q class="feedback-note-text">BNP drawn after the admission</q>');
    expect(html).toContain('hf_12m, eg, attribution −0.400, rank 1 of 4 events');
    expect(html).toContain('The whole explanation');
    expect(html).toContain('attribution +1.000');
    expect(html).toMatch(/data-testid="feedback-summary"[\s\S]*<caption>Feedback on ExBEHRT demo, all patients/);
    expect(html).toMatch(/<th scope="row">lab:33762-6/);

    const text = store.getState().exportText();
    const exported = JSON.parse(text);
    expect(exported.entries).toHaveLength(3);
    const pinned = exported.entries.find((e: FeedbackEntry) => e.target.kind === 'event' && e.context.patientId === 'p1');
    expect(pinned.target).toMatchObject({ code: '33762-6', visit: 0, event: 1 });
    expect(pinned.context).toMatchObject({
      modelId: 'exbehrt',
      modelName: 'ExBEHRT demo',
      task: 'hf_12m',
      method: 'eg',
      samples: 128,
      seed: 7,
      reference: { description: 'reference set, female', filter: { sex: 'F' }, size: 120 },
      patientId: 'p1',
      revision: 0,
      risk: 0.42,
    });

    const fresh = createFeedbackStore({ enabledFlag: memoryFlag(false) });
    expect(await fresh.getState().importText(text, 'exbehrt-feedback-2024-05-01.json')).toEqual({ added: 3, duplicates: 0 });
    expect(fresh.getState().entries).toEqual(store.getState().entries);
  });
});
