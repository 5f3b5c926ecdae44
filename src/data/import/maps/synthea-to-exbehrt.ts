// The shipped code map: the SNOMED CT, RxNorm, LOINC and CVX codes that Synthea (v2.x FHIR R4 and
// v3 CSV) emits, mapped to the vocabulary of the shipped models (ICD-10-CM diagnoses with dots,
// SNOMED CT procedures, ATC medications, LOINC labs/vitals, local SMOKING:* and BMI:* codes).
// Written by hand (no network at build time) from public mapping tables; see README.md next to this
// file for the sources and the rules followed. It is deliberately small: codes it does not list are
// reported as unmapped by every import, so a gap is visible, never silent.
// Kept as TS (not .json) so Vite, tsx and vitest all bundle it the same way; the object has exactly
// the codemap.json shape (`npx tsx -e` + JSON.stringify(SYNTHEA_MAP_JSON) writes it as a file).

type Row = [code: string, target: string, sourceDisplay: string, note?: string];

/** SNOMED CT condition/finding -> ICD-10-CM (NLM SNOMED CT to ICD-10-CM map, default target). */
const SNOMED_TO_ICD10CM: Row[] = [
  // cardiometabolic and renal
  ['38341003', 'I10', 'Hypertensive disorder, systemic arterial'],
  ['59621000', 'I10', 'Essential hypertension'],
  ['44054006', 'E11.9', 'Diabetes mellitus type 2'],
  ['15777000', 'R73.03', 'Prediabetes'],
  ['55822004', 'E78.5', 'Hyperlipidemia'],
  ['302870006', 'E78.1', 'Hypertriglyceridemia'],
  ['237602007', 'E88.81', 'Metabolic syndrome X'],
  ['162864005', 'E66.9', 'Body mass index 30+ - obesity', 'BMI codes Z68.3x are secondary in ICD-10-CM; the primary is E66.9'],
  ['408512008', 'E66.01', 'Body mass index 40+ - severely obese'],
  ['80394007', 'R73.9', 'Hyperglycemia'],
  ['127013003', 'E11.21', 'Diabetic renal disease (type 2, Synthea diabetes module)'],
  ['90781000119102', 'E11.29', 'Microalbuminuria due to type 2 diabetes mellitus'],
  ['157141000119108', 'E11.29', 'Proteinuria due to type 2 diabetes mellitus'],
  ['422034002', 'E11.319', 'Diabetic retinopathy associated with type II diabetes mellitus'],
  ['1551000119108', 'E11.329', 'Nonproliferative diabetic retinopathy due to type 2 diabetes mellitus'],
  ['368581000119106', 'E11.40', 'Neuropathy due to type 2 diabetes mellitus'],
  ['431855005', 'N18.1', 'Chronic kidney disease stage 1'],
  ['431856006', 'N18.2', 'Chronic kidney disease stage 2'],
  ['433144002', 'N18.3', 'Chronic kidney disease stage 3'],
  ['40930008', 'E03.9', 'Hypothyroidism'],
  // heart and vessels
  ['53741008', 'I25.10', 'Coronary arteriosclerosis (Coronary Heart Disease)'],
  ['414545008', 'I25.9', 'Ischemic heart disease'],
  ['22298006', 'I21.9', 'Myocardial infarction'],
  ['399211009', 'I25.2', 'History of myocardial infarction'],
  ['49436004', 'I48.91', 'Atrial fibrillation'],
  ['88805009', 'I50.9', 'Chronic congestive heart failure'],
  ['84114007', 'I50.9', 'Heart failure'],
  ['410429000', 'I46.9', 'Cardiac arrest'],
  ['429007001', 'Z86.74', 'History of cardiac arrest'],
  ['230690007', 'I63.9', 'Cerebrovascular accident (Stroke)'],
  // respiratory, ENT, infections
  ['13645005', 'J44.9', 'Chronic obstructive lung disease'],
  ['185086009', 'J44.9', 'Chronic obstructive bronchitis'],
  ['87433001', 'J43.9', 'Pulmonary emphysema'],
  ['195967001', 'J45.909', 'Asthma'],
  ['233678006', 'J45.909', 'Childhood asthma'],
  ['444814009', 'J01.90', 'Viral sinusitis'],
  ['75498004', 'J01.90', 'Acute bacterial sinusitis'],
  ['36971009', 'J32.9', 'Sinusitis'],
  ['40055000', 'J32.9', 'Chronic sinusitis'],
  ['195662009', 'J02.9', 'Acute viral pharyngitis'],
  ['43878008', 'J02.0', 'Streptococcal sore throat'],
  ['10509002', 'J20.9', 'Acute bronchitis'],
  ['65363002', 'H66.90', 'Otitis media'],
  ['233604007', 'J18.9', 'Pneumonia'],
  ['840539006', 'U07.1', 'COVID-19'],
  ['446096008', 'J30.89', 'Perennial allergic rhinitis'],
  ['232353008', 'J30.2', 'Perennial allergic rhinitis with seasonal variation'],
  ['38822007', 'N30.90', 'Cystitis'],
  ['301011002', 'N39.0', 'Escherichia coli urinary tract infection', 'the organism code B96.20 is secondary'],
  ['389087006', 'R09.02', 'Hypoxemia'],
  ['49727002', 'R05', 'Cough', 'R05 as in ICD-10-CM FY2018 (R05.9 from FY2022)'],
  ['267036007', 'R06.00', 'Dyspnea'],
  ['386661006', 'R50.9', 'Fever'],
  ['68235000', 'R09.81', 'Nasal congestion'],
  // digestive
  ['68496003', 'K63.5', 'Polyp of colon'],
  ['713197008', 'K62.1', 'Recurrent rectal polyp'],
  ['74400008', 'K37', 'Appendicitis'],
  ['428251008', 'Z90.49', 'History of appendectomy'],
  ['235919008', 'K80.20', 'Cholelithiasis'],
  ['196416002', 'K01.1', 'Impacted molars'],
  ['18718003', 'K06.9', 'Gingival disease'],
  // musculoskeletal, injuries (initial encounter, side unspecified: Synthea does not record laterality)
  ['239872002', 'M16.9', 'Osteoarthritis of hip'],
  ['239873007', 'M17.9', 'Osteoarthritis of knee'],
  ['201834006', 'M19.049', 'Localized, primary osteoarthritis of the hand'],
  ['69896004', 'M06.9', 'Rheumatoid arthritis'],
  ['90560007', 'M10.9', 'Gout'],
  ['64859006', 'M81.0', 'Osteoporosis'],
  ['82423001', 'G89.29', 'Chronic pain'],
  ['1121000119107', 'M54.2', 'Chronic neck pain'],
  ['278860009', 'M54.5', 'Chronic low back pain', 'M54.5 as in ICD-10-CM FY2018 (M54.50 from FY2022)'],
  ['44465007', 'S93.409A', 'Sprain of ankle'],
  ['70704007', 'S63.509A', 'Sprain of wrist'],
  ['444448004', 'S83.419A', 'Injury of medial collateral ligament of knee'],
  ['239720000', 'S83.209A', 'Tear of meniscus of knee'],
  ['307731004', 'S46.009A', 'Injury of tendon of the rotator cuff of shoulder'],
  ['39848009', 'S13.4XXA', 'Whiplash injury to neck'],
  ['62106007', 'S06.0X0A', 'Concussion with no loss of consciousness'],
  ['275272006', 'S06.9X9A', 'Brain damage - traumatic'],
  ['58150001', 'S42.009A', 'Fracture of clavicle'],
  ['33737001', 'S22.39XA', 'Fracture of rib'],
  ['263102004', 'S62.109A', 'Fracture subluxation of wrist'],
  ['65966004', 'S52.90XA', 'Fracture of forearm'],
  ['16114001', 'S82.899A', 'Fracture of ankle'],
  ['359817006', 'S72.009A', 'Closed fracture of hip'],
  ['284551006', 'S91.319A', 'Laceration of foot'],
  ['284549007', 'S61.419A', 'Laceration of hand'],
  ['283385000', 'S71.119A', 'Laceration of thigh'],
  ['370247008', 'S01.81XA', 'Facial laceration'],
  ['403190006', 'T30.1', 'First degree burn'],
  ['241929008', 'T78.40XA', 'Acute allergic reaction'],
  ['55680006', 'T50.901A', 'Drug overdose'],
  // neurology, mental health
  ['128613002', 'G40.909', 'Seizure disorder'],
  ['84757009', 'G40.909', 'Epilepsy'],
  ['703151001', 'Z87.898', 'History of single seizure'],
  ['124171000119105', 'G43.019', 'Chronic intractable migraine without aura'],
  ['230265002', 'G30.0', "Familial Alzheimer's disease of early onset"],
  ['26929004', 'G30.9', "Alzheimer's disease"],
  ['36923009', 'F32.9', 'Major depression, single episode'],
  ['370143000', 'F32.9', 'Major depressive disorder'],
  ['192127007', 'F90.9', 'Child attention deficit disorder'],
  ['5602001', 'F11.10', 'Opioid abuse'],
  ['6525002', 'F19.20', 'Dependent drug abuse'],
  ['7200002', 'F10.20', 'Alcoholism'],
  ['449868002', 'F17.210', 'Smokes tobacco daily', 'Synthea models cigarette smoking'],
  ['73595000', 'Z73.3', 'Stress'],
  // skin, blood, other
  ['24079001', 'L20.9', 'Atopic dermatitis'],
  ['40275004', 'L25.9', 'Contact dermatitis'],
  ['271737000', 'D64.9', 'Anemia'],
  ['266569009', 'N40.0', 'Benign prostatic hyperplasia'],
  ['190905008', 'E84.9', 'Cystic fibrosis'],
  // pregnancy
  ['72892002', 'Z34.90', 'Normal pregnancy'],
  ['19169002', 'O03.9', 'Miscarriage in first trimester'],
  ['35999006', 'O02.0', 'Blighted ovum'],
  ['398254007', 'O14.90', 'Pre-eclampsia'],
  // cancers
  ['254637007', 'C34.90', 'Non-small cell lung cancer'],
  ['254632001', 'C34.90', 'Small cell carcinoma of lung'],
  ['363406005', 'C18.9', 'Malignant neoplasm of colon'],
  ['109838007', 'C18.8', 'Overlapping malignant neoplasm of colon'],
  ['254837009', 'C50.919', 'Malignant neoplasm of breast'],
  // social determinants with an ICD-10-CM Z code (the others, e.g. employment status, have none)
  ['73438004', 'Z56.0', 'Unemployed'],
  ['105531004', 'Z59.1', 'Housing unsatisfactory'],
];

