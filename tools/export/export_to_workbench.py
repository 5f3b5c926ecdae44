#!/usr/bin/python3
"""Export a BEHRT or ExBEHRT PyTorch checkpoint to an ExBEHRT Workbench model folder.

    /usr/bin/python3 tools/export/export_to_workbench.py --checkpoint model.pt --vocab vocab.pkl \
        --config config.json --out my-model/ [--model-type behrt|exbehrt] [--task-name hf_12m]

Needs PyTorch and the Python standard library only (no safetensors, no numpy). Reads
  --checkpoint  a torch.save'd state_dict, or a dict holding one under state_dict / model_state_dict /
                model (a training checkpoint); DataParallel `module.` and similar prefixes are stripped
  --vocab       BEHRT's vocab pickle ({'token2idx': ..., 'idx2token': ...}, optional 'age2idx', and for
                ExBEHRT 'modalities', 'sex', 'bins'), or a workbench vocab.json; pickle or JSON
  --config      the model config dict (pickle or JSON; BEHRT's model_config keys are accepted)
  --modality-vocab, --bins   optional separate files for ExBEHRT's per-modality token lists and the
                lab/vital bin edges
and writes --out/{config.json, vocab.json, model.safetensors, model-card.json}. Tensor names and the
token layout are those of shared/design/EXBEHRT.md; see tools/export/README.md for the rules.

Every problem is reported at once (tensor or key, expected and actual) and nothing is written; exit
status 1. Warnings (tensors not exported, assumptions made) go to stderr and do not stop the export.
"""
import argparse
import collections
import hashlib
import io
import json
import math
import os
import pickle
import re
import struct
import sys

try:
    import torch
except ImportError:  # pragma: no cover - reported, not raised
    sys.stderr.write('export_to_workbench: PyTorch is not installed for this python '
                     '(Debian: apt-get install python3-torch, then run with /usr/bin/python3)\n')
    sys.exit(2)

TOOL = 'tools/export/export_to_workbench.py'
DIAGNOSIS_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
MODALITY_SPECIALS = ['[PAD]', '[UNK]']
SEX_TOKENS = ['[PAD]', 'F', 'M', 'U']
TIMELINE_MODALITIES = ['procedure', 'medication', 'lab', 'vital', 'smoking', 'characteristic']
CORE_TABLES = {'word', 'segment', 'age', 'posi', 'token_type', 'position'}
SEX_ALIASES = {'female': 'F', 'f': 'F', 'male': 'M', 'm': 'M', 'unknown': 'U', 'u': 'U', 'other': 'U'}


class ExportError(Exception):
    pass


class Report:
    def __init__(self):
        self.errors = []
        self.warnings = []

    def error(self, msg):
        self.errors.append(msg)

    def warn(self, msg):
        self.warnings.append(msg)


def shape_str(s):
    return '[' + ', '.join(str(int(d)) for d in s) + ']'


def special_name(tok):
    """'PAD' / '[PAD]' / 'pad' -> '[PAD]' for the five BERT specials, else None."""
    if not isinstance(tok, str):
        return None
    t = tok.strip()
    if t.startswith('[') and t.endswith(']'):
        t = t[1:-1]
    t = t.upper()
    return '[' + t + ']' if t in ('PAD', 'UNK', 'CLS', 'SEP', 'MASK') else None


# ----------------------------------------------------------------------------- reading files


class _SafeUnpickler(pickle.Unpickler):
    """Plain data only: dicts, lists, strings, numbers, OrderedDict and numpy scalars (a vocab built
    with pandas often holds numpy ints). Anything else needs --trust-pickle."""
    ALLOWED = {('collections', 'OrderedDict'), ('builtins', 'set'), ('builtins', 'frozenset'),
               ('numpy', 'dtype'), ('numpy.core.multiarray', 'scalar'), ('numpy._core.multiarray', 'scalar'),
               ('numpy.core.multiarray', '_reconstruct'), ('numpy._core.multiarray', '_reconstruct'),
               ('numpy', 'ndarray')}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f'holds a {module}.{name} object')


