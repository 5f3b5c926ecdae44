// The code map: how a source code (SNOMED CT, RxNorm, LOINC, CVX, ...) becomes a code of the model's
// vocabulary (ICD-10 diagnoses, SNOMED CT procedures, ATC medications, LOINC labs/vitals, local
// smoking/characteristic codes). Maps are plain JSON (`codemap.json`, format `exbehrt-codemap` v1),
// so a model folder can carry its own; the project ships SHIPPED_CODE_MAP for what Synthea emits.
// See docs/importing.md for the format and the sources of the shipped map.
import { z } from 'zod';
import { MODALITIES, type Modality } from '../schema';
import { issueLines } from '../zod-issues';
import { ImportError, type SourceEvent } from './source';
import { SYNTHEA_MAP_JSON } from './maps/synthea-to-exbehrt';

export interface CodeMapEntry {
  modality: Modality;
  code: string;
}

/** A rule that adds an event computed from a mapped numeric event (e.g. BMI value -> BMI class),
 *  mirroring how the synthetic generator makes the same codes. */
export interface DeriveRule {
  /** the mapped event it reads: modality and code, e.g. vital 39156-5 */
  from: CodeMapEntry;
  /** modality of the derived event */
  modality: Modality;
  /** only for patients at least this old at the event (adult cut-offs do not apply to children) */
  minAge?: number;
  /** ascending: the first bin whose `below` exceeds the value wins; a bin without `below` catches the rest */
  bins: Array<{ below?: number; code: string }>;
  note?: string;
}

/**
 * codemap.json (all keys except format/version optional):
 * {
 *   "format": "exbehrt-codemap", "version": 1, "name": "...", "sources": ["..."],
 *   "codes":  { "<SYSTEM>|<code>": { "modality": "diagnosis", "code": "I10" } },
 *   "values": { "<SYSTEM>|<code>": { "<SYSTEM>|<value code>": {...}, "text:<value display, lower case>": {...} } },
 *   "derive": [ DeriveRule ],
 *   "notes":  { "<SYSTEM>|<code>": "why this mapping" }
 * }
 * SYSTEM is the pipeline's code system name (SNOMED, ICD10CM, ICD9CM, RxNorm, ATC, LOINC, CVX, local).
 * "values" is for observations whose meaning is in a coded value (smoking status 72166-2): when a
 * code has a values table, only its values are mapped and an unknown value leaves the event unmapped.
 */
export interface CodeMap {
  format: 'exbehrt-codemap';
  version: 1;
  name?: string;
  sources?: string[];
  codes: Record<string, CodeMapEntry>;
  values: Record<string, Record<string, CodeMapEntry>>;
  derive: DeriveRule[];
  notes: Record<string, string>;
}

const entry = z.object({ modality: z.enum(MODALITIES), code: z.string().min(1, 'code must not be empty') });
const key = z.string().regex(/^[^|]+\|[^|]+$/, 'keys are "<SYSTEM>|<code>"');
const CodeMapSchema = z.object({
  format: z.literal('exbehrt-codemap'),
  version: z.literal(1),
  name: z.string().optional(),
  sources: z.array(z.string()).optional(),
  codes: z.record(key, entry).default({}),
  values: z.record(key, z.record(z.string().min(1), entry)).default({}),
  derive: z
    .array(
      z.object({
        from: entry,
        modality: z.enum(MODALITIES),
        minAge: z.number().nonnegative().optional(),
        bins: z.array(z.object({ below: z.number().finite().optional(), code: z.string().min(1) })).min(1),
        note: z.string().optional(),
      }),
    )
    .default([]),
  notes: z.record(z.string(), z.string()).default({}),
});

/** Parse and check a codemap.json; errors name the file and the field. */
export function parseCodeMap(json: unknown, source: string): CodeMap {
  const res = CodeMapSchema.safeParse(json);
  if (!res.success) throw new ImportError(issueLines(res.error, source).join('\n'));
  return res.data as CodeMap;
}

/** Layer maps: later maps win (a model folder's map over the shipped one). */
export function mergeCodeMaps(...maps: CodeMap[]): CodeMap {
  const out: CodeMap = { format: 'exbehrt-codemap', version: 1, name: maps.map((m) => m.name ?? '?').join(' + '), sources: [], codes: {}, values: {}, derive: [], notes: {} };
  for (const m of maps) {
    out.sources!.push(...(m.sources ?? []));
    Object.assign(out.codes, m.codes);
    for (const [k, v] of Object.entries(m.values)) out.values[k] = { ...(out.values[k] ?? {}), ...v };
    // a later rule for the same source event replaces the earlier one
    out.derive = [...out.derive.filter((r) => !m.derive.some((d) => d.from.modality === r.from.modality && d.from.code === r.from.code)), ...m.derive];
    Object.assign(out.notes, m.notes);
  }
  return out;
}

