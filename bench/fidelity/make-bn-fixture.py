"""Writes test/engine/model/fixtures/batch-norm-torch.json: PyTorch BatchNorm2d
on a fixed batch sequence (train steps, then one eval pass), for the BN test.
Run once with Debian's torch: /usr/bin/python3 bench/fidelity/make-bn-fixture.py"""
import json
import torch

torch.manual_seed(0)
out = {"cases": []}
for momentum, eps in [(0.1, 1e-5), (0.3, 1e-3)]:
    bn = torch.nn.BatchNorm2d(3, momentum=momentum, eps=eps)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.0, 0.5, 2.0]))
        bn.bias.copy_(torch.tensor([0.0, 0.25, -1.0]))
    batches = [torch.randn(4, 3, 3, 2) * (i + 1) + i for i in range(3)]
    steps = []
    for x in batches:
        bn.train()
        y = bn(x)
        steps.append({
            "x": x.permute(0, 2, 3, 1).flatten().tolist(),  # NHWC for tfjs
            "y": y.detach().permute(0, 2, 3, 1).flatten().tolist(),
            "runMean": bn.running_mean.tolist(),
            "runVar": bn.running_var.tolist(),
        })
    bn.eval()
    xe = torch.randn(2, 3, 3, 2)
    ye = bn(xe)
    out["cases"].append({
        "momentum": momentum, "eps": eps, "shape": [4, 3, 2, 3],
        "gamma": bn.weight.tolist(), "beta": bn.bias.tolist(), "steps": steps,
        "evalX": xe.permute(0, 2, 3, 1).flatten().tolist(),
        "evalY": ye.detach().permute(0, 2, 3, 1).flatten().tolist(), "evalShape": [2, 3, 2, 3],
    })
with open("test/engine/model/fixtures/batch-norm-torch.json", "w") as f:
    json.dump(out, f)
