#!/usr/bin/python3
"""Build the export fixtures: a small random BEHRT and a small random ExBEHRT saved the way a
researcher has them in PyTorch, exported with export_to_workbench.py, plus golden logits.

    /usr/bin/python3 tools/export/make_checkpoint.py [out_dir]

Writes (default out_dir tests/fixtures/export/):
  behrt.pt             BEHRT BertForMultiLabelPrediction state_dict as DataParallel saves it
                       (`module.` prefix, BEHRT names posi_/segment_embeddings, one `classifier` head)
  behrt-vocab.pkl      BEHRT's vocab pickle {'token2idx', 'idx2token'} (specials PAD UNK SEP CLS MASK)
  behrt-config.json    BEHRT's model_config and global_params (age from BEHRT's age_vocab, in years)
  exbehrt.pt           a training checkpoint {'model_state_dict', 'epoch', ...}: HuggingFace aliases
                       (token_type_embeddings, position_embeddings), procedure/lab/sex tables, an MLM head
                       with a tied decoder, a 2-label `classifier`
  exbehrt-vocab.pkl    token2idx with the specials in another order, age2idx (ages 18..99)
  exbehrt-modalities.json  per-modality token lists / {token: idx}, sex tokens, lab bin edges
  exbehrt-config.pkl   the config dict (modality rows, task names)
  golden.json          per model: the patients (timeline JSON), their token grids in the workbench's
                       layout and the logits of the ORIGINAL checkpoint (its own indices and names),
                       computed in float64 by tools/reference/exbehrt_ref.py
  behrt-exported/      the exported BEHRT folder (for the browser test's setInputFiles)
  behrt-exported-golden.json  {patient, predictions: [{task, probability, logit}]} for that folder

The golden logits come from the checkpoint as saved, not from the export: the script then exports,
runs the same patients through the exported folder (workbench indices) and fails unless the two
agree to 1e-9. Deterministic: the same torch gives the same bytes.
"""
import datetime
import json
import math
import os
import pickle
import shutil
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tools', 'reference'))
import exbehrt_ref as ref  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'tests', 'fixtures', 'export')
EXPORT = os.path.join(HERE, 'export_to_workbench.py')
H, N, A, I = 16, 2, 4, 32
SIG = 12
DAYS_PER_YEAR = 365.2425  # as ageInYears in src/data/schema.ts


def rnd(g, *shape, std=0.5):
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * std).to(torch.float32)


def encoder_tensors(g, prefix=''):
    """BERT encoder + pooler with BEHRT / pytorch_pretrained_bert names."""
    sd = {}
    for i in range(N):
        p = f'{prefix}bert.encoder.layer.{i}.'
        for q in ('query', 'key', 'value'):
            sd[f'{p}attention.self.{q}.weight'] = rnd(g, H, H)
            sd[f'{p}attention.self.{q}.bias'] = rnd(g, H, std=0.2)
        sd[p + 'attention.output.dense.weight'] = rnd(g, H, H)
        sd[p + 'attention.output.dense.bias'] = rnd(g, H, std=0.2)
        sd[p + 'attention.output.LayerNorm.weight'] = 1 + rnd(g, H, std=0.2)
        sd[p + 'attention.output.LayerNorm.bias'] = rnd(g, H, std=0.2)
        sd[p + 'intermediate.dense.weight'] = rnd(g, I, H)
        sd[p + 'intermediate.dense.bias'] = rnd(g, I, std=0.2)
        sd[p + 'output.dense.weight'] = rnd(g, H, I)
        sd[p + 'output.dense.bias'] = rnd(g, H, std=0.2)
        sd[p + 'output.LayerNorm.weight'] = 1 + rnd(g, H, std=0.2)
        sd[p + 'output.LayerNorm.bias'] = rnd(g, H, std=0.2)
    sd[prefix + 'bert.pooler.dense.weight'] = rnd(g, H, H)
    sd[prefix + 'bert.pooler.dense.bias'] = rnd(g, H, std=0.2)
    return sd