def _plain(obj):
    """numpy scalars / arrays and sets -> plain Python values, recursively"""
    if isinstance(obj, dict):
        return type(obj)((_plain(k), _plain(v)) for k, v in obj.items()) if isinstance(obj, collections.OrderedDict) \
            else {_plain(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(_plain(v) for v in obj)
    if hasattr(obj, 'tolist') and not isinstance(obj, (str, bytes)):
        return _plain(obj.tolist())
    if hasattr(obj, 'item') and not isinstance(obj, (str, bytes, int, float)):
        return obj.item()
    return obj


def read_data_file(path, what, trust):
    """A JSON or pickle file holding a dict (or list). -> python object; raises ExportError."""
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError as e:
        raise ExportError(f'{what} {path}: cannot read ({e.strerror or e})')
    name = os.path.basename(path)
    head = raw.lstrip()[:1]
    if head in (b'{', b'['):
        try:
            return json.loads(raw.decode('utf-8'))
        except (ValueError, UnicodeDecodeError) as e:
            raise ExportError(f'{name}: not valid JSON ({e})')
    if raw[:2] == b'PK' or name.endswith(('.pt', '.pth', '.bin')):  # a torch.save'd dict
        try:
            return _plain(_torch_load(raw, trust))
        except Exception as e:  # noqa: BLE001
            raise ExportError(f'{name}: cannot be read by torch.load ({_why(e)})')
    try:
        if trust:
            return _plain(pickle.loads(raw))
        return _plain(_SafeUnpickler(io.BytesIO(raw)).load())
    except pickle.UnpicklingError as e:
        raise ExportError(f'{name}: {e}; only plain data (dicts, lists, strings, numbers) is read unless you '
                          'pass --trust-pickle (which runs the code a pickle may hold: only for your own files)')
    except Exception as e:  # noqa: BLE001
        raise ExportError(f'{name}: neither JSON nor a readable pickle ({_why(e)})')


def _why(e):
    msg = str(e).strip().splitlines()
    return (msg[0] if msg else type(e).__name__)[:300]


class _TorchUnpickler(_SafeUnpickler):
    """torch.load without running code from the file: plain data plus torch's tensor rebuilders,
    storage types and dtypes. (torch 1.13's own weights_only mode refuses even a float, such as a
    loss value kept next to the state_dict.)"""
    TORCH_FUNCS = {'_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_parameter', '_rebuild_parameter_with_state',
                   '_rebuild_device_tensor_from_numpy', '_rebuild_meta_tensor_no_storage', '_rebuild_wrapper_subclass'}

    def find_class(self, module, name):
        if module == 'torch._utils' and name in self.TORCH_FUNCS:
            return super(_SafeUnpickler, self).find_class(module, name)
        if module == 'torch' and (name.endswith('Storage') or name in ('Size', 'device')
                                  or isinstance(getattr(torch, name, None), torch.dtype)):
            return super(_SafeUnpickler, self).find_class(module, name)
        if module == 'torch.nn.parameter' and name == 'Parameter':
            return super(_SafeUnpickler, self).find_class(module, name)
        return super().find_class(module, name)


class _TorchPickleModule:
    """what torch.load needs of a pickle_module"""
    Unpickler = _TorchUnpickler
    __name__ = 'restricted_pickle'

    @staticmethod
    def load(f, **kw):
        return _TorchUnpickler(f, **kw).load()


def _torch_load(raw, trust):
    import inspect
    kw = {'map_location': 'cpu'}
    if 'weights_only' in inspect.signature(torch.load).parameters:
        kw['weights_only'] = False  # our own restricted unpickler below does that job
    if not trust:
        kw['pickle_module'] = _TorchPickleModule
    return torch.load(io.BytesIO(raw), **kw)


def load_checkpoint(path, trust, rep):
    """-> (OrderedDict name -> float tensor, description of where the state_dict was found)"""
    name = os.path.basename(path)
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError as e:
        raise ExportError(f'checkpoint {path}: cannot read ({e.strerror or e})')
    try:
        obj = _torch_load(raw, trust)
    except pickle.UnpicklingError as e:
        raise ExportError(f'{name}: holds Python objects other than tensors and plain data ({_why(e)}); save '
                          'model.state_dict() instead, or pass --trust-pickle if you trust the file')
    except Exception as e:  # noqa: BLE001
        raise ExportError(f'{name}: cannot be read by torch.load ({_why(e)})')
    where = 'the file'
    if hasattr(obj, 'state_dict') and callable(obj.state_dict):  # a whole pickled nn.Module
        obj, where = obj.state_dict(), 'the pickled module'
    if isinstance(obj, dict) and not any(torch.is_tensor(v) for v in obj.values()):
        for key in ('state_dict', 'model_state_dict', 'model', 'module', 'net'):
            inner = obj.get(key)
            if hasattr(inner, 'state_dict') and callable(inner.state_dict):
                inner = inner.state_dict()
            if isinstance(inner, dict) and any(torch.is_tensor(v) for v in inner.values()):
                obj, where = inner, f"key '{key}'"
                break
    if not isinstance(obj, dict) or not any(torch.is_tensor(v) for v in obj.values()):
        keys = ', '.join(map(str, list(obj)[:8])) if isinstance(obj, dict) else type(obj).__name__
        raise ExportError(f'{name}: no state_dict found (a dict of tensors, or one under state_dict, '
                          f'model_state_dict or model); found {keys}')
    sd = collections.OrderedDict()
    for k, v in obj.items():
        if not torch.is_tensor(v):
            rep.warn(f'{name}: entry {k}: not a tensor ({type(v).__name__}), not exported')
            continue
        sd[str(k)] = v.detach().cpu()
    return sd, where


# ----------------------------------------------------------------------------- tensor names


def strip_prefix(sd):
    """Drop a wrapper prefix (DataParallel `module.`, Lightning `model.`, ...): whatever precedes
    `bert.embeddings.word_embeddings.weight`. -> OrderedDict canonical-ish name -> (tensor, name in file)"""
    prefix = ''
    anchors = [k for k in sd if k.endswith('bert.embeddings.word_embeddings.weight')]
    if anchors:
        prefix = min(anchors, key=len)[:-len('bert.embeddings.word_embeddings.weight')]
    else:
        while prefix + 'module.' in {k[:len(prefix) + 7] for k in sd}:
            if all(k.startswith(prefix + 'module.') for k in sd):
                prefix += 'module.'
            else:
                break
    out = collections.OrderedDict()
    for k, v in sd.items():
        n = k[len(prefix):] if prefix and k.startswith(prefix) else k
        out[n] = (v, k)
    return out


def canonical(name):
    n = name
    n = n.replace('bert.embeddings.token_type_embeddings.', 'bert.embeddings.segment_embeddings.')
    n = n.replace('bert.embeddings.position_embeddings.', 'bert.embeddings.posi_embeddings.')
    n = re.sub(r'LayerNorm\.gamma$', 'LayerNorm.weight', n)
    n = re.sub(r'LayerNorm\.beta$', 'LayerNorm.bias', n)
    return n


def label(canon, in_file):
    return canon if canon == in_file else f'{in_file} (read as {canon})'


# ----------------------------------------------------------------------------- config

# workbench key -> names accepted in the given config (BEHRT's model_config, HuggingFace BertConfig)
CONFIG_ALIASES = {
    'model_type': ['model_type'],
    'hidden_size': ['hidden_size'],
    'num_hidden_layers': ['num_hidden_layers'],
    'num_attention_heads': ['num_attention_heads'],
    'intermediate_size': ['intermediate_size'],
    'vocab_size': ['vocab_size'],
    'age_vocab_size': ['age_vocab_size'],
    'type_vocab_size': ['type_vocab_size', 'seg_vocab_size'],
    'max_position_embeddings': ['max_position_embeddings', 'max_position_embedding'],
    'max_len': ['max_len', 'max_len_seq', 'max_seq_len', 'max_seq_length'],
    'layer_norm_eps': ['layer_norm_eps'],
    'hidden_act': ['hidden_act'],
    'attention_mask_value': ['attention_mask_value'],
    'hidden_dropout_prob': ['hidden_dropout_prob'],
    'attention_probs_dropout_prob': ['attention_probs_dropout_prob'],
    'age_unit': ['age_unit'],
}


def flatten_config(raw):
    """BEHRT notebooks keep model_config and global_params apart: merge them (model_config wins)."""
    if not isinstance(raw, dict):
        raise ExportError(f'config: expected a dict, found {type(raw).__name__}')
    cfg = {}
    for sub in ('global_params', 'train_params', 'params'):
        if isinstance(raw.get(sub), dict):
            cfg.update(raw[sub])
    for sub in ('config', 'model_config', 'bert_config'):
        if isinstance(raw.get(sub), dict):
            cfg.update(raw[sub])
    cfg.update({k: v for k, v in raw.items() if not isinstance(v, dict) or k in ('modalities', 'static', 'modality_rows', 'tasks')})
    return cfg


def config_value(cfg, key, rep, cfg_name):
    found = [(a, cfg[a]) for a in CONFIG_ALIASES[key] if a in cfg and cfg[a] is not None]
    if len({json.dumps(v, sort_keys=True) for _, v in found}) > 1:
        rep.error(f'{cfg_name}: {" and ".join(f"{a}={v}" for a, v in found)} disagree')
    return found[0][1] if found else None


def positive_int(v, key, rep, cfg_name):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or int(v) <= 0:
        rep.error(f'{cfg_name}: {key}: expected a positive integer, found {json.dumps(v)}')
        return None
    return int(v)


# ----------------------------------------------------------------------------- vocabularies


def index_list(obj, what, rep):
    """A token list, {token: idx} or {idx: token} -> list of tokens by index (None where a hole)."""
    if isinstance(obj, (list, tuple)):
        return [str(t) for t in obj]
    if not isinstance(obj, dict) or not obj:
        rep.error(f'{what}: expected a token list or a {{token: index}} dict, found {type(obj).__name__}')
        return None
    keys, vals = list(obj.keys()), list(obj.values())
    if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        pairs = [(int(v), str(k)) for k, v in obj.items()]
    elif all(isinstance(k, int) or (isinstance(k, str) and k.isdigit()) for k in keys):
        pairs = [(int(k), str(v)) for k, v in obj.items()]
    else:
        rep.error(f'{what}: expected a token list or a {{token: index}} dict, found values that are not indices')
        return None
    n = max(i for i, _ in pairs) + 1
    out = [None] * n
    dup = []
    for i, t in pairs:
        if i < 0:
            rep.error(f'{what}: negative index {i} for {t!r}')
            return None
        if out[i] is not None:
            dup.append(i)
        out[i] = t
    if dup:
        rep.error(f'{what}: index {dup[0]} given to two tokens')
        return None
    holes = [i for i, t in enumerate(out) if t is None]
    if holes:
        rep.error(f'{what}: indices not contiguous from 0: no token for index {", ".join(map(str, holes[:5]))}'
                  f'{" ..." if len(holes) > 5 else ""}')
        return None
    return out


def reorder(tokens, specials, what, rep, normalize=special_name):
    """Workbench order: `specials` first (found by name), then the other tokens in their order.
    -> (new token list, perm: new index -> old index) or (None, None)."""
    where = {}
    for i, t in enumerate(tokens):
        s = normalize(t)
        if s in specials:
            if s in where:
                rep.error(f'{what}: {s} appears twice (indices {where[s]} and {i})')
                return None, None
            where[s] = i
    missing = [s for s in specials if s not in where]
    if missing:
        rep.error(f'{what}: no {", ".join(missing)} token (needed by the workbench; BEHRT names PAD, UNK, '
                  f'CLS, SEP, MASK are accepted)')
        return None, None
    perm = [where[s] for s in specials] + [i for i in range(len(tokens)) if i not in where.values()]
    new = list(specials) + [tokens[i] for i in perm[len(specials):]]
    if len(set(new)) != len(new):
        seen, d = set(), None
        for t in new:
            if t in seen:
                d = t
                break
            seen.add(t)
        rep.error(f'{what}: token {d!r} listed twice')
        return None, None
    return new, perm


def sex_name(t):
    s = special_name(t)
    if s == '[PAD]':
        return s
    if isinstance(t, str) and t.strip() in ('F', 'M', 'U'):
        return t.strip()
    return SEX_ALIASES.get(str(t).strip().lower())


def read_bins(obj, what, rep):
    """{'<modality>:<code>': [edges]} or {modality: {code: [edges]}} -> the flat form."""
    out = {}
    if not isinstance(obj, dict):
        rep.error(f'{what}: expected a dict of bin edges, found {type(obj).__name__}')
        return out
    for k, v in obj.items():
        if isinstance(v, dict):
            for code, edges in v.items():
                out[f'{k}:{code}'] = edges
        else:
            out[str(k)] = v
    for k, edges in out.items():
        if ':' not in k:
            rep.error(f'{what}: key {k!r}: expected <modality>:<code>, e.g. lab:33762-6')
        if not isinstance(edges, list) or not all(isinstance(e, (int, float)) and not isinstance(e, bool)
                                                  and math.isfinite(e) for e in edges):
            rep.error(f'{what}: {k}: expected a list of finite numbers')
            continue
        if any(edges[i] < edges[i - 1] for i in range(1, len(edges))):
            rep.error(f'{what}: {k}: edges not ascending')
    return out


# ----------------------------------------------------------------------------- safetensors


def write_safetensors(path, tensors, metadata):
    """{name: float32 tensor} -> safetensors (F32 little-endian, names sorted, header padded to 8 bytes)."""
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous().cpu()
        data = struct.pack('<%df' % t.numel(), *t.reshape(-1).tolist())
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [off, off + len(data)]}
        chunks.append(data)
        off += len(data)
    header['__metadata__'] = metadata
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(chunks))


