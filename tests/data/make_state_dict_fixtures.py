#!/usr/bin/env python3
"""PyTorch twins of cimkit's model zoo (src/nn/zoo.cpp) and the state_dict fixtures.

The classes below have the same structure and module names as the C++ models, so their
state_dict keys and shapes equal cimkit's (without the analog layers' quantiser keys
`*.wq.*` / `*.xq.*`), and in float mode they compute the same function.

    python3 make_state_dict_fixtures.py            # (re)writes the fixtures next to this file
    python3 make_state_dict_fixtures.py check DIR  # used by tests/nn/test_interop.cpp

Fixtures (torch 1.13, written with torch.save(model.state_dict()) -- an OrderedDict):
  state_dict_lenet5.pt        lenet5, 28x28x1, 10 classes, torch.manual_seed(0) init
  state_dict_lenet5_io.pt     {x: [2, 1, 28, 28], y: [2, 10]} with y = model(x) (float32)
  state_dict_resnet20.pt      resnet20 width 0.25, 32x32x3, 10 classes, BN statistics from
                              three train-mode batches
  state_dict_resnet20_io.pt   {x: [2, 3, 32, 32], y: [2, 10]} with y = model.eval()(x)
  state_dict_bad_value.pt     an OrderedDict whose 'epoch' entry is an int, not a tensor
  state_dict_single.pt        nn.Linear(4, 3, bias=False).state_dict() with weight = arange(12)
                              reshaped [3, 4]: one entry, pickled with SETITEM, not SETITEMS

`check DIR` reads every DIR/<name>_<C>x<S>.pt that the C++ test wrote (cimkit's state dict of
make_model({name, in_channels C, image_size S, width 0.25})) with DIR/<name>_<C>x<S>_io.pt
({x, y}: cimkit's float-mode eval output), loads it into the twin (quantiser keys removed,
strict=True), checks the key order equals the twin's state_dict order and that the twin's
output matches y. Prints one line per model and exits 1 on any failure.
"""
import math
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def scaled(c, width):
    # std::llround (half away from zero), not Python's round-half-to-even.
    return max(1, int(math.floor(c * width + 0.5)))


class Mlp(nn.Module):
    def __init__(self, in_channels, image_size, n_classes, width):
        super().__init__()
        h1, h2 = scaled(256, width), scaled(128, width)
        self.fc1 = nn.Linear(in_channels * image_size * image_size, h1)
        self.fc2 = nn.Linear(h1, h2)
        self.fc3 = nn.Linear(h2, n_classes)

    def forward(self, x):
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc3(F.relu(self.fc2(x)))


class LeNet5(nn.Module):
    def __init__(self, in_channels, image_size, n_classes, width):
        super().__init__()
        pad = 2 if image_size == 28 else 0
        c1, c2 = scaled(6, width), scaled(16, width)
        f1, f2 = scaled(120, width), scaled(84, width)
        s = ((image_size + 2 * pad - 4) // 2 - 4) // 2
        self.conv1 = nn.Conv2d(in_channels, c1, 5, padding=pad)
        self.conv2 = nn.Conv2d(c1, c2, 5)
        self.fc1 = nn.Linear(c2 * s * s, f1)
        self.fc2 = nn.Linear(f1, f2)
        self.fc3 = nn.Linear(f2, n_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc3(F.relu(self.fc2(x)))


# (channels, padding); channels 0 = 2x2 max-pool (ceil mode)
VGG8 = [(128, 1), (128, 1), 0, (256, 1), (256, 1), 0, (512, 1), (512, 1), 0, (1024, 0), 0]
VGG11 = [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0]
VGG16 = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0]


class Vgg(nn.Module):
    def __init__(self, in_channels, image_size, n_classes, width, cfg, global_pool):
        super().__init__()
        layers, c, s = [], in_channels, image_size
        for item in cfg:
            if item == 0:
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
                s = math.ceil((s - 2) / 2) + 1
                continue
            out, pad = item if isinstance(item, tuple) else (item, 1)
            out = scaled(out, width)
            layers += [nn.Conv2d(c, out, 3, padding=pad, bias=False), nn.BatchNorm2d(out),
                       nn.ReLU(inplace=True)]
            c, s = out, s + 2 * pad - 2
        self.features = nn.Sequential(*layers)
        self.global_pool = global_pool
        if global_pool:
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            s = 1
        self.classifier = nn.Linear(c * s * s, n_classes)

    def forward(self, x):
        x = self.features(x)
        if self.global_pool:
            x = self.avgpool(x)
        return self.classifier(x.flatten(1))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (self.downsample(x) if self.downsample is not None else x))