def behrt_posi(rows):
    """BEHRT's fixed sinusoid position table (model/NextXVisit.py _init_posi_embedding)."""
    t = torch.zeros(rows, H, dtype=torch.float32)
    for pos in range(rows):
        for idx in range(H):
            angle = pos / (10000 ** (2 * idx / H))
            t[pos, idx] = math.sin(angle) if idx % 2 == 0 else math.cos(angle)
    return t


# ----------------------------------------------------------------------------- patients


def age_years(birth, date):
    b = datetime.date.fromisoformat(birth)
    d = datetime.date.fromisoformat(date)
    return (d - b).days / DAYS_PER_YEAR


def event_token(ev, bins):
    """eventToken in src/tokens/vocab.ts"""
    edges = bins.get(f'{ev["modality"]}:{ev["code"]}')
    if ev.get('value') is None or not edges:
        return ev['code']
    k = 0
    while k < len(edges) and ev['value'] > edges[k]:
        k += 1
    return f'{ev["code"]}|q{k + 1}'


def layout(patient, L, mods, bins):
    """The ExBEHRT layout of shared/design/EXBEHRT.md for a patient that fits in L tokens (no
    truncation): token strings per slot. -> dict of lists: diagnosis tokens (str or special),
    age (years, float), segment, position, modalities {m: [rows][L] token or None}, real length."""
    visits = sorted(patient['visits'], key=lambda v: v['date'])
    diag, ages, seg, pos = ['CLS'], [age_years(patient['birthDate'], visits[0]['date'])], [0], [0]
    grid = {m: [[None] * L for _ in range(rows)] for m, rows in mods}
    for k, v in enumerate(visits):
        a = age_years(patient['birthDate'], v['date'])
        dx = [e for e in v['events'] if e['modality'] == 'diagnosis']
        slots = []
        for e in (dx or [None]):
            slots.append(len(diag))
            diag.append('UNK' if e is None else event_token(e, bins))
            ages.append(a), seg.append(k % 2), pos.append(k)
        diag.append('SEP'), ages.append(a), seg.append(k % 2), pos.append(k)
        for m, rows in mods:
            evs = [e for e in v['events'] if e['modality'] == m]
            for j, e in enumerate(evs):
                r = j // len(slots)
                assert r < rows, 'fixture patient overflows a modality row'
                grid[m][r][slots[j % len(slots)]] = event_token(e, bins)
    assert len(diag) <= L, 'fixture patient longer than max_len'
    return {'diagnosis': diag, 'age': ages, 'segment': seg, 'position': pos, 'modalities': grid, 'n': len(diag)}


def batch(lays, L, lookup):
    """token layouts -> an exbehrt_ref batch (torch), with `lookup` mapping strings to ids:
    lookup(part, token or None) where None = PAD / empty slot."""
    B = len(lays)
    out = {k: torch.zeros(B, L, dtype=torch.long) for k in ('diagnosis', 'age', 'segment', 'position', 'static')}
    out['attention_mask'] = torch.zeros(B, L, dtype=torch.float64)
    mods = {}
    for b, lay in enumerate(lays):
        n = lay['n']
        for t in range(L):
            out['diagnosis'][b, t] = lookup('diagnosis', lay['diagnosis'][t] if t < n else None)
            out['age'][b, t] = lookup('age', lay['age'][t] if t < n else None)
            out['segment'][b, t] = lay['segment'][t] if t < n else 0
            out['position'][b, t] = lay['position'][t] if t < n else 0
            out['static'][b, t] = lookup('sex', lay['sex'] if t < n else None)
            out['attention_mask'][b, t] = 1.0 if t < n else 0.0
        for m, rows in lay['modalities'].items():
            mods.setdefault(m, torch.zeros(B, len(rows), L, dtype=torch.long))
            for r, row in enumerate(rows):
                for t in range(L):
                    mods[m][b, r, t] = lookup(m, row[t])
    out['modalities'] = mods
    return out


