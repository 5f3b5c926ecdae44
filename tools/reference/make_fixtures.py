"""Build the tiny parity fixture: a seeded random ExBEHRT model folder, token batches, and golden
outputs computed in float64 by the independent reference (exbehrt_ref.py).

    /usr/bin/python3 tools/reference/make_fixtures.py [out_dir]

Writes tests/fixtures/parity/tiny/{config.json, vocab.json, model.safetensors, inputs.json, golden.json}.
Deterministic: the same torch/numpy give byte-identical files.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exbehrt_ref as ref  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'tests', 'fixtures', 'parity', 'tiny')
L = 24  # fixture sequence length (= max_len)
SIG = 12  # significant digits kept in golden.json (tests compare at 1e-4)

CONFIG = {
    'model_type': 'exbehrt',
    'hidden_size': 16, 'num_hidden_layers': 2, 'num_attention_heads': 4, 'intermediate_size': 32,
    'max_len': L, 'vocab_size': 20, 'age_vocab_size': 100, 'age_unit': 'years', 'type_vocab_size': 2,
    'max_position_embeddings': 16,
    'modalities': [{'name': 'procedure', 'vocab_size': 9, 'rows': 2}, {'name': 'lab', 'vocab_size': 11, 'rows': 1}],
    'static': {'name': 'sex', 'vocab_size': 4},
    'layer_norm_eps': 1e-12, 'hidden_act': 'gelu', 'attention_mask_value': -10000,
    'hidden_dropout_prob': 0.1, 'attention_probs_dropout_prob': 0.1,
    'tasks': [{'name': 'hf_12m', 'description': 'heart failure within 12 months', 'num_labels': 1},
              {'name': 'death_6m', 'description': 'death within 6 months', 'num_labels': 1}],
}

VOCAB = {
    'format': 'exbehrt-vocab', 'version': 1,
    'diagnosis': ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'I10', 'E11.9', 'J06.9', 'I50.9', 'N18.3', 'E78.5',
                  'I48.91', 'J44.9', 'K21.9', 'M54.5', 'F32.9', 'G47.33', 'R07.9', 'Z79.4', 'C50.911'],
    'modalities': {
        'procedure': ['[PAD]', '[UNK]', '40701008', '73761001', '387713003', '71388002', '16310003', '80146002',
                      '274025005'],
        'lab': ['[PAD]', '[UNK]', '2160-0|q1', '2160-0|q2', '2160-0|q3', '33762-6|q1', '33762-6|q2', '33762-6|q3',
                '4548-4|q1', '4548-4|q2', '4548-4|q3'],
    },
    'static': {'sex': ['[PAD]', 'F', 'M', 'U']},
    'bins': {},
}
PAD, UNK, CLS, SEP = 0, 1, 2, 3


def expected_tensors(c):
    """Names and PyTorch shapes, as expectedTensors(config, {mlm: true}) in src/model/config.ts."""
    H, I, e = c['hidden_size'], c['intermediate_size'], 'bert.embeddings.'
    t = {e + 'word_embeddings.weight': [c['vocab_size'], H], e + 'segment_embeddings.weight': [c['type_vocab_size'], H],
         e + 'age_embeddings.weight': [c['age_vocab_size'], H],
         e + 'posi_embeddings.weight': [c['max_position_embeddings'], H]}
    for m in c['modalities']:
        t[f"{e}{m['name']}_embeddings.weight"] = [m['vocab_size'], H]
    if c['static']:
        t[f"{e}{c['static']['name']}_embeddings.weight"] = [c['static']['vocab_size'], H]
    t[e + 'LayerNorm.weight'] = [H]
    t[e + 'LayerNorm.bias'] = [H]
    for i in range(c['num_hidden_layers']):
        p = f'bert.encoder.layer.{i}.'
        for q in ('query', 'key', 'value'):
            t[f'{p}attention.self.{q}.weight'] = [H, H]
            t[f'{p}attention.self.{q}.bias'] = [H]
        t.update({p + 'attention.output.dense.weight': [H, H], p + 'attention.output.dense.bias': [H],
                  p + 'attention.output.LayerNorm.weight': [H], p + 'attention.output.LayerNorm.bias': [H],
                  p + 'intermediate.dense.weight': [I, H], p + 'intermediate.dense.bias': [I],
                  p + 'output.dense.weight': [H, I], p + 'output.dense.bias': [H],
                  p + 'output.LayerNorm.weight': [H], p + 'output.LayerNorm.bias': [H]})
    t['bert.pooler.dense.weight'] = [H, H]
    t['bert.pooler.dense.bias'] = [H]
    for task in c['tasks']:
        t[f"heads.{task['name']}.weight"] = [task['num_labels'], H]
        t[f"heads.{task['name']}.bias"] = [task['num_labels']]
    t.update({'cls.predictions.transform.dense.weight': [H, H], 'cls.predictions.transform.dense.bias': [H],
              'cls.predictions.transform.LayerNorm.weight': [H], 'cls.predictions.transform.LayerNorm.bias': [H],
              'cls.predictions.bias': [c['vocab_size']]})
    return t


def random_weights(rng):
    """std 0.5 everywhere (outputs not trivially small); LayerNorm weights 1 + N(0, 0.2), biases N(0, 0.2).
    Rounded to float32: the golden values are the float64 outputs of exactly the stored weights."""
    w = {}
    for name, shape in expected_tensors(CONFIG).items():
        if name.endswith('LayerNorm.weight'):
            a = 1.0 + 0.2 * rng.standard_normal(shape)
        elif name.endswith('LayerNorm.bias'):
            a = 0.2 * rng.standard_normal(shape)
        else:
            a = 0.5 * rng.standard_normal(shape)
        w[name] = a.astype(np.float32)
    return w


def make_patient(rng, slots_per_visit, start_age, sex):
    """One patient in the BEHRT layout: [CLS] d.. [SEP] d.. [SEP] ... PAD, L tokens.
    CLS: first visit's age, segment 0, position 0. SEP: its visit's age/segment/position. Segment
    alternates per visit, position = visit index. Procedures (2 rows) and labs (1 row) lie on the
    visit's diagnosis slots left to right, wrapping onto row 2 (procedures) when more than slots; PAD
    where fewer. Sex on every real token, 0 on PAD. Age/segment/position 0 on PAD."""
    g = {k: np.zeros(L, np.int64) for k in ('diagnosis', 'age', 'segment', 'position', 'static')}
    g['mask'] = np.zeros(L)
    proc = np.zeros((2, L), np.int64)
    lab = np.zeros((1, L), np.int64)
    age = start_age
    g['diagnosis'][0], g['age'][0] = CLS, age
    t = 1
    for v, k in enumerate(slots_per_visit):
        slots = list(range(t, t + k))
        for s in slots:
            g['diagnosis'][s] = UNK if rng.random() < 0.08 else rng.integers(5, CONFIG['vocab_size'])
        t += k
        g['diagnosis'][t] = SEP
        for s in slots + [t]:
            g['age'][s], g['segment'][s], g['position'][s] = age, v % 2, v
        t += 1
        # procedures: 0 .. 2k+1 of them, wrapping onto row 2 (beyond 2 rows dropped)
        n = rng.integers(0, 2 * k + 2)
        for j in range(min(n, 2 * k)):
            proc[j // k, slots[j % k]] = UNK if rng.random() < 0.08 else rng.integers(2, 9)
        for j in range(min(rng.integers(0, k + 2), k)):
            lab[0, slots[j]] = rng.integers(2, 11)
        age = min(age + int(rng.integers(0, 3)), CONFIG['age_vocab_size'] - 1)  # non-decreasing
    assert t <= L and len(slots_per_visit) <= CONFIG['max_position_embeddings']
    g['mask'][:t] = 1.0
    g['static'][:t] = sex
    g['proc'], g['lab'] = proc, lab
    return g


def token_batch(patients):
    """TokenBatch JSON: flat row-major arrays (modalities: index = (b*rows + r)*L + t)."""
    cat = lambda k: np.concatenate([p[k].reshape(-1) for p in patients]).tolist()
    return {'batch': len(patients), 'length': L, 'diagnosis': cat('diagnosis'), 'age': cat('age'),
            'segment': cat('segment'), 'position': cat('position'), 'attentionMask': cat('mask'),
            'modalities': {'procedure': cat('proc'), 'lab': cat('lab')}, 'static': cat('static')}


def rnd(x):
    """tensor / nested list / float -> nested lists of floats rounded to SIG significant digits"""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().tolist()
    if isinstance(x, np.ndarray):
        x = x.astype(np.float64).tolist()
    if isinstance(x, list):
        return [rnd(v) for v in x]
    return float(f'{x:.{SIG}g}')


def self_checks(model, x, patients_json):
    """Cheap independent checks of the reference itself."""
    F = torch.nn.functional
    a = torch.randn(3, 5, 16, dtype=torch.float64)
    w, b = torch.randn(16, dtype=torch.float64), torch.randn(16, dtype=torch.float64)
    assert torch.allclose(ref.layer_norm(a, w, b, 1e-12), F.layer_norm(a, (16,), w, b, 1e-12), atol=1e-12)
    assert torch.allclose(ref.gelu(a), F.gelu(a), atol=1e-14)
    # the encoder against torch's own multi-head attention + layers, for layer 0 (pre-pooler path)
    c, W = model.c, model.w
    parts = ref.embedding_parts(model, x)
    h = F.layer_norm(sum(parts.values()), (16,), W['bert.embeddings.LayerNorm.weight'], W['bert.embeddings.LayerNorm.bias'], 1e-12)
    p = 'bert.encoder.layer.0.'
    mha = torch.nn.MultiheadAttention(16, 4, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([W[p + f'attention.self.{q}.weight'] for q in ('query', 'key', 'value')]))
        mha.in_proj_bias.copy_(torch.cat([W[p + f'attention.self.{q}.bias'] for q in ('query', 'key', 'value')]))
        mha.out_proj.weight.copy_(W[p + 'attention.output.dense.weight'])
        mha.out_proj.bias.copy_(W[p + 'attention.output.dense.bias'])
        B = h.shape[0]
        add = ((1 - x['attention_mask']) * -10000.0)[:, None, None, :].expand(B, 4, L, L).reshape(B * 4, L, L)
        att, _ = mha(h, h, h, attn_mask=add, need_weights=False)
        a1 = F.layer_norm(att + h, (16,), W[p + 'attention.output.LayerNorm.weight'], W[p + 'attention.output.LayerNorm.bias'], 1e-12)
        o = F.linear(F.gelu(F.linear(a1, W[p + 'intermediate.dense.weight'], W[p + 'intermediate.dense.bias'])),
                     W[p + 'output.dense.weight'], W[p + 'output.dense.bias'])
        h1 = F.layer_norm(o + a1, (16,), W[p + 'output.LayerNorm.weight'], W[p + 'output.LayerNorm.bias'], 1e-12)
        one = ref.Model({**c, 'num_hidden_layers': 1}, {k: v.numpy() for k, v in W.items()})
        seq1, _, _ = ref.encode(one, parts, x['attention_mask'])
        assert torch.allclose(seq1, h1, atol=1e-10), (seq1 - h1).abs().max()
    # PAD (id 0) of extra modalities and static contributes nothing whatever row 0 holds
    alt = ref.Model(c, {k: v.numpy().copy() for k, v in W.items()})
    for n in ('bert.embeddings.procedure_embeddings.weight', 'bert.embeddings.lab_embeddings.weight', 'bert.embeddings.sex_embeddings.weight'):
        alt.w[n][0] += 3.0
    assert torch.allclose(ref.forward(alt, x)[2]['hf_12m'], ref.forward(model, x)[2]['hf_12m'], atol=0)
    # input gradient against a central finite difference
    x0 = ref.select(x, 0)
    g = ref.input_gradients(model, x0, 'hf_12m')['lab']
    parts0 = ref.embedding_parts(model, x0)
    eps = 1e-6
    for (t, j) in [(0, 3), (2, 7), (5, 0)]:
        fd = []
        for s in (eps, -eps):
            pp = {k: v.clone() for k, v in parts0.items()}
            pp['lab'][0, t, j] += s
            fd.append(ref.encode(model, pp, x0['attention_mask'])[2]['hf_12m'][0, 0].item())
        assert abs((fd[0] - fd[1]) / (2 * eps) - g[0, t, j].item()) < 1e-6
    # reading back the JSON batch gives the same ids
    assert torch.equal(ref.batch_from_json(patients_json, c)['modalities']['procedure'], x['modalities']['procedure'])


def main():
    rng = np.random.default_rng(20230322)
    weights = random_weights(rng)

    pats = [make_patient(rng, [3, 1, 2, 4, 1, 2, 3], 61, 2),  # fills all 24 tokens: no PAD
            make_patient(rng, [2, 3, 1, 2, 1], 47, 1),  # 15 tokens
            make_patient(rng, [1, 2, 2], 78, 3)]  # 9 tokens
    refs = [make_patient(rng, [2, 2, 3, 1, 2, 3], 55, 1),  # 20
            make_patient(rng, [4, 2, 2], 70, 2),  # 12
            make_patient(rng, [2, 3], 33, 1),  # 8
            make_patient(rng, [1, 1, 1, 1, 1, 1, 2, 1], 64, 2)]  # 18
    allp = pats + refs
    assert any((p['proc'][1] != 0).any() for p in pats), 'no procedure wraps onto row 2'
    assert all(((p['proc'][0] == 0) & (p['diagnosis'] > SEP)).any() for p in pats[:2]), 'no PAD procedure slot'
    assert (pats[0]['proc'][1] != 0).any()
    inputs = {'patients': token_batch(pats), 'references': token_batch(refs)}

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'config.json'), 'w') as f:
        json.dump(CONFIG, f, indent=2)
        f.write('\n')
    with open(os.path.join(OUT, 'vocab.json'), 'w') as f:
        json.dump(VOCAB, f, indent=2)
        f.write('\n')
    ref.write_safetensors(os.path.join(OUT, 'model.safetensors'), weights)
    with open(os.path.join(OUT, 'inputs.json'), 'w') as f:
        json.dump(inputs, f, separators=(',', ':'))
        f.write('\n')

    # everything below from the files just written, in float64
    model = ref.Model.load(OUT, torch.float64)
    for k, v in weights.items():
        assert np.array_equal(model.w[k].numpy().astype(np.float32), v)
    assert len(VOCAB['diagnosis']) == CONFIG['vocab_size']
    x = ref.batch_from_json(inputs['patients'], CONFIG)
    R = ref.batch_from_json(inputs['references'], CONFIG)
    self_checks(model, x, inputs['patients'])
    names = model.part_names()
    tasks = [t['name'] for t in CONFIG['tasks']]

    with torch.no_grad():
        seq, pooled, logits = ref.forward(model, x)
        mlm = ref.mlm_logits(model, seq[0:1])[0]
    x0 = ref.select(x, 0)
    grads = ref.input_gradients(model, x0, 'hf_12m')

    # EG: K = 8 samples, each reference used twice, uniform alphas (rounded so the file holds exactly what was used)
    ref_idx = [int(i) for i in rng.permutation([0, 1, 2, 3] * 2)]
    alphas = [round(float(a), 6) for a in rng.uniform(0, 1, 8)]
    eg = ref.expected_gradients(model, x0, R, ref_idx, alphas, 'hf_12m')
    eg_cv = ref.control_variate(eg)
    ig = ref.integrated_gradients(model, x0, ref.select(R, 0), 'hf_12m', steps=16)
    ig_alphas = [(i + 0.5) / 16 for i in range(16)]

    golden = {
        'format': 'exbehrt-parity-golden', 'version': 1,
        'generator': '/usr/bin/python3 tools/reference/make_fixtures.py (tools/reference/exbehrt_ref.py, float64)',
        'torch': torch.__version__,
        'parts': names,
        'tasks': tasks,
        'patients': [{'logits': {t: rnd(logits[t][b]) for t in tasks}, 'pooled': rnd(pooled[b])} for b in range(len(pats))],
        'mlm': {'patient': 0, 'logits': rnd(mlm)},
        'input_gradients': {'patient': 0, 'task': 'hf_12m', 'label': 0,
                            'grads': {n: rnd(grads[n][0]) for n in names}},
        'eg': {'patient': 0, 'task': 'hf_12m', 'label': 0, 'ref_idx': ref_idx, 'alphas': alphas,
               'phi': {n: rnd(eg['phi'][n]) for n in names},
               'f_x': rnd(eg['f_x']), 'f_refs': rnd(eg['f_refs']), 'f_ref_mean': rnd(eg['f_ref_mean']), 'gap': rnd(eg['gap']),
               # the engine's estimator: the same samples with the control variate (exbehrt_ref.control_variate)
               'control_variate': {'phi': {n: rnd(eg_cv['phi'][n]) for n in names}, 'stderr': {n: rnd(eg_cv['stderr'][n]) for n in names},
                                   'gap': rnd(eg_cv['gap'])}},
        'ig': {'patient': 0, 'task': 'hf_12m', 'label': 0, 'reference': 0, 'steps': 16, 'alphas': ig_alphas,
               'phi': {n: rnd(ig['phi'][n]) for n in names},
               'f_x': rnd(ig['f_x']), 'f_ref': rnd(ig['f_refs'][0]), 'gap': rnd(ig['gap'])},
    }
    with open(os.path.join(OUT, 'golden.json'), 'w') as f:
        json.dump(golden, f, separators=(',', ':'))
        f.write('\n')

    # summary
    total = 0
    for fn in sorted(os.listdir(OUT)):
        sz = os.path.getsize(os.path.join(OUT, fn))
        total += sz
        print(f'{fn:20s} {sz:8d} B')
    print(f'{"total":20s} {total:8d} B')
    print('logits', {t: [round(logits[t][b, 0].item(), 4) for b in range(3)] for t in tasks})
    print('|grad| max', max(g.abs().max().item() for g in grads.values()), 'mlm |max|', mlm.abs().max().item())
    print('EG f_x %.5f  mean f_ref %.5f  sum phi %.5f  gap %.5f' % (eg['f_x'], eg['f_ref_mean'], sum(p.sum().item() for p in eg['phi'].values()), eg['gap']))
    print('EG with the control variate: gap %.5f' % eg_cv['gap'])
    print('IG f_x %.5f  f_ref %.5f  gap %.5f' % (ig['f_x'], ig['f_refs'][0], ig['gap']))


if __name__ == '__main__':
    main()
