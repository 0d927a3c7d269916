"""Runs the authors' released ContSup model (Tab-ct/ContSup) on CPU, on
tensors and weights exported by contsup's fidelity harness.

The release is imported from a checkout outside the project (never
committed); nothing of it is copied here. What the release needs a GPU for is
patched at run time (.cuda() becomes a no-op); the model is built by the
release's own resnet.py, and the optimiser is the one its train.py builds (one
SGD over model.parameters()). The loop is ours, so both sides see the same
batches in the same order with the same learning rate per step.

Usage (Debian's torch): /usr/bin/python3 bench/fidelity/release_runner.py JOB.json
JOB.json: {release, mode: "steps"|"train", model, modules, context, head,
  classes, imageSize, batchSize, momentum, weightDecay, nesterov, bnMomentum,
  bnEps, weights (prefix), mean, std, threads, out, ...mode fields}
"""
import json
import sys
import time

import numpy as np
import torch

torch.Tensor.cuda = lambda self, *a, **k: self
torch.nn.Module.cuda = lambda self, *a, **k: self


def load_tensors(prefix):
    with open(prefix + '.json') as f:
        index = json.load(f)
    with open(prefix + '.bin', 'rb') as f:
        raw = f.read()
    out = {}
    for name, e in index.items():
        count = int(np.prod(e['shape'])) if e['shape'] else 1
        out[name] = np.frombuffer(raw, dtype=e['dtype'], count=count, offset=e['offset']).reshape(e['shape'])
    return out


def build(job):
    sys.path.insert(0, job['release'])
    import networks_dev.resnet as resnet
    import networks_dev.auxiliary_nets as aux

    model = getattr(resnet, job['model'])(
        local_module_num=job['modules'], batch_size=job['batchSize'], image_size=job['imageSize'],
        balanced_memory=False, dataset='fidelity', class_num=job['classes'], wide_list=(16, 16, 32, 64),
        dropout_rate=0.0, aux_net_config=job['head'], local_loss_mode='cross_entropy', aux_net_widen=1,
        aux_net_feature_dim=128, context_mode=job['context'], h_reconstruct=False)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = job['bnMomentum']
            m.eps = job['bnEps']
    weights = load_tensors(job['weights'])
    state = model.state_dict()
    for name, value in weights.items():
        if name not in state:
            raise SystemExit('release has no parameter %s' % name)
        if tuple(state[name].shape) != tuple(value.shape):
            raise SystemExit('%s: release shape %s, exported %s' % (name, tuple(state[name].shape), value.shape))
        state[name].copy_(torch.from_numpy(value.copy()).to(state[name].dtype))
    # Parameters left at the release's own init are ones contsup does not build
    # because the mode never uses them (E encoders in R modes, unused heads' decoders).
    unloaded = [n for n, _ in model.named_parameters() if n not in weights]

    # The per-module local losses, which the release's forward does not return.
    record = []
    orig = aux.AuxClassifier.forward

    def recorded(self, x, target):
        loss = orig(self, x, target)
        record.append(loss.item())
        return loss

    aux.AuxClassifier.forward = recorded
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=job['momentum'],
                                nesterov=job['nesterov'], weight_decay=job['weightDecay'])
    return model, optimizer, record, unloaded


def to_input(u8, mean, std):
    """uint8 NHWC -> float32 NCHW, (x/255 - mean) / std, as contsup's normalizeImages."""
    x = (u8.astype(np.float64) / 255.0 - np.array(mean)) / np.array(std)
    return torch.from_numpy(x.astype(np.float32)).permute(0, 3, 1, 2).contiguous()


def step(model, optimizer, record, x, y, lr):
    model.train()
    optimizer.zero_grad()
    record.clear()
    _, loss = model(img=x, target=y)  # the release calls backward inside forward
    for g in optimizer.param_groups:
        g['lr'] = lr
    optimizer.step()
    return record + [loss.item()]


def evaluate(model, images, labels, mean, std, batch=500):
    model.eval()
    correct = 0
    loss_sum = 0.0
    with torch.no_grad():
        for i in range(0, len(labels), batch):
            x = to_input(images[i:i + batch], mean, std)
            y = torch.from_numpy(labels[i:i + batch].astype(np.int64))
            logits, loss = model(img=x, target=y)
            correct += int((logits.argmax(1) == y).sum())
            loss_sum += loss.item() * len(y)
    return 100.0 * (1 - correct / len(labels)), loss_sum / len(labels)


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    torch.set_num_threads(job.get('threads', 1))
    if job.get('double'):
        torch.set_default_dtype(torch.float64)  # diagnosis only: which side is off by more than rounding
    model, optimizer, record, unloaded = build(job)
    result = {'unloaded': unloaded}
    if job['mode'] == 'steps':
        data = load_tensors(job['inputs'])
        losses = []
        for s, lr in enumerate(job['lrs']):
            x = torch.from_numpy(data['x%d' % s].copy()).to(torch.get_default_dtype())
            y = torch.from_numpy(data['y%d' % s].astype(np.int64))
            losses.append(step(model, optimizer, record, x, y, lr))
            if s == len(job['lrs']) - 1 and job.get('dumpAfterFirst'):
                # For diagnosis: every tensor of the state dict after one step, as lists.
                with open(job['dumpAfterFirst'], 'w') as f:
                    json.dump({n: v.flatten().tolist() for n, v in model.state_dict().items() if v.dtype in (torch.float32, torch.float64)}, f)
        model.eval()
        with torch.no_grad():
            _, loss = model(img=torch.from_numpy(data['x0'].copy()).to(torch.get_default_dtype()), target=torch.from_numpy(data['y0'].astype(np.int64)))
        result.update({'losses': losses, 'evalLoss': loss.item()})
    else:
        test = load_tensors(job['test'])
        epochs = []
        for e in job['epochs']:
            batches = load_tensors(e['batches'])
            start = time.time()
            loss_sum = 0.0
            for b, lr in enumerate(e['lrs']):
                x = to_input(batches['x%d' % b], job['mean'], job['std'])
                y = torch.from_numpy(batches['y%d' % b].astype(np.int64))
                loss_sum += step(model, optimizer, record, x, y, lr)[-1]
            seconds = time.time() - start
            err, test_loss = evaluate(model, test['images'], test['labels'], job['mean'], job['std'])
            epochs.append({'epoch': e['epoch'], 'testError': err, 'testLoss': test_loss,
                           'trainLoss': loss_sum / max(1, len(e['lrs'])), 'seconds': seconds})
            print('release epoch %d: test error %.2f%% (%.0f s)' % (e['epoch'], err, seconds), file=sys.stderr)
        result['epochs'] = epochs
    with open(job['out'], 'w') as f:
        json.dump(result, f)


if __name__ == '__main__':
    main()
