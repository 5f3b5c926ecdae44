// FHIR R4 reader: transaction/collection/searchset Bundles (.json, one file per patient as Synthea
// writes them), single resources (.json) and Bulk Data NDJSON (.ndjson, one resource a line, one file
// per resource type). References may be `urn:uuid:` fullUrls (inside a bundle), relative
// `Patient/<id>`, absolute `https://.../Patient/<id>`, or conditional `Patient?identifier=sys|value`.
// Only what the model needs is kept: gender, birth date, death, and dated coded events; every other
// Patient field is listed as removed. A structurally bad resource is an ImportError naming the file,
// the resource (or line) and the field; a resource the model has no use for is counted as skipped.
import { ImportError, type CodeSystem, type ReadOptions, type SourceEvent, type SourceFile, type SourceKind, type SourcePerson, type SourceRead } from './source';
import { makeTicker } from './pipeline';

/** FHIR code system URIs -> pipeline code systems */
const SYSTEMS: Record<string, CodeSystem> = {
  'http://snomed.info/sct': 'SNOMED',
  'http://hl7.org/fhir/sid/icd-10-cm': 'ICD10CM',
  'http://hl7.org/fhir/sid/icd-10': 'ICD10CM',
  'http://hl7.org/fhir/sid/icd-9-cm': 'ICD9CM',
  'http://www.nlm.nih.gov/research/umls/rxnorm': 'RxNorm',
  'http://www.whocc.no/atc': 'ATC',
  'http://loinc.org': 'LOINC',
  'http://hl7.org/fhir/sid/cvx': 'CVX',
};
/** when a CodeableConcept has several codings, the first system in this list wins */
const PREFERENCE: CodeSystem[] = ['ICD10CM', 'SNOMED', 'ICD9CM', 'RxNorm', 'ATC', 'LOINC', 'CVX'];

/** resources read for events; everything else is counted and skipped */
const CLINICAL = new Set(['Condition', 'Procedure', 'MedicationRequest', 'MedicationStatement', 'MedicationAdministration', 'Observation', 'Immunization']);
const SKIP_REASON: Record<string, string> = {
  Encounter: 'Encounter: used to group events into visits',
  Medication: 'Medication: read through medication references',
  DiagnosticReport: 'DiagnosticReport: its results are read as Observations',
  Claim: 'Claim: billing, not clinical',
  ExplanationOfBenefit: 'ExplanationOfBenefit: billing, not clinical',
  Coverage: 'Coverage: billing, not clinical',
  Organization: 'Organization: not about the patient',
  Practitioner: 'Practitioner: not about the patient',
  PractitionerRole: 'PractitionerRole: not about the patient',
  Location: 'Location: not about the patient',
  Provenance: 'Provenance: not clinical',
};
/** statuses that mean "this did not happen" */
const NOT_HAPPENED = new Set(['entered-in-error', 'not-done', 'refuted', 'cancelled', 'stopped-before-start']);
/** Patient fields kept (everything else is listed as removed) */
const PATIENT_KEPT = new Set(['resourceType', 'id', 'meta', 'gender', 'birthDate', 'deceasedDateTime', 'deceasedBoolean', 'active']);