/** RxNorm (clinical drug, branded drug or ingredient RXCUI) -> ATC 5th level, by active ingredient
 *  (WHO ATC index). Combinations map only where the ATC has a combination code. */
const RXNORM_TO_ATC: Row[] = [
  // ingredient-level RXCUIs (other sources, e.g. OMOP/MEDS, record these)
  ['6809', 'A10BA02', 'metformin'],
  ['17767', 'C08CA01', 'amlodipine'],
  ['5487', 'C03AA03', 'hydrochlorothiazide'],
  ['83367', 'C10AA05', 'atorvastatin'],
  ['36567', 'C10AA01', 'simvastatin'],
  ['1191', 'B01AC06', 'aspirin'],
  ['4603', 'C03CA01', 'furosemide'],
  ['161', 'N02BE01', 'acetaminophen'],
  ['5640', 'M01AE01', 'ibuprofen'],
  ['723', 'J01CA04', 'amoxicillin'],
  ['29046', 'C09AA03', 'lisinopril'],
  ['3827', 'C09AA02', 'enalapril'],
  ['52175', 'C09CA01', 'losartan'],
  ['6918', 'C07AB02', 'metoprolol'],
  ['10582', 'H03AA01', 'levothyroxine'],
  ['7646', 'A02BC01', 'omeprazole'],
  ['435', 'R03AC02', 'albuterol'],
  ['36437', 'N06AB06', 'sertraline'],
  // clinical and branded drugs as Synthea writes them
  ['314076', 'C09AA03', 'lisinopril 10 MG Oral Tablet'],
  ['310798', 'C03AA03', 'Hydrochlorothiazide 25 MG Oral Tablet'],
  ['316049', 'C03AA03', 'Hydrochlorothiazide 25 MG'],
  ['316052', 'C03AA03', 'Hydrochlorothiazide 6.25 MG'],
  ['308136', 'C08CA01', 'amLODIPine 2.5 MG Oral Tablet'],
  ['197361', 'C08CA01', 'Amlodipine 5 MG Oral Tablet'],
  ['314231', 'C10AA01', 'Simvastatin 10 MG Oral Tablet'],
  ['316672', 'C10AA01', 'Simvastatin 10 MG'],
  ['312961', 'C10AA01', 'Simvastatin 20 MG Oral Tablet'],
  ['259255', 'C10AA05', 'Atorvastatin 80 MG Oral Tablet'],
  ['833036', 'C09AA01', 'Captopril 25 MG Oral Tablet'],
  ['866414', 'C07AB02', '24 HR metoprolol succinate 100 MG Extended Release Oral Tablet [Toprol]'],
  ['315971', 'C03CA01', 'Furosemide 40 MG (Lasix)'],
  ['313988', 'C03CA01', 'Furosemide 40 MG Oral Tablet'],
  ['1719286', 'C03CA01', '10 ML Furosemide 10 MG/ML Injection'],
  ['705129', 'C01DA02', 'Nitroglycerin 0.4 MG/ACTUAT Mucosal Spray'],
  ['309362', 'B01AC04', 'Clopidogrel 75 MG Oral Tablet'],
  ['243670', 'B01AC06', 'aspirin 81 MG Oral Tablet'],
  ['1804799', 'B01AD02', 'Alteplase 100 MG Injection'],
  ['854235', 'B01AB05', '0.4 ML Enoxaparin sodium 100 MG/ML Prefilled Syringe'],
  ['854252', 'B01AB05', '1 ML Enoxaparin sodium 150 MG/ML Prefilled Syringe'],
  ['310325', 'B03AA07', 'ferrous sulfate 325 MG Oral Tablet'],
  ['860975', 'A10BA02', '24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet'],
  ['106892', 'A10AD01', 'insulin isophane, human 70 UNT/ML / insulin, regular, human 30 UNT/ML Injectable Suspension', 'premixed human insulin: intermediate- combined with fast-acting'],
  ['313782', 'N02BE01', 'Acetaminophen 325 MG Oral Tablet'],
  ['209387', 'N02BE01', 'Acetaminophen 325 MG Oral Tablet [Tylenol]'],
  ['282464', 'N02BE01', 'Acetaminophen 160 MG Oral Tablet'],
  ['198440', 'N02BE01', 'Acetaminophen 500 MG Oral Tablet'],
  ['1049625', 'N02AJ17', 'Acetaminophen 325 MG / Oxycodone Hydrochloride 10 MG Oral Tablet [Percocet]'],
  ['198405', 'M01AE01', 'Ibuprofen 100 MG Oral Tablet'],
  ['310965', 'M01AE01', 'Ibuprofen 200 MG Oral Tablet'],
  ['849574', 'M01AE02', 'Naproxen sodium 220 MG Oral Tablet'],
  ['198014', 'M01AE02', 'Naproxen 500 MG Oral Tablet'],
  ['861467', 'N02AB02', 'Meperidine Hydrochloride 50 MG Oral Tablet'],
  ['308182', 'J01CA04', 'Amoxicillin 250 MG Oral Capsule'],
  ['308192', 'J01CA04', 'Amoxicillin 500 MG Oral Tablet'],
  ['562251', 'J01CR02', 'Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet'],
  ['834061', 'J01CE02', 'Penicillin V Potassium 250 MG Oral Tablet'],
  ['834102', 'J01CE02', 'Penicillin V Potassium 500 MG Oral Tablet'],
  ['311989', 'J01XE01', 'Nitrofurantoin 5 MG/ML Oral Suspension'],
  ['1094107', 'G04BX06', 'Phenazopyridine hydrochloride 100 MG Oral Tablet'],
  ['1870230', 'C01CA24', 'NDA020800 0.3 ML Epinephrine 1 MG/ML Auto-Injector'],
  ['745679', 'R03AC02', '200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler'],
  ['2123111', 'R03AC02', 'NDA020503 200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler'],
  ['895994', 'R03BA05', '120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler'],
  ['311372', 'R06AX13', 'Loratadine 10 MG Oral Tablet'],
  ['665078', 'R06AX13', 'Loratadine 5 MG Chewable Tablet'],
  ['997488', 'R06AX26', 'Fexofenadine hydrochloride 30 MG Oral Tablet'],
  ['1014676', 'R06AE07', 'cetirizine hydrochloride 5 MG Oral Tablet'],
  ['1049630', 'R06AA02', 'diphenhydrAMINE Hydrochloride 25 MG Oral Tablet'],
  ['197378', 'R06AX11', 'Astemizole 10 MG Oral Tablet'],
  ['141918', 'R06AX12', 'Terfenadine 60 MG Oral Tablet'],
  ['106258', 'D07AA02', 'Hydrocortisone 10 MG/ML Topical Cream'],
  ['312617', 'H02AB07', 'predniSONE 5 MG Oral Tablet'],
  ['308971', 'N03AF01', 'Carbamazepine [Tegretol]'],
  ['1153378', 'N03AE01', 'Clonazepam [Klonopin]'],
  ['563026', 'N05BA01', 'Diazepam [Valium]'],
  ['197591', 'N05BA01', 'Diazepam 5 MG Oral Tablet'],
  ['997223', 'N06DA02', 'Donepezil hydrochloride 10 MG Oral Tablet'],
  ['998582', 'N06DA02', 'Donepezil hydrochloride 23 MG [Aricept]'],
  ['835900', 'L04AD01', 'cycloSPORINE 50 MG Oral Capsule'],
  ['105586', 'L04AX03', 'Methotrexate 10 MG Oral Tablet', 'oral low-dose methotrexate (rheumatoid arthritis): immunosuppressant L04AX03, not L01BA01'],
  ['1736854', 'L01XA01', 'Cisplatin 50 MG Injection'],
  ['583214', 'L01CD01', 'PACLitaxel 100 MG Injection'],
  // hormonal contraceptives
  ['751905', 'G03AA11', 'Trinessa 28 Day Pack (norgestimate / ethinyl estradiol)'],
  ['978950', 'G03AB08', 'Natazia 28 Day Pack (dienogest / estradiol valerate)'],
  ['1534809', 'G03AA13', '168 HR Ethinyl Estradiol / norelgestromin Transdermal System'],
  ['757594', 'G03AC01', 'Jolivette 28 Day Pack (norethindrone)'],
  ['748962', 'G03AC01', 'Camila 28 Day Pack (norethindrone)'],
  ['831533', 'G03AC01', 'Errin 28 Day Pack (norethindrone)'],
  ['389221', 'G03AC08', 'Etonogestrel 68 MG Drug Implant'],
  ['1000126', 'G03AC06', '1 ML medroxyprogesterone acetate 150 MG/ML Injection'],
  ['1367439', 'G02BB01', 'NuvaRing 0.12/0.015 MG per 24HR 21 Day Vaginal Ring'],
  ['807283', 'G02BA03', 'Mirena 52 MG Intrauterine System'],
];

