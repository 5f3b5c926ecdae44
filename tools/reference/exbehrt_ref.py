"""Independent PyTorch reference of the ExBEHRT forward pass and of expected / integrated gradients.

Written from the spec in shared/design/EXBEHRT.md (and the parity brief), not from the TypeScript
model, so that tests/unit/parity.test.ts compares two independent implementations.
Run with Debian's python3-torch: /usr/bin/python3 (torch 1.13, numpy). No safetensors package:
the tiny reader/writer below uses struct + json.

A token batch is a dict of torch int64 tensors:
  diagnosis, age, segment, position: [B, L]; attention_mask: float [B, L];
  modalities: {name: [B, rows, L]}; static: [B, L] or None.
"""
import json
import math
import os
import struct

import numpy as np
import torch

# ----------------------------------------------------------------------------- safetensors

_DTYPES = {'F64': np.float64, 'F32': np.float32, 'F16': np.float16}


def read_safetensors(path):
    """-> {name: np.ndarray} (BF16 widened to float32)."""
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    base = 8 + n
    out = {}
    for name, spec in header.items():
        if name == '__metadata__':
            continue
        b, e = spec['data_offsets']
        buf = raw[base + b:base + e]
        if spec['dtype'] == 'BF16':  # upper 16 bits of a float32
            arr = (np.frombuffer(buf, '<u2').astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(buf, np.dtype(_DTYPES[spec['dtype']]).newbyteorder('<'))
        out[name] = arr.reshape(spec['shape']).copy()
    return out


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: np.ndarray}; stored as F32 little-endian, names sorted, 8-byte aligned header."""
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype='<f4')
        header[name] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + a.nbytes]}
        chunks.append(a.tobytes())
        off += a.nbytes
    header['__metadata__'] = metadata or {'format': 'pt'}
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)  # pad with spaces so the data starts 8-byte aligned
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(chunks))


# ----------------------------------------------------------------------------- model


class Model:
    """config (dict from config.json) + weights {name: torch tensor of `dtype`}."""

    def __init__(self, config, weights, dtype=torch.float64):
        self.c = config
        self.w = {k: torch.as_tensor(np.asarray(v, dtype=np.float64)).to(dtype) for k, v in weights.items()}
        self.dtype = dtype

    @classmethod
    def load(cls, folder, dtype=torch.float64):
        with open(os.path.join(folder, 'config.json')) as f:
            config = json.load(f)
        return cls(config, read_safetensors(os.path.join(folder, 'model.safetensors')), dtype)

    def part_names(self):
        c = self.c
        return (['diagnosis'] + [m['name'] for m in c.get('modalities', [])] + ['age', 'segment', 'position']
                + (['static'] if c.get('static') else []))


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)  # biased variance, as BERT / torch LayerNorm
    return (x - mu) / torch.sqrt(var + eps) * w + b


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))  # exact erf GELU


def linear(x, w, name):
    return x @ w[name + '.weight'].t() + w[name + '.bias']


def embedding_parts(model, batch):
    """-> {part: [B, L, H]} in part_names order. Extra modalities and static: PAD id 0 contributes 0."""
    w, c, e = model.w, model.c, 'bert.embeddings.'
    parts = {
        'diagnosis': w[e + 'word_embeddings.weight'][batch['diagnosis']],
    }
    for m in c.get('modalities', []):
        ids = batch['modalities'][m['name']]  # [B, rows, L]
        table = w[e + m['name'] + '_embeddings.weight']
        parts[m['name']] = (table[ids] * (ids != 0).unsqueeze(-1).to(model.dtype)).sum(1)
    parts['age'] = w[e + 'age_embeddings.weight'][batch['age']]
    parts['segment'] = w[e + 'segment_embeddings.weight'][batch['segment']]
    parts['position'] = w[e + 'posi_embeddings.weight'][batch['position']]
    if c.get('static'):
        ids = batch['static']
        table = w[e + c['static']['name'] + '_embeddings.weight']
        parts['static'] = table[ids] * (ids != 0).unsqueeze(-1).to(model.dtype)
    return {k: parts[k] for k in model.part_names()}


def encode(model, parts, attention_mask):
    """Summed parts -> embedding LayerNorm -> N post-LN BERT layers -> pooler -> task heads.
    -> (sequence [B, L, H], pooled [B, H], {task: logits [B, num_labels]})."""
    w, c = model.w, model.c
    eps = c.get('layer_norm_eps', 1e-12)
    H, A = c['hidden_size'], c['num_attention_heads']
    d = H // A
    emb = sum(parts[k] for k in model.part_names())
    h = layer_norm(emb, w['bert.embeddings.LayerNorm.weight'], w['bert.embeddings.LayerNorm.bias'], eps)
    B, L, _ = h.shape
    mask = attention_mask.to(model.dtype)
    ext = (1.0 - mask)[:, None, None, :] * c.get('attention_mask_value', -10000.0)  # [B, 1, 1, L]
    for i in range(c['num_hidden_layers']):
        p = f'bert.encoder.layer.{i}.'
        heads = lambda x: x.view(B, L, A, d).permute(0, 2, 1, 3)  # [B, A, L, d]
        q = heads(linear(h, w, p + 'attention.self.query'))
        k = heads(linear(h, w, p + 'attention.self.key'))
        v = heads(linear(h, w, p + 'attention.self.value'))
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + ext, dim=-1)
        ctx = (probs @ v).permute(0, 2, 1, 3).reshape(B, L, H)
        a = layer_norm(linear(ctx, w, p + 'attention.output.dense') + h,
                       w[p + 'attention.output.LayerNorm.weight'], w[p + 'attention.output.LayerNorm.bias'], eps)
        inter = gelu(linear(a, w, p + 'intermediate.dense'))
        h = layer_norm(linear(inter, w, p + 'output.dense') + a,
                       w[p + 'output.LayerNorm.weight'], w[p + 'output.LayerNorm.bias'], eps)
    pooled = torch.tanh(linear(h[:, 0], w, 'bert.pooler.dense'))
    logits = {t['name']: linear(pooled, w, 'heads.' + t['name']) for t in c['tasks']}
    return h, pooled, logits


def forward(model, batch):
    return encode(model, embedding_parts(model, batch), batch['attention_mask'])


def mlm_logits(model, sequence):
    """MLM head: LayerNorm(gelu(Dense(h))) @ E_word^T + bias (decoder tied to word embeddings)."""
    w, eps = model.w, model.c.get('layer_norm_eps', 1e-12)
    t = gelu(linear(sequence, w, 'cls.predictions.transform.dense'))
    t = layer_norm(t, w['cls.predictions.transform.LayerNorm.weight'], w['cls.predictions.transform.LayerNorm.bias'], eps)
    return t @ w['bert.embeddings.word_embeddings.weight'].t() + w['cls.predictions.bias']


# ----------------------------------------------------------------------------- attribution


def select(batch, i):
    """patient i of a batch, as a batch of 1"""
    out = {k: v[i:i + 1] for k, v in batch.items() if k not in ('modalities', 'static')}
    out['modalities'] = {m: v[i:i + 1] for m, v in batch['modalities'].items()}
    out['static'] = None if batch.get('static') is None else batch['static'][i:i + 1]
    return out


def expected_gradients(model, x, refs, ref_idx, alphas, task, label=0):
    """Expected gradients of logit `label` of `task` for patient x (a batch of 1), in embedding space.
    Sample k interpolates every part at once between reference refs[ref_idx[k]] and x with alphas[k];
    the encoder always uses x's attention mask. Returns
      {'phi': {part: [L] per-token attribution (summed over H)}, 'f_x', 'f_refs': [K], 'f_ref_mean', 'gap'}
    with gap = sum(phi) - (f(x) - mean_k f(x'_k)). All K samples run as one batch."""
    names = model.part_names()
    K = len(alphas)
    with torch.no_grad():
        xp = embedding_parts(model, x)  # {part: [1, L, H]}
        rp_all = embedding_parts(model, refs)  # {part: [R, L, H]}
    idx = torch.as_tensor(ref_idx, dtype=torch.long)
    al = torch.as_tensor(alphas, dtype=model.dtype).view(K, 1, 1)
    rp = {n: rp_all[n][idx] for n in names}  # [K, L, H]
    mask = x['attention_mask'].expand(K, -1)
    pk = {n: (rp[n] + al * (xp[n] - rp[n])).detach().requires_grad_(True) for n in names}
    _, _, logits = encode(model, pk, mask)
    f = logits[task][:, label]
    grads = torch.autograd.grad(f.sum(), [pk[n] for n in names])  # samples are independent: sum is fine
    per_sample = {n: ((xp[n] - rp[n]) * g).sum(-1).detach() for n, g in zip(names, grads)}  # [K, L]
    phi = {n: per_sample[n].mean(0) for n in names}  # [L]
    with torch.no_grad():
        f_x = encode(model, xp, x['attention_mask'])[2][task][0, label]
        f_refs = encode(model, rp, mask)[2][task][:, label]
    total = sum(p.sum() for p in phi.values())
    gap = total - (f_x - f_refs.mean())
    return {'phi': {n: phi[n].detach() for n in names}, 'per_sample': per_sample, 'f_x': float(f_x), 'f_refs': f_refs.tolist(),
            'f_ref_mean': float(f_refs.mean()), 'gap': float(gap)}


def control_variate(eg):
    """The engine's EG estimator (src/attribution/path.ts, cvEstimate), from expected_gradients' per-sample
    attributions: C_k = sum(phi_k) - (f(x) - f(x'_k)) averages to zero over alpha for every reference, so each
    token's mean is corrected by its least-squares slope on C: phi_cv = mean(phi) - beta * mean(C),
    beta = cov(phi, C) / var(C). Returns {'phi': {part: [L]}, 'gap', 'stderr': {part: [L]}} (stderr of the
    regression residual, n - 2 degrees of freedom)."""
    per = {n: v.numpy() for n, v in eg['per_sample'].items()}
    f_refs = np.asarray(eg['f_refs'])
    c = sum(v.sum(1) for v in per.values()) - (eg['f_x'] - f_refs)  # [K]
    K = len(c)
    cc = c - c.mean()
    phi, se = {}, {}
    for n, v in per.items():
        vc = v - v.mean(0)
        beta = (vc * cc[:, None]).sum(0) / (cc ** 2).sum()
        phi[n] = v.mean(0) - beta * c.mean()
        resid = vc - beta * cc[:, None]
        se[n] = np.sqrt((resid ** 2).sum(0) / (K - 2) / K)
    total = sum(p.sum() for p in phi.values())
    return {'phi': phi, 'gap': float(total - (eg['f_x'] - f_refs.mean())), 'stderr': se}


def integrated_gradients(model, x, ref, task, steps=16, label=0):
    """Integrated gradients from one fixed reference (a batch of 1) with midpoint alphas (i+0.5)/steps:
    expected gradients with every sample on that reference."""
    alphas = [(i + 0.5) / steps for i in range(steps)]
    return expected_gradients(model, x, ref, [0] * steps, alphas, task, label)


def input_gradients(model, x, task, label=0):
    """d logit / d part for each embedding part of x: {part: [B, L, H]} (the sum over the batch)."""
    parts = {k: v.detach().requires_grad_(True) for k, v in embedding_parts(model, x).items()}
    f = encode(model, parts, x['attention_mask'])[2][task][:, label].sum()
    names = list(parts)
    return dict(zip(names, torch.autograd.grad(f, [parts[n] for n in names])))


# ----------------------------------------------------------------------------- token batch JSON


def batch_from_json(j, config):
    """TokenBatch JSON (flat row-major arrays, see tools/reference/README.md) -> torch batch."""
    B, L = j['batch'], j['length']
    t = lambda a, shape: torch.as_tensor(np.asarray(a, dtype=np.int64).reshape(shape))
    out = {k: t(j[k], (B, L)) for k in ('diagnosis', 'age', 'segment', 'position')}
    out['attention_mask'] = torch.as_tensor(np.asarray(j['attentionMask'], dtype=np.float64).reshape(B, L))
    out['modalities'] = {m['name']: t(j['modalities'][m['name']], (B, m['rows'], L)) for m in config.get('modalities', [])}
    out['static'] = t(j['static'], (B, L)) if config.get('static') else None
    return out