type Json = Record<string, unknown>;
interface Res {
  r: Json;
  type: string;
  /** `Observation/abc in bundle x.json` or `x.ndjson line 12` */
  where: string;
  /** the file's fullUrl for bundle entries */
  fullUrl?: string;
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function readFhir(files: SourceFile[], opts: ReadOptions = {}): Promise<SourceRead> {
  const totalBytes = files.reduce((s, f) => s + (f.text?.length ?? f.bytes?.length ?? 0), 0);
  const tick = makeTicker(opts, totalBytes);
  const resources: Res[] = [];
  const recordsRead: Record<string, number> = {};
  const skipped: Record<string, number> = {};
  let doneBytes = 0;
  // 1. parse every file into resources
  for (const f of files) {
    const text = f.text ?? (f.bytes ? new TextDecoder('utf-8', { fatal: false }).decode(f.bytes) : undefined);
    if (text === undefined) throw new ImportError(`${f.name}: no contents`);
    const t = text.replace(/^\uFEFF/, '');
    const ndjson = /\.ndjson$/i.test(f.name) || (!/\.json$/i.test(f.name) && looksLikeNdjson(t));
    if (ndjson) {
      const lines = t.split('\n');
      let offset = 0;
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i].trim();
        offset += lines[i].length + 1;
        if (!line) continue;
        let r: unknown;
        try {
          r = JSON.parse(line);
        } catch (e) {
          throw new ImportError(`${f.name} line ${i + 1}: not valid JSON (${(e as Error).message})`);
        }
        addResource(r, `${f.name} line ${i + 1}`, undefined);
        if (i % 1000 === 0) await tick(doneBytes + offset);
      }
    } else {
      if (!t.trim()) throw new ImportError(`${f.name}: file is empty`);
      let j: unknown;
      try {
        j = JSON.parse(t);
      } catch (e) {
        throw new ImportError(`${f.name}: not valid JSON (${(e as Error).message})`);
      }
      if (isObj(j) && j.resourceType === 'Bundle') {
        if (!Array.isArray(j.entry)) {
          if (j.entry === undefined) continue; // an empty bundle is valid FHIR
          throw new ImportError(`${f.name}: Bundle, field entry: expected an array`);
        }
        j.entry.forEach((en, i) => {
          if (!isObj(en)) throw new ImportError(`${f.name}: Bundle entry ${i + 1}: expected an object`);
          if (en.resource === undefined) throw new ImportError(`${f.name}: Bundle entry ${i + 1}, field resource: missing`);
          if (en.fullUrl !== undefined && typeof en.fullUrl !== 'string') throw new ImportError(`${f.name}: Bundle entry ${i + 1}, field fullUrl: expected a string`);
          addResource(en.resource, `${f.name} entry ${i + 1}`, en.fullUrl as string | undefined);
        });
      } else addResource(j, f.name, undefined);
    }
    doneBytes += text.length;
    await tick(doneBytes);
  }

  function addResource(r: unknown, where: string, fullUrl: string | undefined): void {
    if (!isObj(r)) throw new ImportError(`${where}: expected a FHIR resource (a JSON object)`);
    if (typeof r.resourceType !== 'string' || !r.resourceType) throw new ImportError(`${where}, field resourceType: missing`);
    if (r.id !== undefined && typeof r.id !== 'string') throw new ImportError(`${where} (${r.resourceType}), field id: expected a string`);
    const type = r.resourceType;
    const label = `${type}/${(r.id as string | undefined) ?? '?'}`;
    recordsRead[type] = (recordsRead[type] ?? 0) + 1;
    if (type === 'Bundle') {
      // bundles nested in NDJSON or in a bundle: not a Bulk Data shape; say so rather than guess
      skipped['Bundle: nested bundle not read'] = (skipped['Bundle: nested bundle not read'] ?? 0) + 1;
      return;
    }
    resources.push({ r, type, where: where.includes(' entry ') ? `${label} (${where})` : `${label} in ${where}`, fullUrl });
  }

  // 2. index patients and encounters for references
  const persons: SourcePerson[] = [];
  const personIndex = new Map<string, string>(); // reference form -> person key
  const encounterStart = new Map<string, string>(); // encounter key -> YYYY-MM-DD
  const encounterIndex = new Map<string, string>(); // reference form -> encounter key
  const medications = new Map<string, { coding: Json }>();
  const indexRef = (index: Map<string, string>, res: Res, key: string) => {
    const id = res.r.id as string | undefined;
    if (id) {
      index.set(`${res.type}/${id}`, key);
    }
    if (res.fullUrl) index.set(res.fullUrl, key);
    for (const idf of Array.isArray(res.r.identifier) ? res.r.identifier : []) {
      if (isObj(idf) && typeof idf.value === 'string') {
        index.set(`${res.type}?identifier=${typeof idf.system === 'string' ? idf.system + '|' : ''}${idf.value}`, key);
        index.set(`${res.type}?identifier=${idf.value}`, key);
      }
    }
  };
  for (const res of resources) {
    if (res.type === 'Patient') {
      const p = readPatient(res);
      if (personIndex.has(p.key)) throw new ImportError(`${res.where}: the same patient appears twice in the files`);
      personIndex.set(p.key, p.key);
      indexRef(personIndex, res, p.key);
      persons.push(p);
    } else if (res.type === 'Encounter') {
      const key = encounterKey(res);
      indexRef(encounterIndex, res, key);
      const start = periodStart(res.r.period, res.where, 'period.start');
      if (start) encounterStart.set(key, start);
      skip(SKIP_REASON.Encounter);
    } else if (res.type === 'Medication') {
      const cc = res.r.code;
      const key = res.r.id ? `Medication/${res.r.id}` : res.fullUrl;
      if (key && isObj(cc)) {
        medications.set(key, { coding: cc });
        if (res.fullUrl) medications.set(res.fullUrl, { coding: cc });
      }
      skip(SKIP_REASON.Medication);
    }
  }
  function skip(reason: string) {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  }

  // 3. events
  const events: SourceEvent[] = [];
  let n = 0;
  for (const res of resources) {
    if (++n % 2000 === 0) await tick(totalBytes);
    if (res.type === 'Patient' || res.type === 'Encounter' || res.type === 'Medication') continue;
    if (!CLINICAL.has(res.type)) {
      skip(SKIP_REASON[res.type] ?? `${res.type}: not used by the model`);
      continue;
    }
    const r = res.r;
    const status = typeof r.status === 'string' ? r.status : undefined;
    const verification = codingCode(r.verificationStatus);
    if ((status && NOT_HAPPENED.has(status)) || (verification && NOT_HAPPENED.has(verification))) {
      skip(`${res.type}: status ${verification && NOT_HAPPENED.has(verification) ? verification : status}`);
      continue;
    }
    // Immunization names its patient `patient`; the other resources read here use `subject`
    const subjectField = res.type === 'Immunization' && r.subject === undefined ? 'patient' : 'subject';
    const subjectRef = reference(r[subjectField], res, subjectField);
    const person = resolve(personIndex, subjectRef, 'Patient');
    if (!person) {
      skip(`${res.type}: subject not among the Patients read`);
      continue;
    }
    const encRef = r.encounter !== undefined ? reference(r.encounter, res, 'encounter') : r.context !== undefined ? reference(r.context, res, 'context') : undefined;
    const encounter = encRef ? (resolve(encounterIndex, encRef, 'Encounter') ?? encRef) : undefined;
    const fallbackDate = encounter ? encounterStart.get(encounter) : undefined;
    const date = (field: string, ...candidates: Array<[unknown, string]>): string => {
      for (const [v, name] of candidates) {
        if (v === undefined) continue;
        const d = name.endsWith('Period') ? periodStart(v, res.where, `${name}.start`) : toDay(v, res.where, name);
        if (d) return d;
      }
      if (fallbackDate) return fallbackDate;
      throw new ImportError(`${res.where}, field ${field}: missing (and no encounter with a start date)`);
    };
    const base = { person, encounter, origin: res.where };
    switch (res.type) {
      case 'Condition': {
        const c = pickCoding(r.code, res, 'code');
        const d = date('onset[x]', [r.onsetDateTime, 'onsetDateTime'], [r.onsetPeriod, 'onsetPeriod'], [r.recordedDate, 'recordedDate']);
        events.push({ ...base, date: d, kind: 'condition', ...c });
        break;
      }
      case 'Procedure': {
        const c = pickCoding(r.code, res, 'code');
        const d = date('performed[x]', [r.performedDateTime, 'performedDateTime'], [r.performedPeriod, 'performedPeriod']);
        events.push({ ...base, date: d, kind: 'procedure', ...c });
        break;
      }
      case 'MedicationRequest':
      case 'MedicationStatement':
      case 'MedicationAdministration': {
        let cc: unknown = r.medicationCodeableConcept;
        let field = 'medicationCodeableConcept';
        if (cc === undefined && r.medicationReference !== undefined) {
          const ref = reference(r.medicationReference, res, 'medicationReference');
          const contained = Array.isArray(r.contained) ? r.contained.find((x) => isObj(x) && `#${x.id}` === ref) : undefined;
          cc = isObj(contained) ? contained.code : medications.get(ref)?.coding;
          field = 'medicationReference';
          if (cc === undefined) throw new ImportError(`${res.where}, field medicationReference: ${ref} not found among the Medication resources read`);
        }
        const c = pickCoding(cc, res, field);
        const d =
          res.type === 'MedicationRequest'
            ? date('authoredOn', [r.authoredOn, 'authoredOn'])
            : date('effective[x]', [r.effectiveDateTime, 'effectiveDateTime'], [r.effectivePeriod, 'effectivePeriod'], [r.dateAsserted, 'dateAsserted']);
        events.push({ ...base, date: d, kind: 'medication', ...c });
        break;
      }
      case 'Immunization': {
        const c = pickCoding(r.vaccineCode, res, 'vaccineCode');
        const d = date('occurrence[x]', [r.occurrenceDateTime, 'occurrenceDateTime'], [r.date, 'date']);
        events.push({ ...base, date: d, kind: 'immunization', ...c });
        break;
      }
      case 'Observation': {
        const c = pickCoding(r.code, res, 'code');
        const d = date('effective[x]', [r.effectiveDateTime, 'effectiveDateTime'], [r.effectivePeriod, 'effectivePeriod'], [r.effectiveInstant, 'effectiveInstant'], [r.issued, 'issued']);
        const kind: SourceKind = c.system === 'LOINC' && c.code === '69453-9' ? 'death' : 'observation';
        const comps = r.component;
        if (comps !== undefined && !Array.isArray(comps)) throw new ImportError(`${res.where}, field component: expected an array`);
        if (Array.isArray(comps) && comps.length && r.valueQuantity === undefined && r.valueCodeableConcept === undefined) {
          // a panel (blood pressure 55284-4): its components are the measurements
          comps.forEach((comp, i) => {
            if (!isObj(comp)) throw new ImportError(`${res.where}, field component[${i}]: expected an object`);
            const cc = pickCoding(comp.code, res, `component[${i}].code`);
            events.push({ ...base, date: d, kind, ...cc, ...observationValue(comp, res, `component[${i}].`) });
          });
        } else events.push({ ...base, date: d, kind, ...c, ...observationValue(r, res, '') });
        break;
      }
    }
  }
  await tick(totalBytes);
  return { format: 'fhir', persons, events, recordsRead, skipped };

  function readPatient(res: Res): SourcePerson {
    const r = res.r;
    const g = r.gender;
    if (g !== undefined && typeof g !== 'string') throw new ImportError(`${res.where}, field gender: expected a code`);
    const sex = g === 'female' ? 'F' : g === 'male' ? 'M' : 'U';
    if (r.birthDate === undefined) throw new ImportError(`${res.where}, field birthDate: missing (the model needs the age)`);
    const birthDate = toDay(r.birthDate, res.where, 'birthDate');
    let deathDate: string | undefined;
    if (r.deceasedDateTime !== undefined) deathDate = toDay(r.deceasedDateTime, res.where, 'deceasedDateTime');
    const dropped: string[] = [];
    for (const k of Object.keys(r)) {
      if (PATIENT_KEPT.has(k)) continue;
      if (k === 'identifier' && Array.isArray(r.identifier)) {
        // name the kind of identifier (SS = SSN, DL = driver's licence, PPN = passport, MR = MRN)
        for (const idf of r.identifier) {
          const t = isObj(idf) ? codingCode(idf.type) : undefined;
          dropped.push(`Patient.identifier${t ? `(${t})` : ''}`);
        }
      } else if (k === 'extension' && Array.isArray(r.extension)) {
        for (const ext of r.extension) {
          const url = isObj(ext) && typeof ext.url === 'string' ? ext.url.split('/').pop() : undefined;
          dropped.push(`Patient.extension${url ? `(${url})` : ''}`);
        }
      } else dropped.push(`Patient.${k}`);
    }
    return { key: patientKey(res), sex, birthDate, ...(deathDate ? { deathDate } : {}), droppedFields: dropped };
  }
}