/** SNOMED CT procedures -> a procedure concept of the model's vocabulary: only where the source
 *  concept is a subtype (is-a) of the target, so the mapping generalises and never invents. */
const SNOMED_PROCEDURE_GENERALISE: Row[] = [
  ['433236007', '40701008', 'Transthoracic echocardiography', 'is-a Echocardiography'],
  ['454711000124102', '171207006', 'Depression screening using PHQ-2', 'is-a Depression screening'],
  ['715252007', '171207006', 'Depression screening using PHQ-9', 'is-a Depression screening'],
];

/** CVX vaccine codes -> SNOMED CT vaccine administration procedure. Influenza vaccines (CDC CVX
 *  table, "influenza" rows) -> 86198006, which is in the model's vocabulary; every other vaccine ->
 *  the general 33879002 (not in the shipped vocabulary, so counted as mapped but not seen). */
const CVX_INFLUENZA = ['15', '16', '88', '111', '135', '140', '141', '144', '149', '150', '151', '153', '155', '158', '161', '166', '168', '171', '185', '186', '197', '205'];
const CVX_OTHER: Array<[string, string]> = [
  ['03', 'MMR'], ['08', 'Hep B, adolescent or pediatric'], ['10', 'IPV'], ['20', 'DTaP'], ['21', 'varicella'],
  ['33', 'pneumococcal polysaccharide PPV23'], ['43', 'Hep B, adult'], ['49', 'Hib (PRP-OMP)'], ['52', 'Hep A, adult'],
  ['62', 'HPV, quadrivalent'], ['83', 'Hep A, ped/adol, 2 dose'], ['113', 'Td (adult) preservative free'],
  ['114', 'meningococcal MCV4P'], ['115', 'Tdap'], ['119', 'rotavirus, monovalent'], ['121', 'zoster live'],
  ['133', 'pneumococcal conjugate PCV 13'], ['187', 'zoster recombinant'], ['207', 'COVID-19 mRNA (Moderna)'], ['208', 'COVID-19 mRNA (Pfizer)'],
];

