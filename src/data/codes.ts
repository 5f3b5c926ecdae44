// The code catalogue: a description (and, for labs and vitals, the unit) of every code the
// synthetic generator can emit, so that every token the app shows can be named.
// Code systems follow CODE_SYSTEM in schema.ts: ICD-10-CM diagnoses (with dots), SNOMED CT
// procedure concept ids with FSN-like descriptions, ATC medications, LOINC labs and vitals, and
// the project's local smoking (`SMOKING:*`) and characteristic (`BMI:*`) codes.
// Every diagnosis that starts with `C` is a malignant neoplasm: the cancer subgroup of death_6m
// (and train-cmd's `hasCancer`) relies on that, so no other diagnosis code may start with `C`.
import type { Modality } from './schema';

export interface CodeInfo {
  modality: Modality;
  code: string;
  description: string;
  /** UCUM-style unit of the value, for labs and vitals */
  unit?: string;
}

const dx: Array<[string, string]> = [
  // cardiometabolic and renal (risk factors and their clusters)
  ['I10', 'Essential (primary) hypertension'],
  ['E11.9', 'Type 2 diabetes mellitus without complications'],
  ['E66.9', 'Obesity, unspecified'],
  ['E78.5', 'Hyperlipidemia, unspecified'],
  ['R73.03', 'Prediabetes'],
  ['N18.3', 'Chronic kidney disease, stage 3 (moderate)'],
  ['I48.91', 'Unspecified atrial fibrillation'],
  ['I25.10', 'Atherosclerotic heart disease of native coronary artery without angina pectoris'],
  ['I50.9', 'Heart failure, unspecified'],
  ['E03.9', 'Hypothyroidism, unspecified'],
  // respiratory and smoking
  ['J44.9', 'Chronic obstructive pulmonary disease, unspecified'],
  ['F17.210', 'Nicotine dependence, cigarettes, uncomplicated'],
  // oncology: primaries, secondaries (staging-like), and cachexia-related findings
  ['C34.90', 'Malignant neoplasm of unspecified part of unspecified bronchus or lung'],
  ['C18.9', 'Malignant neoplasm of colon, unspecified'],
  ['C50.919', 'Malignant neoplasm of unspecified site of unspecified female breast'],
  ['C61', 'Malignant neoplasm of prostate'],
  ['C25.9', 'Malignant neoplasm of pancreas, unspecified'],
  ['C78.7', 'Secondary malignant neoplasm of liver and intrahepatic bile duct'],
  ['C79.51', 'Secondary malignant neoplasm of bone'],
  ['R63.4', 'Abnormal weight loss'],
  ['D63.0', 'Anemia in neoplastic disease'],
  // common conditions that carry no planted risk (noise)
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
  ['J20.9', 'Acute bronchitis, unspecified'],
  ['J30.9', 'Allergic rhinitis, unspecified'],
  ['K57.30', 'Diverticulosis of large intestine without perforation or abscess without bleeding'],
  ['K80.20', 'Calculus of gallbladder without cholecystitis without obstruction'],
  ['L40.0', 'Psoriasis vulgaris'],
  ['M10.9', 'Gout, unspecified'],
  ['M54.2', 'Cervicalgia'],
  ['R42', 'Dizziness and giddiness'],
  ['R11.0', 'Nausea'],
  ['S93.401A', 'Sprain of unspecified ligament of right ankle, initial encounter'],
  ['T78.40XA', 'Allergy, unspecified, initial encounter'],
  ['H61.20', 'Impacted cerumen, unspecified ear'],
  ['B35.1', 'Tinea unguium'],
  ['I83.90', 'Asymptomatic varicose veins of unspecified lower extremity'],
  ['D64.9', 'Anemia, unspecified'],
  ['L57.0', 'Actinic keratosis'],
  ['R35.0', 'Frequency of micturition'],
  // age- and sex-related conditions (not planted)
  ['M81.0', 'Age-related osteoporosis without current pathological fracture'],
  ['H40.9', 'Unspecified glaucoma'],
  ['H25.9', 'Unspecified age-related cataract'],
  ['N40.0', 'Benign prostatic hyperplasia without lower urinary tract symptoms'],
  ['N95.1', 'Menopausal and female climacteric states'],
];

const procedures: Array<[string, string]> = [
  ['367336001', 'Chemotherapy (procedure)'],
  ['33195004', 'Teleradiotherapy procedure (procedure)'],
  ['40701008', 'Echocardiography (procedure)'],
  ['29303009', 'Electrocardiographic procedure (procedure)'],
  ['73761001', 'Colonoscopy (procedure)'],
  ['71651007', 'Mammography (procedure)'],
  ['77477000', 'Computerized axial tomography (procedure)'],
  ['113091000', 'Magnetic resonance imaging (procedure)'],
  ['399208008', 'Plain chest X-ray (procedure)'],
  ['45036003', 'Ultrasonography of abdomen (procedure)'],
  ['17636008', 'Specimen collection (procedure)'],
  ['430193006', 'Medication reconciliation (procedure)'],
  ['710824005', 'Assessment of health and social care needs (procedure)'],
  ['86013001', 'Periodic reevaluation and management of healthy adult (procedure)'],
  ['171207006', 'Depression screening (procedure)'],
  ['127783003', 'Spirometry (procedure)'],
  ['76601001', 'Intramuscular injection (procedure)'],
  ['86198006', 'Administration of vaccine product containing only Influenza virus antigen (procedure)'],
  ['65575008', 'Biopsy of lung (procedure)'],
  ['415070008', 'Percutaneous coronary intervention (procedure)'],
  ['387713003', 'Surgical procedure (procedure)'],
];

