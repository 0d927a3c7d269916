"""Writes test/engine/train/fixtures/sgd-torch.json: torch.optim.SGD on one
parameter vector with fixed gradients and per-step learning rates, for the
optimiser test. Run once: /usr/bin/python3 bench/fidelity/make-sgd-fixture.py"""
import json
import torch

torch.manual_seed(0)
cases = []
for momentum, wd, nesterov in [(0.9, 1e-2, True), (0.9, 1e-2, False), (0.5, 0.0, True)]:
    w = torch.nn.Parameter(torch.randn(6))
    init = w.detach().clone().tolist()
    opt = torch.optim.SGD([w], lr=0.1, momentum=momentum, weight_decay=wd, nesterov=nesterov)
    grads, lrs, after = [], [0.1, 0.1, 0.05, 0.02], []
    for lr in lrs:
        g = torch.randn(6)
        opt.zero_grad()
        w.grad = g.clone()
        for group in opt.param_groups:
            group['lr'] = lr
        opt.step()
        grads.append(g.tolist())
        after.append(w.detach().clone().tolist())
    cases.append({'momentum': momentum, 'weightDecay': wd, 'nesterov': nesterov, 'init': init, 'grads': grads, 'lrs': lrs, 'after': after})
with open('test/engine/train/fixtures/sgd-torch.json', 'w') as f:
    json.dump({'cases': cases}, f)