/** LOINC -> LOINC of the model where Synthea measures the same analyte in another specimen or by
 *  another method (same unit, same clinical meaning for the model; documented approximation). */
const LOINC_EQUIVALENT: Array<[string, 'lab' | 'vital', string, string]> = [
  ['2339-0', 'lab', '2345-7', 'Glucose [Mass/volume] in Blood -> in Serum or Plasma'],
  ['38483-4', 'lab', '2160-0', 'Creatinine [Mass/volume] in Blood -> in Serum or Plasma'],
  ['2947-0', 'lab', '2951-2', 'Sodium [Moles/volume] in Blood -> in Serum or Plasma'],
  ['6298-4', 'lab', '2823-3', 'Potassium [Moles/volume] in Blood -> in Serum or Plasma'],
  ['8331-1', 'vital', '8310-5', 'Oral temperature -> Body temperature'],
  ['2708-6', 'vital', '59408-5', 'Oxygen saturation in Arterial blood -> by Pulse oximetry (Synthea records pulse oximetry)'],
];

/** Smoking status (LOINC 72166-2, NHIS) answers -> the model's SMOKING:* codes. FHIR carries the
 *  SNOMED CT answer; Synthea CSV writes only its display text, hence the text: keys. */
const SMOKING: Array<[string, 'current' | 'former' | 'never']> = [
  ['SNOMED|449868002', 'current'], // Current every day smoker / Smokes tobacco daily
  ['SNOMED|428041000124106', 'current'], // Current some day smoker
  ['SNOMED|77176002', 'current'], // Smoker
  ['SNOMED|428061000124105', 'current'], // Light tobacco smoker
  ['SNOMED|428071000124103', 'current'], // Heavy tobacco smoker
  ['SNOMED|8517006', 'former'], // Ex-smoker / Former smoker
  ['SNOMED|266919005', 'never'], // Never smoked tobacco / Never smoker
  ['text:current every day smoker', 'current'],
  ['text:smokes tobacco daily (finding)', 'current'],
  ['text:current some day smoker', 'current'],
  ['text:smoker', 'current'],
  ['text:light tobacco smoker', 'current'],
  ['text:heavy tobacco smoker', 'current'],
  ['text:former smoker', 'former'],
  ['text:ex-smoker (finding)', 'former'],
  ['text:never smoker', 'never'],
  ['text:never smoked tobacco (finding)', 'never'],
];

