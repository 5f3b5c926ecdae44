"""Time expected gradients on the PyTorch reference, for `npm run bench`.

usage: /usr/bin/python3 tools/reference/bench_eg.py <model folder> <inputs.json>
inputs.json: {"patients": TokenBatch (1 patient), "references": TokenBatch, "ref_idx": [...],
"alphas": [...], "task": "..."}; samples run in batches of 4096 // L like the tfjs engine.
Prints one JSON line: {"torch", "threads", "device", "seconds", "gap"} (float32, CPU; with
BENCH_TORCH_DEVICE=cuda on the GPU, for the GPU machine's comparison row)."""
import json
import os
import sys
import time

import torch

sys.path.insert(0, __file__.rsplit('/', 1)[0])
from exbehrt_ref import Model, batch_from_json, expected_gradients  # noqa: E402


def main():
    folder, path = sys.argv[1], sys.argv[2]
    device = os.environ.get('BENCH_TORCH_DEVICE', 'cpu')
    if device != 'cpu':
        torch.set_default_device(device)  # (torch >= 2.0) the reference builds its tensors with torch.as_tensor
    with open(path) as f:
        j = json.load(f)
    model = Model.load(folder, dtype=torch.float32)
    x = batch_from_json(j['patients'], model.c)
    refs = batch_from_json(j['references'], model.c)
    x['attention_mask'] = x['attention_mask'].float()
    refs['attention_mask'] = refs['attention_mask'].float()
    L = j['patients']['length']
    B = max(1, min(64, 4096 // L))
    ref_idx, alphas = j['ref_idx'], j['alphas']
    expected_gradients(model, x, refs, ref_idx[:B], alphas[:B], j['task'])  # warm-up
    t0 = time.perf_counter()
    total, f_refs, f_x = None, [], None
    for s in range(0, len(alphas), B):
        r = expected_gradients(model, x, refs, ref_idx[s:s + B], alphas[s:s + B], j['task'])
        k = len(alphas[s:s + B])
        phi_sum = sum(float(p.sum()) for p in r['phi'].values()) * k
        total = phi_sum if total is None else total + phi_sum
        f_refs += r['f_refs']
        f_x = r['f_x']
    seconds = time.perf_counter() - t0
    gap = total / len(alphas) - (f_x - sum(f_refs) / len(f_refs))
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'device': device, 'seconds': seconds, 'gap': gap}))


if __name__ == '__main__':
    main()