# ----------------------------------------------------------------------------- the export


def export(args):
    rep = Report()
    ckpt_name = os.path.basename(args.checkpoint)
    cfg_name = os.path.basename(args.config) if args.config else 'config (no --config given)'
    voc_name = os.path.basename(args.vocab)

    raw_sd, where = load_checkpoint(args.checkpoint, args.trust_pickle, rep)
    raw_cfg = read_data_file(args.config, 'config', args.trust_pickle) if args.config else {}
    raw_voc = read_data_file(args.vocab, 'vocab', args.trust_pickle)
    if not isinstance(raw_voc, dict):
        raise ExportError(f'{voc_name}: expected a dict (token2idx/idx2token, or a workbench vocab.json), '
                          f'found {type(raw_voc).__name__}')
    raw_mod = read_data_file(args.modality_vocab, 'modality vocab', args.trust_pickle) if args.modality_vocab else None
    raw_bins = read_data_file(args.bins, 'bins', args.trust_pickle) if args.bins else None
    cfg = flatten_config(raw_cfg)

    # --- tensors: strip prefixes, canonical names, sort into roles
    named = strip_prefix(raw_sd)
    t = collections.OrderedDict()  # canonical -> (tensor, name in file)
    for n, (v, in_file) in named.items():
        c = canonical(n)
        if c in t:
            rep.error(f'{ckpt_name}: tensor {label(c, in_file)}: stored twice, also as {t[c][1]}')
            continue
        t[c] = (v, in_file)

    def shape(c):
        return list(t[c][0].shape) if c in t else None

    e = 'bert.embeddings.'
    extra_tables = []  # names of extra embedding tables (modalities and static)
    for c in t:
        m = re.fullmatch(r'bert\.embeddings\.(\w+)_embeddings\.weight', c)
        if m and m.group(1) not in CORE_TABLES:
            extra_tables.append(m.group(1))
    static_name = 'sex' if 'sex' in extra_tables else None
    mod_tables = [m for m in extra_tables if m != 'sex']

    # --- sizes: config, else inferred from the tensors
    def size(key, infer_from=None, axis=0, why=None):
        v = positive_int(config_value(cfg, key, rep, cfg_name), key, rep, cfg_name)
        if v is not None:
            return v, 'config'
        if infer_from and shape(infer_from) and len(shape(infer_from)) > axis:
            return int(shape(infer_from)[axis]), 'tensors'
        rep.error(f'{cfg_name}: {key}: missing, and {why or "the tensors cannot tell it"} (add {key} to the config)')
        return None, None

    H, _ = size('hidden_size', e + 'word_embeddings.weight', 1, f'there is no {e}word_embeddings.weight to read it from')
    layer_ids = sorted({int(m.group(1)) for c in t for m in [re.match(r'bert\.encoder\.layer\.(\d+)\.', c)] if m})
    n_cfg = positive_int(config_value(cfg, 'num_hidden_layers', rep, cfg_name), 'num_hidden_layers', rep, cfg_name)
    if n_cfg is not None:
        N = n_cfg
    elif layer_ids:
        N = max(layer_ids) + 1
    else:
        N = None
        rep.error(f'{cfg_name}: num_hidden_layers: missing, and the checkpoint has no bert.encoder.layer.* tensors (add num_hidden_layers to the config)')
    A = positive_int(config_value(cfg, 'num_attention_heads', rep, cfg_name), 'num_attention_heads', rep, cfg_name)
    if A is None:
        rep.error(f'{cfg_name}: num_attention_heads: missing, and the tensors cannot tell it (add num_attention_heads to the config)')
    I, _ = size('intermediate_size', 'bert.encoder.layer.0.intermediate.dense.weight', 0)
    V, _ = size('vocab_size', e + 'word_embeddings.weight', 0, f'there is no {e}word_embeddings.weight to read it from')
    AV, _ = size('age_vocab_size', e + 'age_embeddings.weight', 0, f'there is no {e}age_embeddings.weight to read it from')
    T, _ = size('type_vocab_size', e + 'segment_embeddings.weight', 0, f'there is no {e}segment_embeddings.weight to read it from')
    P, _ = size('max_position_embeddings', e + 'posi_embeddings.weight', 0, f'there is no {e}posi_embeddings.weight to read it from')
    max_len = positive_int(config_value(cfg, 'max_len', rep, cfg_name), 'max_len', rep, cfg_name)
    if max_len is None and P:
        max_len = P  # BEHRT: max_position_embedding = max_len_seq
        rep.warn(f'{cfg_name}: max_len not given: using max_position_embeddings={P} (BEHRT sets both to max_len_seq)')
    if max_len is not None and max_len < 4:
        rep.error(f'{cfg_name}: max_len: {max_len}, the workbench needs at least 4')
    if H and A and H % A:
        rep.error(f'{cfg_name}: hidden_size {H} is not divisible by num_attention_heads {A}')
    act = config_value(cfg, 'hidden_act', rep, cfg_name)
    if act is not None and act not in ('gelu',):
        rep.error(f'{cfg_name}: hidden_act: {act!r}, the workbench implements exact (erf) gelu only')
    eps = config_value(cfg, 'layer_norm_eps', rep, cfg_name)
    eps = 1e-12 if eps is None else float(eps)

    # --- model type
    model_type = args.model_type or config_value(cfg, 'model_type', rep, cfg_name)
    if model_type not in (None, 'behrt', 'exbehrt'):
        rep.error(f'model_type: {model_type!r}, expected behrt or exbehrt')
    if model_type is None:
        model_type = 'exbehrt' if extra_tables else 'behrt'
    if model_type == 'behrt' and extra_tables:
        rep.error(f'{ckpt_name}: model_type behrt, but the checkpoint has extra embedding tables: '
                  + ', '.join(f'{e}{m}_embeddings.weight' for m in extra_tables))

    # --- modalities: rows from the config; tables from the tensors
    cfg_mods = collections.OrderedDict()  # name -> rows (or None)
    raw_m = cfg.get('modalities')
    if isinstance(raw_m, list):
        for m in raw_m:
            if isinstance(m, str):
                cfg_mods[m] = None
            elif isinstance(m, dict) and 'name' in m:
                cfg_mods[str(m['name'])] = m.get('rows')
            else:
                rep.error(f'{cfg_name}: modalities: expected names or {{name, rows}} entries, found {json.dumps(m)}')
    elif isinstance(raw_m, dict):
        for k, v in raw_m.items():
            cfg_mods[str(k)] = v.get('rows') if isinstance(v, dict) else v
    elif raw_m is not None:
        rep.error(f'{cfg_name}: modalities: expected a list or a dict, found {type(raw_m).__name__}')
    if isinstance(cfg.get('modality_rows'), dict):
        for k, v in cfg['modality_rows'].items():
            cfg_mods[str(k)] = v
    mod_names = list(cfg_mods) + [m for m in mod_tables if m not in cfg_mods]
    modalities = []
    for m in mod_names:
        if m not in mod_tables:
            rep.error(f'{ckpt_name}: tensor {e}{m}_embeddings.weight: missing ({cfg_name} lists modality {m})')
            continue
        rows = cfg_mods.get(m)
        if rows is None:
            rep.error(f'{cfg_name}: modalities.{m}.rows: missing (how many rows of {m} tokens lie on the diagnosis '
                      f'slots cannot be read from the tensors; e.g. "modalities": [{{"name": "{m}", "rows": 2}}])')
            rows = 1
        rows = positive_int(rows, f'modalities.{m}.rows', rep, cfg_name) or 1
        if m not in TIMELINE_MODALITIES:
            rep.warn(f'modality {m}: not a timeline modality ({", ".join(TIMELINE_MODALITIES)}): no event will be laid on it')
        modalities.append({'name': m, 'vocab_size': shape(f'{e}{m}_embeddings.weight')[0], 'rows': rows})

    # --- tasks: heads.<task>.* or a single classifier.*
    heads = sorted({m.group(1) for c in t for m in [re.fullmatch(r'heads\.(.+)\.(weight|bias)', c)] if m})
    has_cls = 'classifier.weight' in t or 'classifier.bias' in t
    cfg_tasks = cfg.get('tasks')
    task_list = []  # [{name, description?, num_labels}]
    if isinstance(cfg_tasks, list):
        for x in cfg_tasks:
            if isinstance(x, str):
                task_list.append({'name': x})
            elif isinstance(x, dict) and isinstance(x.get('name'), str):
                task_list.append({k: x[k] for k in ('name', 'description', 'num_labels') if k in x})
            else:
                rep.error(f'{cfg_name}: tasks: expected names or {{name, description}} entries, found {json.dumps(x)}')
    elif isinstance(cfg_tasks, dict):
        for k, v in cfg_tasks.items():
            task_list.append({'name': str(k), **({'description': v} if isinstance(v, str) else {})})
    elif cfg_tasks is not None:
        rep.error(f'{cfg_name}: tasks: expected a list of names, found {type(cfg_tasks).__name__}')
    head_map = {}  # task -> (weight canonical, bias canonical, label row or None)
    if has_cls and heads:
        rep.error(f'{ckpt_name}: both classifier.* and heads.* tensors: export one kind of head')
    elif has_cls:
        k = shape('classifier.weight')[0] if shape('classifier.weight') else (shape('classifier.bias') or [1])[0]
        if args.task_name:
            if task_list and [x['name'] for x in task_list] != [args.task_name]:
                rep.error(f'--task-name {args.task_name} and {cfg_name} tasks {[x["name"] for x in task_list]} disagree')
            task_list = [dict(task_list[0], name=args.task_name) if task_list else {'name': args.task_name}]
        if not task_list:
            rep.error(f'{ckpt_name}: tensor classifier.weight: a single head with no task name: pass --task-name '
                      f'(e.g. --task-name hf_12m) or list the task in {cfg_name} tasks')
        elif len(task_list) == 1 and k > 1 and task_list[0].get('num_labels', 1) == 1:
            # BEHRT's multi-label head: one binary task per label, named <task>_<k>
            base = task_list[0]
            task_list = [{'name': f'{base["name"]}_{j}', **({'description': f'{base["description"]} (label {j})'} if 'description' in base else {})} for j in range(k)]
            rep.warn(f'classifier.weight has {k} rows (a multi-label head): exported as {k} tasks {base["name"]}_0 .. {base["name"]}_{k - 1}')
            for j, x in enumerate(task_list):
                head_map[x['name']] = ('classifier.weight', 'classifier.bias', j)
        elif len(task_list) == k and k > 1:
            rep.warn(f'classifier.weight has {k} rows: exported as one task per row, in {cfg_name} tasks order ({", ".join(x["name"] for x in task_list)})')
            for j, x in enumerate(task_list):
                head_map[x['name']] = ('classifier.weight', 'classifier.bias', j)
        elif len(task_list) == 1:
            head_map[task_list[0]['name']] = ('classifier.weight', 'classifier.bias', None)
        else:
            rep.error(f'{ckpt_name}: tensor classifier.weight: {k} rows, {cfg_name} lists {len(task_list)} tasks '
                      f'({", ".join(x["name"] for x in task_list)})')
    elif heads:
        if task_list:
            extra = [x['name'] for x in task_list if x['name'] not in heads]
            for n in extra:
                rep.error(f'{ckpt_name}: tensor heads.{n}.weight: missing ({cfg_name} lists task {n})')
            for h in heads:
                if h not in [x['name'] for x in task_list]:
                    task_list.append({'name': h})
        else:
            task_list = [{'name': h} for h in heads]
        for x in task_list:
            head_map[x['name']] = (f'heads.{x["name"]}.weight', f'heads.{x["name"]}.bias', None)
    else:
        rep.error(f'{ckpt_name}: no task head: expected classifier.{{weight,bias}} or heads.<task>.{{weight,bias}}')
    for x in task_list:
        if x['name'] in head_map and head_map[x['name']][2] is not None:
            x['num_labels'] = 1
        elif 'num_labels' not in x:
            w = shape(head_map.get(x['name'], ('', '', None))[0])
            x['num_labels'] = int(w[0]) if w else 1

    # --- expected tensors and their shapes (as expectedTensors in src/model/config.ts, names before
    #     the head rename), compared with the checkpoint
    exp = collections.OrderedDict()

    def src(*parts):
        return ', '.join(p for p in parts if p)

    if H:
        hs = f'hidden_size={H}'
        exp[e + 'word_embeddings.weight'] = ([V, H], src(f'vocab_size={V}' if V else '', hs))
        exp[e + 'segment_embeddings.weight'] = ([T, H], src(f'type_vocab_size={T}' if T else '', hs))
        exp[e + 'age_embeddings.weight'] = ([AV, H], src(f'age_vocab_size={AV}' if AV else '', hs))
        exp[e + 'posi_embeddings.weight'] = ([P, H], src(f'max_position_embeddings={P}' if P else '', hs))
        for m in modalities:
            exp[f'{e}{m["name"]}_embeddings.weight'] = ([m['vocab_size'], H], hs)
        if static_name:
            exp[f'{e}sex_embeddings.weight'] = ([shape(f'{e}sex_embeddings.weight')[0], H], hs)
        exp[e + 'LayerNorm.weight'] = ([H], hs)
        exp[e + 'LayerNorm.bias'] = ([H], hs)
        for i in range(N or 0):
            p = f'bert.encoder.layer.{i}.'
            for q in ('query', 'key', 'value'):
                exp[f'{p}attention.self.{q}.weight'] = ([H, H], hs)
                exp[f'{p}attention.self.{q}.bias'] = ([H], hs)
            exp[p + 'attention.output.dense.weight'] = ([H, H], hs)
            exp[p + 'attention.output.dense.bias'] = ([H], hs)
            exp[p + 'attention.output.LayerNorm.weight'] = ([H], hs)
            exp[p + 'attention.output.LayerNorm.bias'] = ([H], hs)
            if I:
                is_ = f'intermediate_size={I}, {hs}'
                exp[p + 'intermediate.dense.weight'] = ([I, H], is_)
                exp[p + 'intermediate.dense.bias'] = ([I], is_)
                exp[p + 'output.dense.weight'] = ([H, I], is_)
            exp[p + 'output.dense.bias'] = ([H], hs)
            exp[p + 'output.LayerNorm.weight'] = ([H], hs)
            exp[p + 'output.LayerNorm.bias'] = ([H], hs)
        exp['bert.pooler.dense.weight'] = ([H, H], hs)
        exp['bert.pooler.dense.bias'] = ([H], hs)
        if has_cls and not heads:
            k = len([x for x in head_map.values() if x[2] is not None]) or (task_list[0]['num_labels'] if task_list else 1)
            ks = f'{k} task label{"s" if k > 1 else ""}, {hs}'
            exp['classifier.weight'] = ([k, H], ks)
            exp['classifier.bias'] = ([k], ks)
        else:
            for x in task_list:
                exp[f'heads.{x["name"]}.weight'] = ([x['num_labels'], H], f'num_labels={x["num_labels"]}, {hs}')
                exp[f'heads.{x["name"]}.bias'] = ([x['num_labels']], f'num_labels={x["num_labels"]}')
        mlm = {'cls.predictions.transform.dense.weight': ([H, H], hs), 'cls.predictions.transform.dense.bias': ([H], hs),
               'cls.predictions.transform.LayerNorm.weight': ([H], hs), 'cls.predictions.transform.LayerNorm.bias': ([H], hs),
               'cls.predictions.bias': ([V, ], f'vocab_size={V}')}
        for c, (want, why) in exp.items():
            if c not in t:
                if None not in want:
                    rep.error(f'{ckpt_name}: tensor {c}: missing, expected shape {shape_str(want)}')
            elif None not in want and list(t[c][0].shape) != want:
                rep.error(f'{ckpt_name}: tensor {label(c, t[c][1])}: shape {shape_str(t[c][0].shape)}, expected '
                          f'{shape_str(want)} (from {why})')
        has_mlm = any(c in t for c in mlm)
        for c, (want, why) in mlm.items():
            if has_mlm and c in t and None not in want and list(t[c][0].shape) != want:
                rep.error(f'{ckpt_name}: tensor {label(c, t[c][1])}: shape {shape_str(t[c][0].shape)}, expected '
                          f'{shape_str(want)} (from {why})')
        mlm_complete = all(c in t for c in mlm)
        if has_mlm and not mlm_complete:
            rep.warn(f'{ckpt_name}: MLM head incomplete ({", ".join(c for c in mlm if c not in t)} missing): not exported')
        # extra encoder layers beyond num_hidden_layers change the model: an error, not a warning
        beyond = sorted({i for i in layer_ids if N is not None and i >= N})
        for i in beyond:
            rep.error(f'{ckpt_name}: tensors bert.encoder.layer.{i}.*: layer {i} present, but {cfg_name} '
                      f'num_hidden_layers={N}')
        ignored = []
        for c, (v, in_file) in t.items():
            if c in exp or c in mlm or re.match(r'bert\.encoder\.layer\.\d+\.', c):
                continue
            if c == 'cls.predictions.decoder.weight':
                w = t.get(e + 'word_embeddings.weight')
                if w is not None and list(v.shape) == list(w[0].shape) and not torch.equal(v.float(), w[0].float()):
                    rep.warn(f'{ckpt_name}: tensor {in_file}: MLM decoder not tied to the word embeddings: not exported '
                             '(the workbench ties it)')
                continue
            ignored.append(in_file)
        if ignored:
            rep.warn(f'{ckpt_name}: not used by the workbench, not exported: {", ".join(ignored)}')
        # every layer tensor outside the expected set (e.g. a renamed sub-module) is unexpected
        for c, (v, in_file) in t.items():
            m = re.match(r'bert\.encoder\.layer\.(\d+)\.', c)
            if m and int(m.group(1)) < (N or 0) and c not in exp:
                rep.error(f'{ckpt_name}: tensor {label(c, in_file)}: unexpected (not a BERT layer tensor)')
    else:
        mlm, mlm_complete = {}, False

    # --- vocabularies
    is_wb = raw_voc.get('format') == 'exbehrt-vocab'
    diag_src = raw_voc.get('diagnosis') if is_wb else (raw_voc.get('token2idx') if 'token2idx' in raw_voc else raw_voc.get('idx2token'))
    diag_key = 'diagnosis' if is_wb else ('token2idx' if 'token2idx' in raw_voc else 'idx2token')
    diag, diag_perm = None, None
    if diag_src is None:
        rep.error(f'{voc_name}: no diagnosis vocabulary (expected token2idx or idx2token, as BEHRT writes, or a '
                  f'workbench vocab.json); found keys {", ".join(map(str, raw_voc))}')
    else:
        toks = index_list(diag_src, f'{voc_name}: {diag_key}', rep)
        if toks is not None:
            rows = shape(e + 'word_embeddings.weight')[0] if shape(e + 'word_embeddings.weight') else None
            if rows is not None and len(toks) != rows:
                rep.error(f'{voc_name}: {diag_key} has {len(toks)} tokens, {e}word_embeddings.weight has {rows} rows')
            elif rows is None and V and len(toks) != V:
                rep.error(f'{voc_name}: {diag_key} has {len(toks)} tokens, {cfg_name} vocab_size is {V}')
            diag, diag_perm = reorder(toks, DIAGNOSIS_SPECIALS, f'{voc_name}: {diag_key}', rep)

    # age: workbench row a = age a (in age_unit); BEHRT rows are age2idx[str(a)] after its symbols
    age_unit = config_value(cfg, 'age_unit', rep, cfg_name) or args.age_unit
    if age_unit is None:
        if isinstance(cfg.get('age_year'), bool):
            age_unit = 'years' if cfg['age_year'] else 'months'
        elif cfg.get('month') in (1, 12) or cfg.get('mon') in (1, 12):
            age_unit = 'years' if (cfg.get('month') or cfg.get('mon')) == 12 else 'months'
    if age_unit not in (None, 'years', 'months'):
        rep.error(f'{cfg_name}: age_unit: {age_unit!r}, expected years or months')
    age2idx = raw_voc.get('age2idx') or (raw_voc.get('age') if isinstance(raw_voc.get('age'), dict) else None)
    age_perm, age_note = None, None
    if is_wb or cfg.get('age_offset') == 0:
        age_perm = list(range(AV or 0))
    elif age2idx is not None:
        toks = index_list(age2idx, f'{voc_name}: age2idx', rep)
        if toks is not None:
            rows = shape(e + 'age_embeddings.weight')[0] if shape(e + 'age_embeddings.weight') else AV
            if rows and len(toks) != rows:
                rep.error(f'{voc_name}: age2idx has {len(toks)} entries, {e}age_embeddings.weight has {rows} rows')
            ages = {}
            for i, tok in enumerate(toks):
                try:
                    a = float(tok)
                    if a == int(a) and a >= 0:
                        ages[int(a)] = i
                except ValueError:
                    pass
            unk = next((i for i, tok in enumerate(toks) if special_name(tok) == '[UNK]'), None)
            if not ages:
                rep.error(f'{voc_name}: age2idx: no numeric ages')
            else:
                top = max(ages)
                holes = [a for a in range(top + 1) if a not in ages]
                if holes and unk is None:
                    rep.error(f'{voc_name}: age2idx: ages {holes[0]}..{holes[-1]} missing and no UNK entry to stand for them')
                else:
                    age_perm = [ages.get(a, unk) for a in range(top + 1)]
                    if holes:
                        age_note = f'{len(holes)} ages absent from age2idx ({holes[0]} ..) use its UNK row, as BEHRT does'
    else:
        symbols = cfg.get('age_symbol') or ['PAD', 'UNK']  # BEHRT's age_vocab(symbol=None)
        off = cfg.get('age_offset')
        if off is None:
            off = len(symbols)
            if 'age_symbol' not in cfg:
                rep.warn(f'age: no age2idx in {voc_name} and no age_symbol / age_offset in the config: assuming BEHRT\'s '
                         'age_vocab layout (PAD, UNK, then ages 0, 1, 2, ...); set "age_offset": 0 in the config if '
                         'row i of the age table is age i')
        if AV is not None:
            if AV - off <= 0:
                rep.error(f'{e}age_embeddings.weight has {AV} rows, fewer than the {off} age symbols before age 0')
            else:
                age_perm = [off + a for a in range(AV - off)]
    if age_unit is None:
        n_ages = len(age_perm) if age_perm else 0
        age_unit = 'months' if n_ages > 150 else 'years'
        rep.warn(f'age unit not given (config age_unit, or BEHRT\'s age_year/month): {n_ages} ages, so assuming {age_unit}')
    if age_note:
        rep.warn(age_note)

    # modalities and static tables
    mod_src = {}
    for src_obj, src_name in ((raw_voc.get('modalities'), voc_name), (raw_mod, os.path.basename(args.modality_vocab or ''))):
        if isinstance(src_obj, dict):
            for k, v in src_obj.items():
                if k not in ('sex', 'static', 'bins', 'format', 'version'):
                    mod_src[str(k)] = (v, src_name)
    if isinstance(raw_mod, dict) and isinstance(raw_mod.get('modalities'), dict):
        for k, v in raw_mod['modalities'].items():
            mod_src[str(k)] = (v, os.path.basename(args.modality_vocab))
    vocab_mods, mod_perms = {}, {}
    for m in modalities:
        n = m['name']
        if n not in mod_src:
            rep.error(f'vocab: modality {n}: no token list ({e}{n}_embeddings.weight has {m["vocab_size"]} rows; give '
                      f'{{"{n}": [tokens]}} in --modality-vocab or under "modalities" in --vocab)')
            continue
        v, sname = mod_src[n]
        toks = index_list(v, f'{sname}: {n}', rep)
        if toks is None:
            continue
        if len(toks) != m['vocab_size']:
            rep.error(f'{sname}: {n} has {len(toks)} tokens, {e}{n}_embeddings.weight has {m["vocab_size"]} rows')
            continue
        new, perm = reorder(toks, MODALITY_SPECIALS, f'{sname}: {n}', rep)
        if new is not None:
            vocab_mods[n], mod_perms[n] = new, perm
    for n in mod_src:
        if n not in [m['name'] for m in modalities]:
            rep.warn(f'vocab: modality {n} has a token list but the checkpoint has no {e}{n}_embeddings.weight: not exported')

    sex_tokens, sex_perm = None, None
    if static_name:
        rows = shape(f'{e}sex_embeddings.weight')[0]
        s = None
        for holder in (raw_voc, raw_mod if isinstance(raw_mod, dict) else {}):
            static = holder.get('static') if isinstance(holder.get('static'), dict) else {}
            s = s if s is not None else (holder.get('sex') if holder.get('sex') is not None else static.get('sex'))
        if s is None:
            if rows == len(SEX_TOKENS):
                s = list(SEX_TOKENS)
                rep.warn(f'vocab: no sex token list: assuming the workbench order {SEX_TOKENS} for the {rows} rows of {e}sex_embeddings.weight')
            else:
                rep.error(f'vocab: no sex token list for {e}sex_embeddings.weight ({rows} rows); give "sex": [tokens]')
        if s is not None:
            toks = index_list(s, 'vocab: sex', rep)
            if toks is not None:
                if len(toks) != rows:
                    rep.error(f'vocab: sex has {len(toks)} tokens, {e}sex_embeddings.weight has {rows} rows')
                else:
                    mapped = [sex_name(x) for x in toks]
                    bad = [toks[i] for i, x in enumerate(mapped) if x is None]
                    if bad:
                        rep.error(f'vocab: sex: token(s) {", ".join(map(repr, bad))} not understood (expected PAD, F, M, U)')
                    else:
                        new, perm = reorder(mapped, ['[PAD]'], 'vocab: sex', rep, normalize=lambda x: x)
                        if new is not None:
                            sex_tokens, sex_perm = new, perm

    bins = {}
    for b_obj, b_name in ((raw_voc.get('bins'), voc_name), (raw_bins, os.path.basename(args.bins or '')),
                          ((raw_mod or {}).get('bins') if isinstance(raw_mod, dict) else None, os.path.basename(args.modality_vocab or ''))):
        if b_obj is not None:
            bins.update(read_bins(b_obj, f'{b_name}: bins', rep))

    if rep.errors:
        return rep, None

    # --- build the folder contents
    out = collections.OrderedDict()

    def f32(x):
        return x.detach().to(torch.float32).contiguous()

    for c in exp:
        if c.startswith('classifier.'):
            continue
        out[c] = f32(t[c][0])
    idx = lambda perm: torch.tensor(perm, dtype=torch.long)  # noqa: E731
    out[e + 'word_embeddings.weight'] = out[e + 'word_embeddings.weight'][idx(diag_perm)]
    out[e + 'age_embeddings.weight'] = out[e + 'age_embeddings.weight'][idx(age_perm)]
    for m in modalities:
        k = f'{e}{m["name"]}_embeddings.weight'
        out[k] = out[k][idx(mod_perms[m['name']])]
    if static_name:
        out[e + 'sex_embeddings.weight'] = out[e + 'sex_embeddings.weight'][idx(sex_perm)]
    for name, (wc, bc, j) in head_map.items():
        w, b = f32(t[wc][0]), f32(t[bc][0])
        out[f'heads.{name}.weight'] = w if j is None else w[j:j + 1]
        out[f'heads.{name}.bias'] = b if j is None else b[j:j + 1]
    if mlm_complete:
        for c in mlm:
            out[c] = f32(t[c][0])
        out['cls.predictions.bias'] = out['cls.predictions.bias'][idx(diag_perm)]
    for c, v in out.items():
        if not torch.isfinite(v).all():
            rep.error(f'{ckpt_name}: tensor {c}: holds NaN or infinite values')
    if rep.errors:
        return rep, None

    config = collections.OrderedDict([
        ('model_type', model_type), ('hidden_size', H), ('num_hidden_layers', N), ('num_attention_heads', A),
        ('intermediate_size', I), ('max_len', max_len), ('vocab_size', V), ('age_vocab_size', len(age_perm)),
        ('age_unit', age_unit), ('type_vocab_size', T), ('max_position_embeddings', P),
        ('modalities', modalities), ('static', {'name': 'sex', 'vocab_size': len(sex_tokens)} if static_name else None),
        ('layer_norm_eps', eps), ('hidden_act', 'gelu'),
        ('attention_mask_value', float(config_value(cfg, 'attention_mask_value', rep, cfg_name) or -10000.0)),
        ('hidden_dropout_prob', float(config_value(cfg, 'hidden_dropout_prob', rep, cfg_name) or 0.1)),
        ('attention_probs_dropout_prob', float(config_value(cfg, 'attention_probs_dropout_prob', rep, cfg_name) or 0.1)),
        ('tasks', [collections.OrderedDict([('name', x['name'])] + ([('description', x['description'])] if x.get('description') else [])
                                           + [('num_labels', x['num_labels'])]) for x in task_list]),
    ])
    vocab = collections.OrderedDict([
        ('format', 'exbehrt-vocab'), ('version', 1), ('diagnosis', diag), ('modalities', vocab_mods),
        ('static', {'sex': sex_tokens} if sex_tokens else {}), ('bins', bins),
    ])
    with open(args.checkpoint, 'rb') as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    card = collections.OrderedDict([
        ('name', args.name or os.path.basename(os.path.normpath(args.out))),
        ('model_type', model_type),
        ('intended_use', 'Not stated: exported from a PyTorch checkpoint by ' + TOOL + '. Fill in what the model is for.'),
        ('training_data', 'Not stated: the exporter does not know what the model was trained on.'),
        ('exported_from', collections.OrderedDict([
            ('tool', TOOL), ('checkpoint', os.path.basename(args.checkpoint)), ('checkpoint_sha256', digest),
            ('state_dict_from', where), ('vocab', os.path.basename(args.vocab)),
            ('config', os.path.basename(args.config) if args.config else None),
            ('torch', torch.__version__.split('+')[0]),
            ('tasks_from', 'classifier' if has_cls else 'heads'),
        ])),
    ])
    return rep, (config, vocab, out, card)