const codes: Record<string, { modality: string; code: string }> = {};
const notes: Record<string, string> = {};
const put = (k: string, modality: string, code: string, note?: string) => {
  codes[k] = { modality, code };
  if (note) notes[k] = note;
};
for (const [c, t, , n] of SNOMED_TO_ICD10CM) put(`SNOMED|${c}`, 'diagnosis', t, n);
for (const [c, t, , n] of RXNORM_TO_ATC) put(`RxNorm|${c}`, 'medication', t, n);
for (const [c, t, d, n] of SNOMED_PROCEDURE_GENERALISE) put(`SNOMED|${c}`, 'procedure', t, `${d}: ${n}`);
for (const c of CVX_INFLUENZA) put(`CVX|${c}`, 'procedure', '86198006');
for (const [c, d] of CVX_OTHER) put(`CVX|${c}`, 'procedure', '33879002', d);
for (const [c, m, t, d] of LOINC_EQUIVALENT) put(`LOINC|${c}`, m, t, d);
// Synthea v2 writes the LOINC of a transthoracic echo (34552-0) as a SNOMED procedure code
put('SNOMED|34552-0', 'procedure', '40701008', 'Synthea bug: LOINC 34552-0 (TTE) written under the SNOMED system');

export const SYNTHEA_MAP_JSON = {
  format: 'exbehrt-codemap',
  version: 1,
  name: 'synthea-to-exbehrt',
  sources: [
    'NLM SNOMED CT to ICD-10-CM Map (UMLS mapping projects), default targets, ICD-10-CM FY2018 code set',
    'WHO Collaborating Centre ATC/DDD index (ATC by active ingredient); RxNorm (NLM) ingredient of each RXCUI',
    'CDC CVX code set (vaccine names); SNOMED CT 86198006, 33879002',
    'LOINC (Regenstrief) component/system/method axes for the equivalent-analyte rows',
    'Synthea (synthetichealth/synthea) modules and exports for the codes and answer texts it emits',
  ],
  codes,
  values: {
    'LOINC|72166-2': Object.fromEntries(SMOKING.map(([k, s]) => [k, { modality: 'smoking', code: `SMOKING:${s}` }])),
  },
  derive: [
    {
      // src/data/synthetic.ts derives BMI:* from BMI with these WHO adult cut points
      from: { modality: 'vital', code: '39156-5' },
      modality: 'characteristic',
      minAge: 18,
      bins: [
        { below: 18.5, code: 'BMI:underweight' },
        { below: 25, code: 'BMI:normal' },
        { below: 30, code: 'BMI:overweight' },
        { code: 'BMI:obese' },
      ],
      note: 'WHO adult BMI classes, as the synthetic generator makes BMI:*; not for children (percentiles apply)',
    },
  ],
  notes,
};