class ResNet(nn.Module):
    def __init__(self, in_channels, image_size, n_classes, width, blocks, widths):
        super().__init__()
        stem = scaled(widths[0], width)
        self.conv1 = nn.Conv2d(in_channels, stem, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        c = stem
        for i, (n, w) in enumerate(zip(blocks, widths)):
            out = scaled(w, width)
            layer = []
            for b in range(n):
                layer.append(BasicBlock(c, out, 2 if (i > 0 and b == 0) else 1))
                c = out
            setattr(self, "layer%d" % (i + 1), nn.Sequential(*layer))
        self.n_stages = len(blocks)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, n_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for i in range(self.n_stages):
            x = getattr(self, "layer%d" % (i + 1))(x)
        return self.fc(self.avgpool(x).flatten(1))


def make(name, in_channels, image_size, n_classes=10, width=1.0):
    a = (in_channels, image_size, n_classes, width)
    return {
        "mlp": lambda: Mlp(*a),
        "lenet5": lambda: LeNet5(*a),
        "vgg8": lambda: Vgg(*a, VGG8, False),
        "vgg11": lambda: Vgg(*a, VGG11, True),
        "vgg16": lambda: Vgg(*a, VGG16, True),
        "resnet18": lambda: ResNet(*a, [2, 2, 2, 2], [64, 128, 256, 512]),
        "resnet20": lambda: ResNet(*a, [3, 3, 3], [16, 32, 64]),
        "resnet34": lambda: ResNet(*a, [3, 4, 6, 3], [64, 128, 256, 512]),
    }[name]()


QUANTIZER_TAILS = (".wq.step", ".xq.step", ".xq.offset", ".wq.initialized", ".xq.initialized")


def write_fixtures():
    torch.manual_seed(0)
    lenet = LeNet5(1, 28, 10, 1.0).eval()
    x = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = lenet(x)
    torch.save(lenet.state_dict(), os.path.join(HERE, "state_dict_lenet5.pt"))
    torch.save({"x": x, "y": y}, os.path.join(HERE, "state_dict_lenet5_io.pt"))

    torch.manual_seed(0)
    resnet = ResNet(3, 32, 10, 0.25, [3, 3, 3], [16, 32, 64])
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for _ in range(3):  # non-trivial running statistics
            resnet(torch.randn(4, 3, 32, 32, generator=g) * 2 + 0.5)
        resnet.eval()
        x = torch.randn(2, 3, 32, 32, generator=g)
        y = resnet(x)
    torch.save(resnet.state_dict(), os.path.join(HERE, "state_dict_resnet20.pt"))
    torch.save({"x": x, "y": y}, os.path.join(HERE, "state_dict_resnet20_io.pt"))

    bad = OrderedDict([("fc.weight", torch.zeros(2, 3)), ("epoch", 3)])
    torch.save(bad, os.path.join(HERE, "state_dict_bad_value.pt"))

    single = nn.Linear(4, 3, bias=False)
    with torch.no_grad():
        single.weight.copy_(torch.arange(12.0).reshape(3, 4))
    torch.save(single.state_dict(), os.path.join(HERE, "state_dict_single.pt"))


def check(directory):
    failures = 0
    files = sorted(f for f in os.listdir(directory) if f.endswith(".pt") and not f.endswith("_io.pt"))
    for f in files:
        stem = f[:-3]
        name, shape = stem.rsplit("_", 1)
        c, s = (int(v) for v in shape.split("x"))
        sd = torch.load(os.path.join(directory, f))
        io = torch.load(os.path.join(directory, stem + "_io.pt"))
        model = make(name, c, s, 10, 0.25).eval()
        plain = OrderedDict((k, v) for k, v in sd.items() if not k.endswith(QUANTIZER_TAILS))
        try:
            model.load_state_dict(plain, strict=True)
            assert list(plain.keys()) == list(model.state_dict().keys()), "key order differs"
            with torch.no_grad():
                y = model(io["x"])
            err = (y - io["y"]).abs().max().item()
            assert err <= 1e-4 * max(1.0, io["y"].abs().max().item()), "output differs by %g" % err
            print("ok", stem, len(sd), "tensors, max |dy| = %.2g" % err)
        except Exception as e:  # report every model, then fail
            failures += 1
            print("FAIL", stem, str(e)[:2000])
    if not files:
        print("FAIL no state dicts in", directory)
        failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    write_fixtures()