def forward_parts(weights, cfg, b, pads):
    """exbehrt_ref's encoder on embedding parts computed with arbitrary PAD ids (a researcher's
    vocab need not put PAD at 0): -> {task: logits [B, K]}"""
    model = ref.Model(cfg, weights)
    w, e = model.w, 'bert.embeddings.'
    parts = {'diagnosis': w[e + 'word_embeddings.weight'][b['diagnosis']]}
    for m in cfg.get('modalities', []):
        ids = b['modalities'][m['name']]
        parts[m['name']] = (w[f'{e}{m["name"]}_embeddings.weight'][ids] * (ids != pads[m['name']]).unsqueeze(-1).double()).sum(1)
    parts['age'] = w[e + 'age_embeddings.weight'][b['age']]
    parts['segment'] = w[e + 'segment_embeddings.weight'][b['segment']]
    parts['position'] = w[e + 'posi_embeddings.weight'][b['position']]
    if cfg.get('static'):
        ids = b['static']
        parts['static'] = w[e + 'sex_embeddings.weight'][ids] * (ids != pads['sex']).unsqueeze(-1).double()
    with torch.no_grad():
        return ref.encode(model, {k: parts[k] for k in model.part_names()}, b['attention_mask'])[2]


def ref_config(mods=(), static=False, tasks=(('_cls', 1),)):
    return {'hidden_size': H, 'num_hidden_layers': N, 'num_attention_heads': A, 'layer_norm_eps': 1e-12,
            'attention_mask_value': -10000.0, 'modalities': [{'name': m, 'rows': r} for m, r in mods],
            'static': {'name': 'sex'} if static else None, 'tasks': [{'name': n, 'num_labels': k} for n, k in tasks]}


def rounded(x):
    return float(f'{float(x):.{SIG}g}')


# ----------------------------------------------------------------------------- the two checkpoints

DX = ['I10', 'E11.9', 'I50.9', 'N18.3', 'E78.5', 'J44.9', 'I48.91', 'C34.90', 'F32.9', 'K21.9', 'M54.5',
      'J06.9', 'R07.9', 'Z79.4', 'G47.33']

BEHRT_PATIENTS = [
    {'id': 'exp-b1', 'sex': 'F', 'birthDate': '1950-03-10', 'visits': [
        {'date': '2015-09-01', 'events': [{'modality': 'diagnosis', 'code': 'I10'}, {'modality': 'diagnosis', 'code': 'E11.9'}]},
        {'date': '2016-10-20', 'events': [{'modality': 'diagnosis', 'code': 'E78.5'}]},
        {'date': '2018-11-05', 'events': [{'modality': 'diagnosis', 'code': 'I48.91'}, {'modality': 'diagnosis', 'code': 'I50.9'},
                                          {'modality': 'diagnosis', 'code': 'N18.3'}]},
        {'date': '2019-12-01', 'events': [{'modality': 'diagnosis', 'code': 'I10'}]},
    ]},
    {'id': 'exp-b2', 'sex': 'M', 'birthDate': '1962-07-15', 'visits': [
        {'date': '2017-01-20', 'events': [{'modality': 'diagnosis', 'code': 'J44.9'}, {'modality': 'diagnosis', 'code': 'X99.9'}]},
        {'date': '2020-02-11', 'events': [{'modality': 'diagnosis', 'code': 'C34.90'}]},
    ]},
    {'id': 'exp-b3', 'sex': 'U', 'birthDate': '1941-05-30', 'visits': [
        {'date': '2012-12-12', 'events': [{'modality': 'diagnosis', 'code': 'F32.9'}]},
        {'date': '2013-01-15', 'events': [{'modality': 'diagnosis', 'code': 'K21.9'}, {'modality': 'diagnosis', 'code': 'M54.5'}]},
        {'date': '2014-02-17', 'events': [{'modality': 'diagnosis', 'code': 'R07.9'}]},
        {'date': '2015-03-19', 'events': [{'modality': 'diagnosis', 'code': 'Z79.4'}, {'modality': 'diagnosis', 'code': 'G47.33'}]},
        {'date': '2016-04-21', 'events': [{'modality': 'diagnosis', 'code': 'J06.9'}]},
    ]},
]

PROC = ['40701008', '73761001', '387713003', '71388002', '16310003', '80146002']
LAB_BINS = {'lab:33762-6': [125.0, 400.0, 1800.0], 'lab:2160-0': [0.8, 1.2, 2.0]}
LAB = [f'{c}|q{k}' for c in ('33762-6', '2160-0') for k in range(1, 5)] + ['4548-4']

