#!/usr/bin/python3
"""PyTorch peer of contsup's greedy-local-learning network, for bench/native-bench.

Written from the model specification (shared reference contsup-method.md) and
contsup's engine/model code, so that both sides train the same network: a
CIFAR ResNet cut into K gradient-isolated modules, 1c2f local heads, context
encoders E / Rn / RnE (the R encoder whose source would be the image is not
built in RnE, as in contsup), softmax cross-entropy, SGD Nesterov momentum 0.9
weight decay 1e-4, each module trained only by its own loss on detached inputs.

Run with Debian's interpreter (python3-torch):

  /usr/bin/python3 bench/torch-peer.py --model resnet32 --modules 16 --context R1E \
      --batch 128 --threads 1 --steps 3 --warmup 1 --json

Timing: one training step of every module per batch, on random input, after
`--warmup` untimed steps. Memory per module: one profiled step (after the
warm-up) under torch.profiler(profile_memory=True); the running sum of its CPU
allocation and free events in time order gives the peak of tensor storage made
during the module's step, to which the module's state (parameters, buffers,
momentum buffers) is added. That is the same accounting as contsup's
StageRunner (tf.profile peak over the bytes alive before + stateBytes).
"""
import argparse
import json
import math
import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BLOCKS_PER_STAGE = {'resnet20': 3, 'resnet32': 5, 'resnet44': 7, 'resnet56': 9, 'resnet110': 18}
STAGE_WIDTHS = (16, 32, 64)

# Published equal-layer cuts [stage, block] (contsup-method.md section 4).
CUTS = {
    'resnet32': {
        2: '2,1',
        4: '1,2 2,1 3,0',
        8: '1,0 1,2 1,4 2,1 2,3 3,0 3,2',
        16: '0,0 1,0 1,1 1,2 1,3 1,4 2,0 2,1 2,2 2,3 2,4 3,0 3,1 3,2 3,3',
    },
    'resnet110': {
        2: '2,8',
        4: '1,11 2,7 3,3',
        8: '1,4 1,11 2,0 2,7 2,14 3,3 3,10',
        16: '1,1 1,4 1,7 1,10 1,13 1,16 2,1 2,4 2,7 2,11 2,15 3,1 3,5 3,9 3,13',
    },
}

# What contsup reports for ResNet-32 on 32x32x3, 10 classes (the reference table).
REFERENCE_COUNTS = {
    ('resnet32', 16, 'R1E'): {'backbone': 466906, 'heads': 388374, 'context': 83944},
    ('resnet32', 16, 'R0'): {'backbone': 466906, 'heads': 388374, 'context': 0},
    ('resnet32', 16, 'E'): {'backbone': 466906, 'heads': 388374, 'context': 62232},
    ('resnet32', 16, 'R1'): {'backbone': 466906, 'heads': 388374, 'context': 21808},
    ('resnet32', 1, 'R0'): {'backbone': 466906, 'heads': 0, 'context': 0},
}


def parse_context(mode):
    m = re.fullmatch(r'(R0)|(E)|R([1-9]\d*)(E?)', mode)
    if not m:
        raise SystemExit(f'unknown context mode "{mode}": use R0, E, R<n> or R<n>E')
    if m.group(1):
        return False, 0
    if m.group(2):
        return True, 0
    return m.group(4) == 'E', int(m.group(3))


def he_init(conv):
    # N(0, sqrt(2 / (k*k*out))) as the reference ResNet (and contsup's ParamStore).
    k = conv.kernel_size[0]
    conv.weight.data.normal_(0, math.sqrt(2.0 / (k * k * conv.out_channels)))
    return conv