export const SHIPPED_CODE_MAP: CodeMap = parseCodeMap(SYNTHEA_MAP_JSON, 'src/data/import/maps/synthea-to-exbehrt.ts');

/** The vital-sign LOINCs of the model (src/data/codes.ts); other LOINCs pass through as labs. */
export const VITAL_LOINC = new Set(['29463-7', '39156-5', '8480-6', '8462-4', '8867-4', '9279-1', '59408-5', '8310-5']);

/** ICD-10(-CM) with the dot after the category: "E119" -> "E11.9", "I10" stays, "e11.9" -> "E11.9". */
export function normaliseIcd10(code: string): string {
  const c = code.trim().toUpperCase().replace('.', '');
  return c.length > 3 ? `${c.slice(0, 3)}.${c.slice(3)}` : c;
}

export interface MappedEvent {
  modality: Modality;
  code: string;
  value?: number;
  unit?: string;
  /** which rule mapped it, for the coverage report and debugging */
  how: string;
}

const withValue = (m: CodeMapEntry, e: SourceEvent, how: string): MappedEvent => {
  const out: MappedEvent = { modality: m.modality, code: m.code, how };
  // only labs and vitals carry values in a timeline (the tokenizer bins them)
  if ((m.modality === 'lab' || m.modality === 'vital') && e.value !== undefined && Number.isFinite(e.value)) {
    out.value = e.value;
    if (e.unit) out.unit = e.unit;
  }
  return out;
};

/** Map one source event to the model's vocabulary; null = unmapped (the pipeline keeps it as an
 *  unknown code and lists it). Order: coded-value table, explicit code map, then pass-through of
 *  codes already in a model code system (ICD-10-CM, LOINC, SNOMED CT procedures, ATC). */
export function mapEvent(map: CodeMap, e: SourceEvent): MappedEvent | null {
  const k = `${e.system}|${e.code}`;
  const values = map.values[k];
  if (values) {
    const v = e.valueCode;
    if (!v) return null;
    const hit = values[`${v.system}|${v.code}`] ?? (v.display ? values[`text:${v.display.trim().toLowerCase()}`] : undefined);
    return hit ? { modality: hit.modality, code: hit.code, how: 'code map (coded value)' } : null;
  }
  const m = map.codes[k];
  if (m) return withValue(m, e, 'code map');
  switch (e.system) {
    case 'ICD10CM':
    case 'ICD10':
      if (e.kind === 'condition' || e.kind === 'death' || e.kind === 'other')
        return { modality: 'diagnosis', code: normaliseIcd10(e.code), how: 'ICD-10-CM pass-through' };
      return null;
    case 'LOINC':
      if (e.kind === 'observation') {
        const modality: Modality = VITAL_LOINC.has(e.code) ? 'vital' : 'lab';
        return withValue({ modality, code: e.code }, e, 'LOINC pass-through');
      }
      return null;
    case 'SNOMED':
      // the model's procedure vocabulary is SNOMED CT: a procedure concept is already in its system
      if (e.kind === 'procedure') return { modality: 'procedure', code: e.code, how: 'SNOMED CT procedure pass-through' };
      return null;
    case 'ATC':
      if (e.kind === 'medication') return { modality: 'medication', code: e.code.trim().toUpperCase(), how: 'ATC pass-through' };
      return null;
    default:
      return null;
  }
}

/** Events derived from a mapped event (BMI class from a BMI value), given the age at the event. */
export function deriveEvents(map: CodeMap, m: MappedEvent, ageYears: number): MappedEvent[] {
  if (m.value === undefined) return [];
  const out: MappedEvent[] = [];
  for (const r of map.derive) {
    if (r.from.modality !== m.modality || r.from.code !== m.code) continue;
    if (r.minAge !== undefined && ageYears < r.minAge) continue;
    const bin = r.bins.find((b) => b.below === undefined || m.value! < b.below);
    if (bin) out.push({ modality: r.modality, code: bin.code, how: `derived from ${m.modality} ${m.code}` });
  }
  return out;
}

/** Timeline modality for an unmapped event: where the model would have put it had it been mapped. */
export function fallbackModality(e: SourceEvent): Modality {
  switch (e.kind) {
    case 'condition':
    case 'death':
      return 'diagnosis';
    case 'procedure':
    case 'immunization':
      return 'procedure';
    case 'medication':
      return 'medication';
    default:
      return 'lab';
  }
}

/** The code an unmapped event keeps in the timeline: its source system and code, so that nobody
 *  mistakes it for a model code (the tokenizer maps it to UNK). Diagnosis codes starting with `C`
 *  mean cancer in this project (src/data/codes.ts), so a system name starting with C gets a prefix. */
export function unmappedCode(e: SourceEvent, modality: Modality): string {
  const c = `${e.system}:${e.code}`;
  return modality === 'diagnosis' && /^c/i.test(c) ? `SRC:${c}` : c;
}
