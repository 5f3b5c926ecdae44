// Descriptions of every code the synthetic generator emits (and the shipped vocab knows):
// ICD-10-CM diagnoses, SNOMED CT procedures, ATC medications, LOINC labs and vitals, and the
// project's local smoking / characteristic codes.
import type { Modality } from './schema';

export interface CodeInfo {
  modality: Modality;
  code: string;
  description: string;
  unit?: string;
}

const dx: Array<[string, string]> = [
  ['I10', 'Essential (primary) hypertension'],
  ['E11.9', 'Type 2 diabetes mellitus without complications'],
  ['E66.9', 'Obesity, unspecified'],
  ['E78.5', 'Hyperlipidemia, unspecified'],
  ['N18.3', 'Chronic kidney disease, stage 3 (moderate)'],
  ['J44.9', 'Chronic obstructive pulmonary disease, unspecified'],
  ['F17.210', 'Nicotine dependence, cigarettes, uncomplicated'],
  ['I48.91', 'Unspecified atrial fibrillation'],
  ['I25.10', 'Atherosclerotic heart disease of native coronary artery without angina pectoris'],
  ['I50.9', 'Heart failure, unspecified'],
  ['C34.90', 'Malignant neoplasm of unspecified part of unspecified bronchus or lung'],
  ['C18.9', 'Malignant neoplasm of colon, unspecified'],
  ['C50.919', 'Malignant neoplasm of unspecified site of unspecified female breast'],
  ['C61', 'Malignant neoplasm of prostate'],
  ['C78.7', 'Secondary malignant neoplasm of liver and intrahepatic bile duct'],
  ['C79.51', 'Secondary malignant neoplasm of bone'],
  ['R63.4', 'Abnormal weight loss'],
  ['D63.0', 'Anemia in neoplastic disease'],
  ['J06.9', 'Acute upper respiratory infection, unspecified'],
  ['M54.5', 'Low back pain'],
  ['K21.9', 'Gastro-esophageal reflux disease without esophagitis'],
  ['F32.9', 'Major depressive disorder, single episode, unspecified'],
  ['J45.909', 'Unspecified asthma, uncomplicated'],
  ['M17.9', 'Osteoarthritis of knee, unspecified'],
  ['H52.4', 'Presbyopia'],
  ['L30.9', 'Dermatitis, unspecified'],
  ['R51', 'Headache'],
  ['Z00.00', 'Encounter for general adult medical examination without abnormal findings'],
  ['N39.0', 'Urinary tract infection, site not specified'],
  ['K59.00', 'Constipation, unspecified'],
  ['G47.00', 'Insomnia, unspecified'],
  ['E03.9', 'Hypothyroidism, unspecified'],
  ['M25.50', 'Pain in unspecified joint'],
  ['R10.9', 'Unspecified abdominal pain'],
  ['J02.9', 'Acute pharyngitis, unspecified'],
  ['B34.9', 'Viral infection, unspecified'],
  ['R05', 'Cough'],
  ['H10.9', 'Unspecified conjunctivitis'],
  ['K29.70', 'Gastritis, unspecified, without bleeding'],
  ['M79.1', 'Myalgia'],
  ['R53.83', 'Other fatigue'],
  ['Z23', 'Encounter for immunization'],
  ['E55.9', 'Vitamin D deficiency, unspecified'],
  ['G43.909', 'Migraine, unspecified, not intractable, without status migrainosus'],
  ['F41.9', 'Anxiety disorder, unspecified'],
  ['M81.0', 'Age-related osteoporosis without current pathological fracture'],
  ['H40.9', 'Unspecified glaucoma'],
  ['N40.0', 'Benign prostatic hyperplasia without lower urinary tract symptoms'],
];
const procedures: Array<[string, string]> = [
  ['367336001', 'Chemotherapy'],
  ['33195004', 'Teleradiotherapy procedure'],
  ['40701008', 'Echocardiography'],
  ['29303009', 'Electrocardiographic procedure'],
  ['73761001', 'Colonoscopy'],
  ['71651007', 'Mammography'],
  ['77477000', 'Computerized axial tomography'],
  ['113091000', 'Magnetic resonance imaging'],
  ['399208008', 'Plain chest X-ray'],
  ['17636008', 'Specimen collection'],
  ['430193006', 'Medication reconciliation'],
  ['710824005', 'Assessment of health and social care needs'],
  ['86013001', 'Periodic reevaluation and management of healthy adult'],
  ['127783003', 'Spirometry'],
  ['274804006', 'Evaluation of uterine fundal height'],
  ['76601001', 'Intramuscular injection'],
  ['65575008', 'Biopsy of lung'],
  ['387713003', 'Surgical procedure'],
];
const meds: Array<[string, string]> = [
  ['C03CA01', 'furosemide (loop diuretic)'],
  ['C09AA02', 'enalapril'],
  ['C07AB07', 'bisoprolol'],
  ['C08CA01', 'amlodipine'],
  ['A10BA02', 'metformin'],
  ['A10AE04', 'insulin glargine'],
  ['C10AA05', 'atorvastatin'],
  ['B01AC06', 'acetylsalicylic acid (aspirin)'],
  ['L01XA01', 'cisplatin'],
  ['L01BC06', 'capecitabine'],
  ['L01CD01', 'paclitaxel'],
  ['N02BE01', 'paracetamol'],
  ['A02BC01', 'omeprazole'],
  ['R03AC02', 'salbutamol'],
  ['R03BB04', 'tiotropium bromide'],
  ['N06AB06', 'sertraline'],
  ['H03AA01', 'levothyroxine sodium'],
  ['M01AE01', 'ibuprofen'],
  ['J01CA04', 'amoxicillin'],
  ['N05CF02', 'zolpidem'],
  ['A11CC05', 'colecalciferol'],
  ['G04CA02', 'tamsulosin'],
];
const labs: Array<[string, string, string]> = [
  ['33762-6', 'NT-proBNP [Mass/volume] in Serum or Plasma', 'pg/mL'],
  ['1751-7', 'Albumin [Mass/volume] in Serum or Plasma', 'g/dL'],
  ['2160-0', 'Creatinine [Mass/volume] in Serum or Plasma', 'mg/dL'],
  ['4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood', '%'],
  ['2345-7', 'Glucose [Mass/volume] in Serum or Plasma', 'mg/dL'],
  ['718-7', 'Hemoglobin [Mass/volume] in Blood', 'g/dL'],
  ['2093-3', 'Cholesterol [Mass/volume] in Serum or Plasma', 'mg/dL'],
  ['6690-2', 'Leukocytes [#/volume] in Blood by Automated count', '10*3/uL'],
  ['1920-8', 'Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma', 'U/L'],
  ['2823-3', 'Potassium [Moles/volume] in Serum or Plasma', 'mmol/L'],
];
const vitals: Array<[string, string, string]> = [
  ['29463-7', 'Body weight', 'kg'],
  ['8480-6', 'Systolic blood pressure', 'mm[Hg]'],
  ['8462-4', 'Diastolic blood pressure', 'mm[Hg]'],
  ['8867-4', 'Heart rate', '/min'],
  ['39156-5', 'Body mass index (BMI) [Ratio]', 'kg/m2'],
];
const local: Array<[Modality, string, string]> = [
  ['smoking', 'SMOKING:never', 'Never smoked tobacco'],
  ['smoking', 'SMOKING:former', 'Former smoker'],
  ['smoking', 'SMOKING:current', 'Current every day smoker'],
  ['characteristic', 'BMI:underweight', 'Body mass index below 18.5'],
  ['characteristic', 'BMI:normal', 'Body mass index 18.5 to 24.9'],
  ['characteristic', 'BMI:overweight', 'Body mass index 25 to 29.9'],
  ['characteristic', 'BMI:obese', 'Body mass index 30 or more'],
];

export const CODE_CATALOGUE: CodeInfo[] = [
  ...dx.map(([code, description]) => ({ modality: 'diagnosis' as const, code, description })),
  ...procedures.map(([code, description]) => ({ modality: 'procedure' as const, code, description })),
  ...meds.map(([code, description]) => ({ modality: 'medication' as const, code, description })),
  ...labs.map(([code, description, unit]) => ({ modality: 'lab' as const, code, description, unit })),
  ...vitals.map(([code, description, unit]) => ({ modality: 'vital' as const, code, description, unit })),
  ...local.map(([modality, code, description]) => ({ modality, code, description })),
];

export const codeKey = (modality: string, code: string) => `${modality}:${code}`;
const byKey = new Map(CODE_CATALOGUE.map((c) => [codeKey(c.modality, c.code), c]));

/** Description of a code; binned tokens (`33762-6|q5`) are described by their code. */
export function describeCode(modality: string, code: string): string | undefined {
  return byKey.get(codeKey(modality, code.split('|')[0]))?.description;
}
export const unitOf = (modality: string, code: string) => byKey.get(codeKey(modality, code))?.unit;