def write_folder(out_dir, config, vocab, tensors, card, force):
    if os.path.exists(out_dir):
        if not os.path.isdir(out_dir):
            raise ExportError(f'--out {out_dir}: exists and is not a folder')
        others = [f for f in os.listdir(out_dir) if not f.startswith('.')]
        if others and not force:
            raise ExportError(f'--out {out_dir}: not empty ({", ".join(sorted(others)[:5])}); pass --force to overwrite '
                              'config.json, vocab.json, model.safetensors and model-card.json')
        for stale in ('reference.json', 'codemap.json'):
            if os.path.exists(os.path.join(out_dir, stale)):
                os.remove(os.path.join(out_dir, stale))  # they described the model that was there before
    else:
        os.makedirs(out_dir)
    tmp = {}
    for fname in ('config.json', 'vocab.json', 'model.safetensors', 'model-card.json'):
        tmp[fname] = os.path.join(out_dir, f'.{fname}.tmp-{os.getpid()}')
    try:
        for fname, obj in (('config.json', config), ('vocab.json', vocab), ('model-card.json', card)):
            with open(tmp[fname], 'w', encoding='utf-8') as f:
                json.dump(obj, f, indent=2, ensure_ascii=False)
                f.write('\n')
        write_safetensors(tmp['model.safetensors'], tensors, {'format': 'pt', 'exported_by': TOOL})
        for fname, p in tmp.items():
            os.replace(p, os.path.join(out_dir, fname))
    finally:
        for p in tmp.values():
            if os.path.exists(p):
                os.remove(p)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog='export_to_workbench.py',
        description='Export a BEHRT / ExBEHRT PyTorch checkpoint to an ExBEHRT Workbench model folder '
                    '(config.json, vocab.json, model.safetensors, model-card.json).')
    ap.add_argument('--checkpoint', required=True, help='torch.save\'d state_dict (.pt/.pth/.bin), or a dict holding one')
    ap.add_argument('--vocab', required=True, help="BEHRT vocab pickle ({'token2idx', 'idx2token'}) or a workbench vocab.json")
    ap.add_argument('--config', help='model config dict (JSON or pickle); BEHRT model_config keys accepted')
    ap.add_argument('--out', required=True, help='output folder (created; must be empty unless --force)')
    ap.add_argument('--model-type', choices=['behrt', 'exbehrt'], help='default: exbehrt if the checkpoint has extra modality tables')
    ap.add_argument('--task-name', help='name of the task of a single classifier.* head, e.g. hf_12m')
    ap.add_argument('--modality-vocab', help='ExBEHRT: {modality: [tokens] or {token: idx}} (JSON or pickle); may also hold "sex" and "bins"')
    ap.add_argument('--bins', help='lab/vital bin edges: {"lab:<code>": [edges]} or {"lab": {"<code>": [edges]}}')
    ap.add_argument('--age-unit', choices=['years', 'months'], help='unit of the age index when the config does not say')
    ap.add_argument('--name', help='model name in model-card.json (default: the output folder name)')
    ap.add_argument('--force', action='store_true', help='overwrite the model files in a non-empty --out')
    ap.add_argument('--trust-pickle', action='store_true',
                    help='unpickle arbitrary Python objects (runs code from the files: only for files you trust)')
    args = ap.parse_args(argv)
    try:
        rep, result = export(args)
    except ExportError as ex:
        sys.stderr.write(f'export_to_workbench: {ex}\n')
        return 1
    for w in rep.warnings:
        sys.stderr.write(f'warning: {w}\n')
    if rep.errors:
        n = len(rep.errors)
        sys.stderr.write(f'export_to_workbench: {n} problem{"s" if n > 1 else ""}, nothing written:\n')
        for m in rep.errors:
            sys.stderr.write(f'  {m}\n')
        return 1
    config, vocab, tensors, card = result
    try:
        write_folder(args.out, config, vocab, tensors, card, args.force)
    except ExportError as ex:
        sys.stderr.write(f'export_to_workbench: {ex}\n')
        return 1
    n_params = sum(v.numel() for v in tensors.values())
    tasks = ', '.join(x['name'] for x in config['tasks'])
    mods = ', '.join(f'{m["name"]}x{m["rows"]}' for m in config['modalities']) or 'none'
    sys.stdout.write(f'wrote {args.out}: {config["model_type"]} H={config["hidden_size"]} N={config["num_hidden_layers"]} '
                     f'A={config["num_attention_heads"]} I={config["intermediate_size"]}, {len(tensors)} tensors '
                     f'({n_params} parameters), diagnosis vocab {config["vocab_size"]}, modalities {mods}, tasks {tasks}\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