const meds: Array<[string, string]> = [
  ['C03CA01', 'furosemide (loop diuretic)'],
  ['C03AA03', 'hydrochlorothiazide (thiazide diuretic)'],
  ['C09AA02', 'enalapril (ACE inhibitor)'],
  ['C09CA01', 'losartan (angiotensin II receptor blocker)'],
  ['C07AB07', 'bisoprolol (beta blocker)'],
  ['C08CA01', 'amlodipine (calcium channel blocker)'],
  ['A10BA02', 'metformin'],
  ['A10AE04', 'insulin glargine'],
  ['C10AA05', 'atorvastatin'],
  ['B01AC06', 'acetylsalicylic acid (aspirin)'],
  ['B01AF01', 'rivaroxaban (direct factor Xa inhibitor)'],
  ['L01XA01', 'cisplatin'],
  ['L01BC06', 'capecitabine'],
  ['L01CD01', 'paclitaxel'],
  ['L02BA01', 'tamoxifen'],
  ['L02AE02', 'leuprorelin'],
  ['N02BE01', 'paracetamol'],
  ['N02AA01', 'morphine'],
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
  ['R06AE07', 'cetirizine'],
];

const labs: Array<[string, string, string]> = [
  ['33762-6', 'Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma (NT-proBNP)', 'pg/mL'],
  ['1751-7', 'Albumin [Mass/volume] in Serum or Plasma', 'g/dL'],
  ['2160-0', 'Creatinine [Mass/volume] in Serum or Plasma', 'mg/dL'],
  ['33914-3', 'Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma by Creatinine-based formula (MDRD)', 'mL/min/{1.73_m2}'],
  ['4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood', '%'],
  ['2345-7', 'Glucose [Mass/volume] in Serum or Plasma', 'mg/dL'],
  ['718-7', 'Hemoglobin [Mass/volume] in Blood', 'g/dL'],
  ['2093-3', 'Cholesterol [Mass/volume] in Serum or Plasma', 'mg/dL'],
  ['2085-9', 'Cholesterol in HDL [Mass/volume] in Serum or Plasma', 'mg/dL'],
  ['6690-2', 'Leukocytes [#/volume] in Blood by Automated count', '10*3/uL'],
  ['777-3', 'Platelets [#/volume] in Blood by Automated count', '10*3/uL'],
  ['1920-8', 'Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma', 'U/L'],
  ['1742-6', 'Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma', 'U/L'],
  ['2823-3', 'Potassium [Moles/volume] in Serum or Plasma', 'mmol/L'],
  ['2951-2', 'Sodium [Moles/volume] in Serum or Plasma', 'mmol/L'],
  ['3016-3', 'Thyrotropin [Units/volume] in Serum or Plasma', 'm[IU]/L'],
  ['1988-5', 'C reactive protein [Mass/volume] in Serum or Plasma', 'mg/L'],
];

const vitals: Array<[string, string, string]> = [
  ['29463-7', 'Body weight', 'kg'],
  ['39156-5', 'Body mass index (BMI) [Ratio]', 'kg/m2'],
  ['8480-6', 'Systolic blood pressure', 'mm[Hg]'],
  ['8462-4', 'Diastolic blood pressure', 'mm[Hg]'],
  ['8867-4', 'Heart rate', '/min'],
  ['9279-1', 'Respiratory rate', '/min'],
  ['59408-5', 'Oxygen saturation in Arterial blood by Pulse oximetry', '%'],
  ['8310-5', 'Body temperature', 'Cel'],
];

const local: Array<[Modality, string, string]> = [
  ['smoking', 'SMOKING:never', 'Never smoked tobacco'],
  ['smoking', 'SMOKING:former', 'Former smoker'],
  ['smoking', 'SMOKING:current', 'Current every day smoker'],
  ['characteristic', 'BMI:underweight', 'Body mass index below 18.5 kg/m2'],
  ['characteristic', 'BMI:normal', 'Body mass index 18.5 to 24.9 kg/m2'],
  ['characteristic', 'BMI:overweight', 'Body mass index 25 to 29.9 kg/m2'],
  ['characteristic', 'BMI:obese', 'Body mass index 30 kg/m2 or more'],
];

export const CODE_CATALOGUE: readonly CodeInfo[] = [
  ...dx.map(([code, description]) => ({ modality: 'diagnosis' as const, code, description })),
  ...procedures.map(([code, description]) => ({ modality: 'procedure' as const, code, description })),
  ...meds.map(([code, description]) => ({ modality: 'medication' as const, code, description })),
  ...labs.map(([code, description, unit]) => ({ modality: 'lab' as const, code, description, unit })),
  ...vitals.map(([code, description, unit]) => ({ modality: 'vital' as const, code, description, unit })),
  ...local.map(([modality, code, description]) => ({ modality, code, description })),
];

/** One key per (modality, code): the same code string may exist in two systems. */
export const codeKey = (modality: string, code: string): string => `${modality}:${code}`;

const byKey = new Map(CODE_CATALOGUE.map((c) => [codeKey(c.modality, c.code), c]));

/** The catalogue entry of a code, or undefined when the catalogue does not know it. */
export const codeInfo = (modality: string, code: string): CodeInfo | undefined => byKey.get(codeKey(modality, code));

/** Description of a code; a binned value token (`33762-6|q5`) is described by its code. */
export function describeCode(modality: string, code: string): string | undefined {
  return byKey.get(codeKey(modality, code.split('|')[0]))?.description;
}

/** Unit of a lab or vital code (undefined for other modalities and unknown codes). */
export const unitOf = (modality: string, code: string): string | undefined => byKey.get(codeKey(modality, code))?.unit;