def conv(cin, cout, k, stride=1, bias=False):
    return he_init(nn.Conv2d(cin, cout, k, stride=stride, padding=(k - 1) // 2, bias=bias))


class Stem(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.conv = conv(cin, 16, 3)
        self.bn = nn.BatchNorm2d(16)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = conv(cin, cout, 3, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = conv(cout, cout, 3)
        self.bn2 = nn.BatchNorm2d(cout)
        # Projection shortcut (1x1 conv + BN) only where the shape changes.
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(conv(cin, cout, 1, stride), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        z = self.bn2(self.conv2(y))
        return F.relu(z + (self.proj(x) if self.proj is not None else x))


def backbone_units(model, cin, size):
    """[(module, in_channels, out_channels, in_size)] per unit: the stem, then every block."""
    n = BLOCKS_PER_STAGE[model]
    units = [(Stem(cin), cin, 16, size)]
    channels = 16
    for s in range(1, 4):
        for b in range(n):
            stride = 2 if s > 1 and b == 0 else 1
            out = STAGE_WIDTHS[s - 1]
            units.append((BasicBlock(channels, out, stride), channels, out, size))
            size = (size - 1) // stride + 1
            channels = out
    return units, channels


def partition(model, k):
    n = BLOCKS_PER_STAGE[model]
    count = 1 + 3 * n
    if k < 1 or k > count:
        raise SystemExit(f'modules must be from 1 to {count} for {model}')
    table = CUTS.get(model, {}).get(k)
    if table:
        ends = []
        for cut in table.split(' '):
            s, b = (int(v) for v in cut.split(','))
            ends.append((0 if s == 0 else 1 + (s - 1) * n + b) + 1)
    else:
        ends = [round((i + 1) * count / k) for i in range(k - 1)]
    ends.append(count)
    ranges, start = [], 0
    for end in ends:
        ranges.append((start, end))
        start = end
    return ranges


class LocalHead(nn.Module):
    """1c2f: conv3x3 (stride 2 for 16/32 channels) -> BN -> ReLU -> pool -> fc 128 -> ReLU -> fc out."""

    def __init__(self, channels, out, feature_dim=128):
        super().__init__()
        width = 32 if channels == 16 else 64
        self.conv = conv(channels, width, 3, 2 if channels in (16, 32) else 1)
        self.bn = nn.BatchNorm2d(width)
        self.fc0 = nn.Linear(width, feature_dim)
        self.fc1 = nn.Linear(feature_dim, out)

    def forward(self, x):
        h = F.relu(self.bn(self.conv(x)))
        return self.fc1(F.relu(self.fc0(h.mean((2, 3)))))


class ImageEncoder(nn.Module):
    """E: conv3x3(12, bias)-BN-ReLU, conv3x3(C, bias)-BN-ReLU, adaptive pool to the cut's size."""

    def __init__(self, cin, channels, size):
        super().__init__()
        self.size = size
        self.body = nn.Sequential(conv(cin, 12, 3, bias=True), nn.BatchNorm2d(12), nn.ReLU(),
                                  conv(12, channels, 3, bias=True), nn.BatchNorm2d(channels), nn.ReLU())

    def forward(self, image):
        return F.adaptive_avg_pool2d(self.body(image), self.size)


class FeatureEncoder(nn.Module):
    """R: conv1x1(C, bias)-BN-ReLU, adaptive pool to the cut's size."""

    def __init__(self, cin, channels, size):
        super().__init__()
        self.size = size
        self.body = nn.Sequential(conv(cin, channels, 1, bias=True), nn.BatchNorm2d(channels), nn.ReLU())

    def forward(self, source):
        return F.adaptive_avg_pool2d(self.body(source), self.size)


class GllModule(nn.Module):
    def __init__(self):
        super().__init__()
        self.units = nn.ModuleList()
        self.image_encoder = None
        self.sources = nn.ModuleDict()  # str(back) -> FeatureEncoder
        self.head = None
        self.classifier = None

    def forward(self, h, image, history):
        terms = []
        if self.image_encoder is not None:
            terms.append(self.image_encoder(image))
        for back, enc in self.sources.items():
            terms.append(enc(history[-int(back)]))
        combined = h + sum(terms) if terms else h
        x = combined
        for u in self.units:
            x = u(x)
        pred = self.classifier(x.mean((2, 3))) if self.classifier is not None else self.head(x)
        return x, combined, pred


def build_network(model, k, context, cin=3, size=32, classes=10):
    image, recent = parse_context(context)
    units, final_channels = backbone_units(model, cin, size)
    mods = []
    for m, (start, end) in enumerate(partition(model, k)):
        mod = GllModule()
        for u in range(start, end):
            mod.units.append(units[u][0])
        in_c, in_size = units[start][1], units[start][3]
        if m > 0:
            if image:
                mod.image_encoder = ImageEncoder(cin, in_c, in_size)
            for back in range(1, recent + 1):
                src = m - back
                # Sources before the start do not exist; in RnE the image reaches the cut through E only.
                if src < 0 or (src == 0 and image):
                    continue
                src_c = units[mods[src].first_unit][1]
                mod.sources[str(back)] = FeatureEncoder(src_c, in_c, in_size)
        mod.first_unit = start
        out_c = units[end - 1][2]
        if m == k - 1:
            mod.classifier = nn.Linear(final_channels, classes)
        else:
            mod.head = LocalHead(out_c, classes)
        mods.append(mod)
    return mods, recent


def param_counts(mods):
    counts = {'backbone': 0, 'heads': 0, 'context': 0}
    for mod in mods:
        counts['backbone'] += sum(p.numel() for p in mod.units.parameters())
        if mod.classifier is not None:
            counts['backbone'] += sum(p.numel() for p in mod.classifier.parameters())
        if mod.head is not None:
            counts['heads'] += sum(p.numel() for p in mod.head.parameters())
        encoders = [mod.image_encoder] if mod.image_encoder is not None else []
        encoders += list(mod.sources.values())
        counts['context'] += sum(p.numel() for e in encoders for p in e.parameters())
    return counts


def state_bytes(mod, opt):
    """What a module holds between steps: parameters, BN buffers and momentum buffers."""
    n = sum(p.numel() * p.element_size() for p in mod.parameters())
    n += sum(b.numel() * b.element_size() for b in mod.buffers())
    for st in opt.state.values():
        buf = st.get('momentum_buffer')
        if buf is not None:
            n += buf.numel() * buf.element_size()
    return n


def profiled_peak(fn):
    """Peak bytes of tensor storage allocated by fn() above what was alive when it started."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == '[memory]']
    events.sort(key=lambda e: e.start_us())  # stable: ties keep their recorded order
    live = peak = 0
    for e in events:
        live += e.nbytes()
        peak = max(peak, live)
    return peak


class Trainer:
    def __init__(self, mods, recent, lr, channels_last):
        self.mods, self.recent, self.lr = mods, recent, lr
        self.opts = [torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=1e-4) for m in mods]
        self.peak = [0] * len(mods)
        self.fmt = torch.channels_last if channels_last else torch.contiguous_format
        for m in mods:
            m.to(memory_format=self.fmt)
            m.train()

    def module_step(self, k, h, image, history, labels):
        mod, opt = self.mods[k], self.opts[k]
        x, combined, pred = mod(h, image, history)
        loss = F.cross_entropy(pred, labels)
        loss.backward()
        opt.step()
        # Gradients are freed inside the step that made them (as contsup disposes its own).
        opt.zero_grad(set_to_none=True)
        # greedy: what goes on is detached, so module k+1's loss never reaches module k.
        return x.detach(), combined.detach(), loss.item()

    def step(self, image, labels, profile=False):
        h, history = image, []
        for k in range(len(self.mods)):
            if profile:
                out = {}
                peak = profiled_peak(lambda: out.update(r=self.module_step(k, h, image, history, labels)))
                self.peak[k] = peak + state_bytes(self.mods[k], self.opts[k])
                x, combined, _ = out['r']
            else:
                x, combined, _ = self.module_step(k, h, image, history, labels)
            history = (history + [combined])[-self.recent:] if self.recent > 0 else []
            h = x


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', default='resnet32', choices=sorted(BLOCKS_PER_STAGE))
    ap.add_argument('--modules', type=int, default=16)
    ap.add_argument('--context', default='R1E')
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--steps', type=int, default=3)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--lr', type=float, default=0.01)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--memory-format', choices=['channels_last', 'contiguous'], default='channels_last',
                    help='layout of activations and conv weights (channels_last, like contsup\'s NHWC, is the faster on this CPU)')
    ap.add_argument('--device', choices=['cpu', 'cuda'], default='cpu',
                    help='cuda: the GPU check (bench/gpu-check.sh) runs the same network on the GPU')
    ap.add_argument('--json', action='store_true', help='print one JSON object on stdout')
    a = ap.parse_args()
    if a.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: this torch has no CUDA device')
    if a.threads < 1 or a.steps < 1 or a.warmup < 0 or a.batch < 2:
        raise SystemExit('--threads, --steps must be >= 1, --warmup >= 0, --batch >= 2')
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    mods, recent = build_network(a.model, a.modules, a.context)
    counts = param_counts(mods)
    expected = REFERENCE_COUNTS.get((a.model, a.modules, a.context))
    if expected is not None and counts != expected:
        raise SystemExit(f'parameter counts {counts} differ from contsup\'s {expected}')
    channels_last = a.memory_format == 'channels_last'
    dev = torch.device(a.device)
    for m in mods:
        m.to(dev)
    trainer = Trainer(mods, recent, a.lr, channels_last)
    fmt = trainer.fmt
    image = torch.randn(a.batch, 3, 32, 32).contiguous(memory_format=fmt).to(dev)
    labels = torch.randint(0, 10, (a.batch,)).to(dev)
    for _ in range(a.warmup):
        trainer.step(image, labels)
    # The profiler's allocation events are the CPU's: on CUDA the peak is the allocator's own maximum.
    if a.device == 'cpu':
        trainer.step(image, labels, profile=True)
    else:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        trainer.step(image, labels)
        trainer.peak = [torch.cuda.max_memory_allocated()]
    t0 = time.perf_counter()
    for _ in range(a.steps):
        trainer.step(image, labels)
    if a.device == 'cuda':
        torch.cuda.synchronize()
    step_s = (time.perf_counter() - t0) / a.steps
    result = {
        'side': 'pytorch',
        'torch': torch.__version__,
        'model': a.model,
        'modules': len(mods),
        'context': a.context,
        'batch': a.batch,
        'device': a.device,
        'threads': torch.get_num_threads(),
        'memoryFormat': a.memory_format,
        'steps': a.steps,
        'warmup': a.warmup,
        'params': counts,
        'stepMs': step_s * 1000,
        'samplesPerSec': a.batch / step_s,
        'peakBytes': trainer.peak,
        'peakMeasure': 'torch.profiler profile_memory: peak of CPU allocations during the module step + parameters, buffers, momentum',
    }
    if a.json:
        print(json.dumps(result))
    else:
        print(f"{a.model} K={len(mods)} {a.context} batch {a.batch}, {result['threads']} thread(s), {a.memory_format}")
        print(f"params: {json.dumps(counts)}")
        print(f"{result['samplesPerSec']:.1f} samples/s ({result['stepMs']:.0f} ms/step)")
        print('peak MiB per module: ' + ' '.join(f'{b / 2**20:.1f}' for b in trainer.peak))


if __name__ == '__main__':
    sys.exit(main())
