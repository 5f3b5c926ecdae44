"""Golden logits of a shipped model for the token batches in an inputs file (float64 reference).

usage: /usr/bin/python3 tools/reference/golden_shipped.py <model folder> <inputs.json> <out.json>
inputs.json: {"patients": TokenBatch, "ids": [...]} as written by tools/reference/shipped-inputs.ts."""
import json
import sys

import torch

sys.path.insert(0, __file__.rsplit('/', 1)[0])
from exbehrt_ref import Model, batch_from_json, forward  # noqa: E402


def main():
    folder, path, out = sys.argv[1:4]
    with open(path) as f:
        j = json.load(f)
    model = Model.load(folder)
    with torch.no_grad():
        logits = forward(model, batch_from_json(j['patients'], model.c))[2]
    golden = {'model': folder, 'ids': j['ids'], 'logits': {t: [float(v) for v in logits[t][:, 0]] for t in logits}}
    with open(out, 'w') as f:
        json.dump(golden, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
