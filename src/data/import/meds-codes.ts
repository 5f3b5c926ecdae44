// Code-system names and code spellings shared by the OMOP and MEDS readers. Both formats name
// vocabularies their own way (OMOP vocabulary_id "ICD9Proc", MEDS "DIAGNOSIS//ICD//9//4280");
// the pipeline's code map wants one spelling per system, and ICD codes with their dots (the
// catalogue in src/data/codes.ts writes ICD-10-CM as `I50.9`), so both readers go through here.
import type { CodeSystem } from './source';

/** OMOP vocabulary_id (also MEDS vocabulary markers, upper-cased) -> pipeline system name. */
const VOCABULARY: Record<string, CodeSystem> = {
  SNOMED: 'SNOMED',
  SNOMEDCT: 'SNOMED',
  SNOMED_CT: 'SNOMED',
  'SNOMED-CT': 'SNOMED',
  SCT: 'SNOMED',
  ICD10CM: 'ICD10CM',
  'ICD-10-CM': 'ICD10CM',
  ICD9CM: 'ICD9CM',
  'ICD-9-CM': 'ICD9CM',
  ICD10PCS: 'ICD10PCS',
  'ICD-10-PCS': 'ICD10PCS',
  ICD9PROC: 'ICD9Proc',
  RXNORM: 'RxNorm',
  'RXNORM EXTENSION': 'RxNorm Extension',
  ATC: 'ATC',
  LOINC: 'LOINC',
  CVX: 'CVX',
  NDC: 'NDC',
  CPT4: 'CPT4',
  CPT: 'CPT4',
  HCPCS: 'HCPCS',
  ICD10: 'ICD10',
  UCUM: 'UCUM',
};

/** Systems a code map can be expected to know; a code in any other vocabulary is kept, but a
 *  reader that has a choice (OMOP standard vs source concept) prefers one of these. */
export const KNOWN_SYSTEMS: ReadonlySet<string> = new Set([
  'SNOMED', 'ICD10CM', 'ICD9CM', 'RxNorm', 'ATC', 'LOINC', 'CVX', 'ICD10PCS', 'ICD9Proc', 'CPT4', 'HCPCS', 'NDC', 'ICD10',
]);

/** The pipeline's name for a vocabulary id; unknown vocabularies keep their own id. */
export function systemOf(vocabularyId: string): CodeSystem {
  const v = vocabularyId.trim();
  return VOCABULARY[v.toUpperCase()] ?? v;
}

/** Write ICD codes the way the code map and the catalogue do: with the dot, upper case. Codes
 *  already carrying a dot, and codes too short to have one, pass through. */
export function normaliseCode(system: CodeSystem, code: string): string {
  const c = code.trim();
  switch (system) {
    case 'ICD10CM':
    case 'ICD10': {
      const u = c.toUpperCase();
      return u.includes('.') || u.length <= 3 ? u : `${u.slice(0, 3)}.${u.slice(3)}`;
    }
    case 'ICD9CM': {
      const u = c.toUpperCase();
      if (u.includes('.')) return u;
      // E codes have four characters before the dot (E888.9), V and numeric codes three
      const head = u.startsWith('E') ? 4 : 3;
      return u.length <= head ? u : `${u.slice(0, head)}.${u.slice(head)}`;
    }
    case 'ICD9Proc':
      return c.includes('.') || c.length <= 2 ? c : `${c.slice(0, 2)}.${c.slice(2)}`;
    case 'ICD10PCS':
      return c.toUpperCase();
    default:
      return c;
  }
}

/** The LOINC code shape (digits, dash, check digit); distinctive enough to recognise a bare
 *  source value as LOINC. */
export const LOINC_RE = /^\d{1,7}-\d$/;
/** ICD-10(-CM) code shape, with or without the dot. */
export const ICD10_RE = /^[A-Z]\d[0-9A-Z](\.?[0-9A-Z]{1,4})?$/;