function looksLikeNdjson(t: string): boolean {
  const first = t.trimStart().split('\n', 1)[0];
  const rest = t.trimStart().slice(first.length).trim();
  return first.trim().startsWith('{') && first.trim().endsWith('}') && rest.startsWith('{');
}

const patientKey = (res: Res) => (res.r.id ? `Patient/${res.r.id}` : (res.fullUrl ?? res.where));
const encounterKey = (res: Res) => (res.r.id ? `Encounter/${res.r.id}` : (res.fullUrl ?? res.where));

/** A Reference's `reference` string; errors name the resource and field. */
function reference(v: unknown, res: Res, field: string): string {
  if (!isObj(v)) throw new ImportError(`${res.where}, field ${field}: expected a Reference`);
  if (typeof v.reference !== 'string' || !v.reference) {
    // a logical reference by identifier is also FHIR
    const idf = v.identifier;
    if (isObj(idf) && typeof idf.value === 'string') return `?identifier=${typeof idf.system === 'string' ? idf.system + '|' : ''}${idf.value}`;
    throw new ImportError(`${res.where}, field ${field}.reference: missing`);
  }
  return v.reference;
}

/** Resolve `urn:uuid:..`, `Type/id`, `http://host/base/Type/id` or `Type?identifier=sys|value`. */
function resolve(index: Map<string, string>, ref: string, type: string): string | undefined {
  const direct = index.get(ref);
  if (direct) return direct;
  if (ref.startsWith('?identifier=')) return index.get(type + ref);
  const m = /([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/.*)?$/.exec(ref);
  if (m && m[1] === type) return index.get(`${type}/${m[2]}`);
  const q = /([A-Za-z]+)\?identifier=(.*)$/.exec(ref);
  if (q && q[1] === type) {
    const value = decodeURIComponent(q[2]);
    return index.get(`${type}?identifier=${value}`);
  }
  return undefined;
}

function codingCode(cc: unknown): string | undefined {
  if (!isObj(cc) || !Array.isArray(cc.coding)) return undefined;
  const c = cc.coding.find((x) => isObj(x) && typeof x.code === 'string');
  return c ? ((c as Json).code as string) : undefined;
}

/** The coding the pipeline reads from a CodeableConcept: by system preference, else the first. */
function pickCoding(cc: unknown, res: Res, field: string): { system: CodeSystem; code: string; display?: string } {
  if (!isObj(cc)) throw new ImportError(`${res.where}, field ${field}: missing or not a CodeableConcept`);
  if (!Array.isArray(cc.coding) || !cc.coding.length) throw new ImportError(`${res.where}, field ${field}.coding: missing (free text only is not read)`);
  const codings = cc.coding.map((c, i) => {
    if (!isObj(c)) throw new ImportError(`${res.where}, field ${field}.coding[${i}]: expected a Coding`);
    if (typeof c.code !== 'string' || !c.code.trim()) throw new ImportError(`${res.where}, field ${field}.coding[${i}].code: missing`);
    if (c.system !== undefined && typeof c.system !== 'string') throw new ImportError(`${res.where}, field ${field}.coding[${i}].system: expected a URI`);
    const system: CodeSystem = typeof c.system === 'string' ? (SYSTEMS[c.system.replace(/\/$/, '')] ?? c.system) : 'local';
    return { system, code: c.code.trim(), display: typeof c.display === 'string' ? c.display : undefined };
  });
  for (const s of PREFERENCE) {
    const c = codings.find((x) => x.system === s);
    if (c) return c;
  }
  return codings[0];
}

function observationValue(r: Json, res: Res, prefix: string): Pick<SourceEvent, 'value' | 'unit' | 'valueCode'> {
  const q = r.valueQuantity;
  if (q !== undefined) {
    if (!isObj(q)) throw new ImportError(`${res.where}, field ${prefix}valueQuantity: expected a Quantity`);
    if (q.value === undefined) return {};
    if (typeof q.value !== 'number' || !Number.isFinite(q.value)) throw new ImportError(`${res.where}, field ${prefix}valueQuantity.value: expected a number`);
    const unit = typeof q.code === 'string' ? q.code : typeof q.unit === 'string' ? q.unit : undefined;
    return { value: q.value, ...(unit ? { unit } : {}) };
  }
  if (r.valueCodeableConcept !== undefined) {
    const c = pickCoding(r.valueCodeableConcept, res, `${prefix}valueCodeableConcept`);
    return { valueCode: c };
  }
  if (typeof r.valueInteger === 'number') return { value: r.valueInteger };
  // valueString and the like are free text: never read (the pipeline sees a coded event without value)
  return {};
}

/** A FHIR date/dateTime/instant cut to the day as written (the source's own time zone). Partial
 *  dates (YYYY, YYYY-MM) are completed to the first of the month/year. */
function toDay(v: unknown, where: string, field: string): string {
  if (typeof v !== 'string') throw new ImportError(`${where}, field ${field}: expected a date`);
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?$/.exec(v.trim());
  if (!m) throw new ImportError(`${where}, field ${field}: ${JSON.stringify(v.slice(0, 40))} is not a FHIR date`);
  const day = `${m[1]}-${m[2] ?? '01'}-${m[3] ?? '01'}`;
  const t = Date.parse(day + 'T00:00:00Z');
  if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== day) throw new ImportError(`${where}, field ${field}: ${v} is not a calendar date`);
  return day;
}

function periodStart(v: unknown, where: string, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) throw new ImportError(`${where}, field ${field.replace(/\.start$/, '')}: expected a Period`);
  if (v.start === undefined) return v.end !== undefined ? toDay(v.end, where, field.replace(/start$/, 'end')) : undefined;
  return toDay(v.start, where, field);
}