EXBEHRT_PATIENTS = [
    {'id': 'exp-x1', 'sex': 'F', 'birthDate': '1948-02-14', 'visits': [
        {'date': '2016-06-01', 'events': [
            {'modality': 'diagnosis', 'code': 'I10'}, {'modality': 'diagnosis', 'code': 'E11.9'},
            {'modality': 'procedure', 'code': '40701008'},
            {'modality': 'procedure', 'code': '73761001'}, {'modality': 'procedure', 'code': '387713003'},
            {'modality': 'lab', 'code': '33762-6', 'value': 950.0, 'unit': 'pg/mL'}]},
        {'date': '2017-08-09', 'events': [
            {'modality': 'diagnosis', 'code': 'I50.9'}, {'modality': 'diagnosis', 'code': 'N18.3'},
            {'modality': 'lab', 'code': '2160-0', 'value': 1.5, 'unit': 'mg/dL'}, {'modality': 'lab', 'code': '4548-4', 'value': 7.1, 'unit': '%'}]},
        {'date': '2018-10-11', 'events': [
            {'modality': 'procedure', 'code': '71388002'}, {'modality': 'lab', 'code': '33762-6', 'value': 2500.0, 'unit': 'pg/mL'}]},
    ]},
    {'id': 'exp-x2', 'sex': 'M', 'birthDate': '1957-11-03', 'visits': [
        {'date': '2019-04-04', 'events': [
            {'modality': 'diagnosis', 'code': 'C34.90'}, {'modality': 'diagnosis', 'code': 'J44.9'},
            {'modality': 'procedure', 'code': '99999999'}, {'modality': 'lab', 'code': '2160-0', 'value': 0.7, 'unit': 'mg/dL'}]},
        {'date': '2020-05-05', 'events': [{'modality': 'diagnosis', 'code': 'E78.5'}, {'modality': 'procedure', 'code': '16310003'}]},
    ]},
    {'id': 'exp-x3', 'sex': 'U', 'birthDate': '1970-01-20', 'visits': [
        {'date': '2021-07-07', 'events': [
            {'modality': 'diagnosis', 'code': 'E11.9'}, {'modality': 'lab', 'code': '33762-6', 'value': 100.0, 'unit': 'pg/mL'},
            {'modality': 'procedure', 'code': '80146002'}]},
    ]},
]


def make_behrt(g):
    L = 32
    token2idx = {'PAD': 0, 'UNK': 1, 'SEP': 2, 'CLS': 3, 'MASK': 4}  # BEHRT's order: SEP before CLS
    for c in DX:
        token2idx[c] = len(token2idx)
    vocab = {'token2idx': token2idx, 'idx2token': {i: t for t, i in token2idx.items()}}
    max_age = 100
    age2idx = {'PAD': 0, 'UNK': 1, **{str(a): 2 + a for a in range(max_age)}}  # age_vocab(100, mon=12)
    V, AV = len(token2idx), len(age2idx)
    sd = {'bert.embeddings.word_embeddings.weight': rnd(g, V, H),
          'bert.embeddings.segment_embeddings.weight': rnd(g, 2, H),
          'bert.embeddings.age_embeddings.weight': rnd(g, AV, H),
          'bert.embeddings.posi_embeddings.weight': behrt_posi(L),
          'bert.embeddings.LayerNorm.weight': 1 + rnd(g, H, std=0.2),
          'bert.embeddings.LayerNorm.bias': rnd(g, H, std=0.2)}
    sd.update(encoder_tensors(g))
    sd['classifier.weight'] = rnd(g, 1, H)
    sd['classifier.bias'] = rnd(g, 1, std=0.2)
    saved = {'module.' + k: v.clone() for k, v in sd.items()}  # nn.DataParallel(model).state_dict()
    config = {
        'model_config': {'vocab_size': V, 'hidden_size': H, 'seg_vocab_size': 2, 'age_vocab_size': AV,
                         'max_position_embedding': L, 'hidden_dropout_prob': 0.1, 'num_hidden_layers': N,
                         'num_attention_heads': A, 'attention_probs_dropout_prob': 0.1, 'intermediate_size': I,
                         'hidden_act': 'gelu', 'initializer_range': 0.02},
        'global_params': {'max_seq_len': L, 'max_age': max_age, 'month': 12, 'age_symbol': None, 'min_visit': 1},
    }
    # the checkpoint's own forward pass, in its own indices
    lays = []
    for p in BEHRT_PATIENTS:
        lay = layout(p, L, [], {})
        lay['sex'] = None
        lays.append(lay)

    def orig_lookup(part, tok):
        if part == 'diagnosis':
            return token2idx['PAD'] if tok is None else token2idx.get(tok, token2idx['UNK'])
        if part == 'age':
            return age2idx['PAD'] if tok is None else age2idx.get(str(int(math.floor(tok))), age2idx['UNK'])
        return 0
    b = batch(lays, L, orig_lookup)
    w = dict(sd)
    w['heads._cls.weight'], w['heads._cls.bias'] = w.pop('classifier.weight'), w.pop('classifier.bias')
    logits = forward_parts(w, ref_config(), b, {})['_cls'][:, 0]
    return {'saved': saved, 'vocab': vocab, 'config': config, 'lays': lays, 'L': L,
            'logits': {'hf_12m': logits.tolist()}, 'patients': BEHRT_PATIENTS}


def make_exbehrt(g):
    L, P = 32, 16
    specials = ['UNK', 'PAD', 'MASK', 'SEP', 'CLS']  # not the workbench order, on purpose
    token2idx = {t: i for i, t in enumerate(specials + DX[:12])}
    age2idx = {'PAD': 0, 'UNK': 1, **{str(a): 2 + a - 18 for a in range(18, 100)}}  # adults only
    proc_vocab = {t: i for i, t in enumerate(['UNK', 'PAD'] + PROC)}  # PAD not first
    lab_vocab = ['PAD', 'UNK'] + LAB
    sex_vocab = ['male', 'female', 'PAD', 'unknown']
    V, AV = len(token2idx), len(age2idx)
    sd = {'bert.embeddings.word_embeddings.weight': rnd(g, V, H),
          'bert.embeddings.token_type_embeddings.weight': rnd(g, 2, H),
          'bert.embeddings.age_embeddings.weight': rnd(g, AV, H),
          'bert.embeddings.position_embeddings.weight': rnd(g, P, H),
          'bert.embeddings.procedure_embeddings.weight': rnd(g, len(proc_vocab), H),
          'bert.embeddings.lab_embeddings.weight': rnd(g, len(lab_vocab), H),
          'bert.embeddings.sex_embeddings.weight': rnd(g, len(sex_vocab), H),
          'bert.embeddings.LayerNorm.weight': 1 + rnd(g, H, std=0.2),
          'bert.embeddings.LayerNorm.bias': rnd(g, H, std=0.2)}
    sd.update(encoder_tensors(g))
    sd['classifier.weight'] = rnd(g, 2, H)
    sd['classifier.bias'] = rnd(g, 2, std=0.2)
    mlm = {'cls.predictions.transform.dense.weight': rnd(g, H, H), 'cls.predictions.transform.dense.bias': rnd(g, H, std=0.2),
           'cls.predictions.transform.LayerNorm.weight': 1 + rnd(g, H, std=0.2),
           'cls.predictions.transform.LayerNorm.bias': rnd(g, H, std=0.2), 'cls.predictions.bias': rnd(g, V, std=0.2)}
    saved_sd = {k: v.clone() for k, v in sd.items()}
    saved_sd.update({k: v.clone() for k, v in mlm.items()})
    saved_sd['cls.predictions.decoder.weight'] = saved_sd['bert.embeddings.word_embeddings.weight']  # tied
    saved_sd['bert.embeddings.position_ids'] = torch.arange(P).unsqueeze(0)  # a HuggingFace buffer
    saved = {'model_state_dict': saved_sd, 'epoch': 7, 'best_val_auroc': 0.5}
    modality_vocab = {'procedure': proc_vocab, 'lab': lab_vocab, 'sex': sex_vocab,
                      'bins': {'lab': {k.split(':', 1)[1]: v for k, v in LAB_BINS.items()}}}
    config = {'model_type': 'exbehrt', 'hidden_size': H, 'num_hidden_layers': N, 'num_attention_heads': A,
              'intermediate_size': I, 'max_len': L, 'age_unit': 'years',
              'modalities': [{'name': 'procedure', 'rows': 2}, {'name': 'lab', 'rows': 1}],
              'tasks': [{'name': 'hf_12m', 'description': 'heart failure within 12 months'},
                        {'name': 'death_6m', 'description': 'death within 6 months'}]}
    mods = [('procedure', 2), ('lab', 1)]
    lays = []
    for p in EXBEHRT_PATIENTS:
        lay = layout(p, L, mods, LAB_BINS)
        lay['sex'] = p['sex']
        lays.append(lay)
    sex_of = {'F': 'female', 'M': 'male', 'U': 'unknown'}

    def orig_lookup(part, tok):
        if part == 'diagnosis':
            return token2idx['PAD'] if tok is None else token2idx.get(tok, token2idx['UNK'])
        if part == 'age':
            return age2idx['PAD'] if tok is None else age2idx.get(str(int(math.floor(tok))), age2idx['UNK'])
        if part == 'procedure':
            return proc_vocab['PAD'] if tok is None else proc_vocab.get(tok, proc_vocab['UNK'])
        if part == 'lab':
            return lab_vocab.index('PAD') if tok is None else (lab_vocab.index(tok) if tok in lab_vocab else lab_vocab.index('UNK'))
        if part == 'sex':
            return sex_vocab.index('PAD') if tok is None else sex_vocab.index(sex_of[tok])
        raise KeyError(part)
    b = batch(lays, L, orig_lookup)
    w = {}
    for k, v in sd.items():
        k = k.replace('token_type_embeddings', 'segment_embeddings').replace('position_embeddings', 'posi_embeddings')
        w[k] = v
    w['heads._cls.weight'], w['heads._cls.bias'] = w.pop('classifier.weight'), w.pop('classifier.bias')
    pads = {'procedure': proc_vocab['PAD'], 'lab': lab_vocab.index('PAD'), 'sex': sex_vocab.index('PAD')}
    out = forward_parts(w, ref_config(mods, True, (('_cls', 2),)), b, pads)['_cls']
    return {'saved': saved, 'vocab': {'token2idx': token2idx, 'idx2token': {i: t for t, i in token2idx.items()},
                                      'age2idx': age2idx},
            'modality_vocab': modality_vocab, 'config': config, 'lays': lays, 'L': L,
            'logits': {'hf_12m': out[:, 0].tolist(), 'death_6m': out[:, 1].tolist()}, 'patients': EXBEHRT_PATIENTS}


# ----------------------------------------------------------------------------- export and check


def run_export(args):
    r = subprocess.run([sys.executable, EXPORT] + args, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f'export failed ({r.returncode}):\n{r.stderr}')
    return r


def exported_logits(folder, m):
    """The same patients through the exported folder, in the workbench's indices."""
    cfg = json.load(open(os.path.join(folder, 'config.json')))
    vocab = json.load(open(os.path.join(folder, 'vocab.json')))
    weights = {k: torch.from_numpy(v) for k, v in ref.read_safetensors(os.path.join(folder, 'model.safetensors')).items()}
    ix = {'diagnosis': {t: i for i, t in enumerate(vocab['diagnosis'])}}
    for k, toks in vocab['modalities'].items():
        ix[k] = {t: i for i, t in enumerate(toks)}
    ix['sex'] = {t: i for i, t in enumerate(vocab['static'].get('sex', ['[PAD]', 'F', 'M', 'U']))}
    sp = {'CLS': '[CLS]', 'SEP': '[SEP]', 'UNK': '[UNK]'}

    def lookup(part, tok):
        if part == 'diagnosis':
            return 0 if tok is None else ix['diagnosis'].get(sp.get(tok, tok), 1)
        if part == 'age':
            return 0 if tok is None else min(max(int(math.floor(tok)), 0), cfg['age_vocab_size'] - 1)
        if part == 'sex':
            return 0 if tok is None else ix['sex'].get(tok, ix['sex'].get('U', 0))
        return 0 if tok is None else ix[part].get(tok, 1)
    b = batch(m['lays'], m['L'], lookup)
    model = ref.Model(cfg, weights)
    with torch.no_grad():
        logits = ref.forward(model, b)[2]
    grids = []
    for i, lay in enumerate(m['lays']):
        n = lay['n']
        gr = {k: b[k][i, :n].tolist() for k in ('diagnosis', 'age', 'segment', 'position')}
        gr['modalities'] = {k: v[i, :, :n].tolist() for k, v in b['modalities'].items()}
        gr['static'] = b['static'][i, :n].tolist() if cfg.get('static') else None
        grids.append(gr)
    return {t: v[:, 0].tolist() for t, v in logits.items()}, grids


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(20230321)
    models = {'behrt': make_behrt(g), 'exbehrt': make_exbehrt(g)}
    b, x = models['behrt'], models['exbehrt']
    torch.save(b['saved'], os.path.join(OUT, 'behrt.pt'))
    with open(os.path.join(OUT, 'behrt-vocab.pkl'), 'wb') as f:
        pickle.dump(b['vocab'], f, protocol=4)
    with open(os.path.join(OUT, 'behrt-config.json'), 'w') as f:
        json.dump(b['config'], f, indent=2)
        f.write('\n')
    torch.save(x['saved'], os.path.join(OUT, 'exbehrt.pt'))
    with open(os.path.join(OUT, 'exbehrt-vocab.pkl'), 'wb') as f:
        pickle.dump(x['vocab'], f, protocol=4)
    with open(os.path.join(OUT, 'exbehrt-modalities.json'), 'w') as f:
        json.dump(x['modality_vocab'], f, indent=2)
        f.write('\n')
    with open(os.path.join(OUT, 'exbehrt-config.pkl'), 'wb') as f:
        pickle.dump(x['config'], f, protocol=4)

    golden = {'format': 'exbehrt-export-golden', 'version': 1,
              'generator': 'tools/export/make_checkpoint.py', 'torch': torch.__version__.split('+')[0]}
    tmp = tempfile.mkdtemp(prefix='export-fixture-')
    try:
        args = {'behrt': ['--checkpoint', os.path.join(OUT, 'behrt.pt'), '--vocab', os.path.join(OUT, 'behrt-vocab.pkl'),
                          '--config', os.path.join(OUT, 'behrt-config.json'), '--task-name', 'hf_12m'],
                'exbehrt': ['--checkpoint', os.path.join(OUT, 'exbehrt.pt'), '--vocab', os.path.join(OUT, 'exbehrt-vocab.pkl'),
                            '--config', os.path.join(OUT, 'exbehrt-config.pkl'),
                            '--modality-vocab', os.path.join(OUT, 'exbehrt-modalities.json')]}
        for name, m in models.items():
            folder = os.path.join(tmp, name)
            r = run_export(args[name] + ['--out', folder])
            sys.stdout.write(f'{name}: {r.stdout}{r.stderr}')
            logits, grids = exported_logits(folder, m)
            worst = max(abs(a - b_) for t in m['logits'] for a, b_ in zip(logits[t], m['logits'][t]))
            if worst > 1e-9:
                raise SystemExit(f'{name}: exported folder disagrees with the checkpoint: {worst}')
            print(f'{name}: exported folder = checkpoint, max |diff| {worst:.2e} (float64)')
            golden[name] = {'patients': m['patients'], 'grids': grids,
                            'logits': {t: [rounded(v) for v in vs] for t, vs in m['logits'].items()}}
        dest = os.path.join(OUT, 'behrt-exported')
        if os.path.exists(dest):
            shutil.rmtree(dest)
        run_export(args['behrt'] + ['--out', dest, '--name', 'behrt-exported'])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(OUT, 'golden.json'), 'w') as f:
        json.dump(golden, f, separators=(',', ':'))
        f.write('\n')
    p0 = golden['behrt']['patients'][0]
    lg = golden['behrt']['logits']['hf_12m'][0]
    with open(os.path.join(OUT, 'behrt-exported-golden.json'), 'w') as f:
        json.dump({'model': 'behrt-exported', 'patient': p0,
                   'predictions': [{'task': 'hf_12m', 'logit': lg, 'probability': rounded(1 / (1 + math.exp(-lg)))}]}, f, indent=1)
        f.write('\n')
    print('wrote', OUT)


if __name__ == '__main__':
    main()
