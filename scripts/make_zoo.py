#!/usr/bin/python3
"""The network zoo: real network shapes as users bring them, made by one seeded script.

  float PyTorch (seeded weights) -> ONNX (opset 17) -> `cimtlm quantize --policy int8`

  resnet18       ResNet-18 shape at 224x224 (BasicBlocks 2-2-2-2, batch-norm folded by the
                 importer, max-pool stem, global average pool, 1000-way classifier)
  mobilenet_v2   MobileNetV2 (inverted residuals with expansion 6, depthwise 3x3, ReLU6) at
                 224x224, width 1.0
  mobilenet_v3s  MobileNetV3-small at 224x224 with hard-swish and hard-sigmoid written with
                 primitive ops (x * Clip(x + 3, 0, 6) / 6 and Clip(x + 3, 0, 6) / 6, as older
                 exporters emit them) and squeeze-and-excitation blocks
  transformer    a small encoder: token embedding by Gather (vocabulary 256, width 64),
                 2 layers of 4-head softmax attention, LayerNormalization and GELU (erf) MLPs,
                 sequence length 16

Training adds nothing here (the zoo exercises the toolchain); weights are seeded (torch
default initialisation under torch.manual_seed(SEED)), calibration inputs are seeded random.
Activations are calibrated min-max (`cimtlm quantize --activation-method minmax`): measuring the
four calibration methods on the network outputs costs hundreds of reference runs (ResNet-18:
612 runs, 6 minutes of quantization against 20 s).

  /usr/bin/python3 scripts/make_zoo.py OUT [--cimtlm build/cimtlm] [--only NAME...] [--seed 17]
                                       [--calibration-samples 4] [--check DRIVER]
                                       [--ort scripts/ort/run_ort.js]

writes OUT/<name>/float.onnx, OUT/<name>/model.onnx (quantized), OUT/<name>/calib.npy and
OUT/<name>/test_data_set_0/input_0.pb (one inference's input). With --check DRIVER (the
onnx_conformance executable of the build), every quantized model also runs through onnxruntime
(scripts/ort) and through cimtlm's importer, lowering and reference executor, which must give
onnxruntime's integers bit for bit; a summary line per network says which do. Exit status 0 when
every model was made (and, with --check, matched), 1 otherwise.

The models are large (ResNet-18: 11.7 M weights): they are made at test time, not committed.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CALIBRATION_SAMPLES = 4  # default of --calibration-samples


# ---- ResNet-18 -------------------------------------------------------------------------------

class BasicBlock(nn.Module):
    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.shortcut = None
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False),
                                          nn.BatchNorm2d(outputs))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class ResNet18(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                                  nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        layers, channels = [], 64
        for outputs, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [BasicBlock(channels, outputs, stride), BasicBlock(outputs, outputs, 1)]
            channels = outputs
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        y = self.layers(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


# ---- MobileNetV2 -----------------------------------------------------------------------------

def conv_bn(inputs, outputs, kernel, stride, groups=1, activation=nn.ReLU6):
    layers = [nn.Conv2d(inputs, outputs, kernel, stride, kernel // 2, groups=groups, bias=False),
              nn.BatchNorm2d(outputs)]
    if activation is not None:
        layers.append(activation())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, inputs, outputs, stride, expansion):
        super().__init__()
        hidden = inputs * expansion
        layers = [] if expansion == 1 else [conv_bn(inputs, hidden, 1, 1)]
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden),
                   conv_bn(hidden, outputs, 1, 1, activation=None)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and inputs == outputs

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class MobileNetV2(nn.Module):
    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, classes=1000):
        super().__init__()
        layers, channels = [conv_bn(3, 32, 3, 2)], 32
        for expansion, outputs, repeats, stride in self.SETTINGS:
            for index in range(repeats):
                layers.append(InvertedResidual(channels, outputs, stride if index == 0 else 1, expansion))
                channels = outputs
        layers.append(conv_bn(channels, 1280, 1, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(1280, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1))


# ---- MobileNetV3-small -----------------------------------------------------------------------

class HardSigmoid(nn.Module):
    """Clip(x + 3, 0, 6) / 6, with primitive ops (Add, Clip, Div) as older exporters write it."""

    def forward(self, x):
        return torch.clamp(x + 3.0, 0.0, 6.0) / 6.0


class HardSwish(nn.Module):
    """x * Clip(x + 3, 0, 6) / 6 (Add, Clip, Mul, Div)."""

    def forward(self, x):
        return x * torch.clamp(x + 3.0, 0.0, 6.0) / 6.0


class SqueezeExcite(nn.Module):
    def __init__(self, channels, squeezed):
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, channels, 1)
        self.gate = HardSigmoid()

    def forward(self, x):
        w = nn.functional.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.expand(torch.relu(self.reduce(w))))


def make_divisible(value, divisor=8):
    return max(divisor, int(value + divisor / 2) // divisor * divisor)


class V3Block(nn.Module):
    def __init__(self, inputs, kernel, hidden, outputs, se, activation, stride):
        super().__init__()
        act = HardSwish if activation == "HS" else nn.ReLU
        layers = [] if hidden == inputs else [conv_bn(inputs, hidden, 1, 1, activation=act)]
        layers.append(conv_bn(hidden, hidden, kernel, stride, groups=hidden, activation=act))
        if se:
            layers.append(SqueezeExcite(hidden, make_divisible(hidden // 4)))
        layers.append(conv_bn(hidden, outputs, 1, 1, activation=None))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and inputs == outputs

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class MobileNetV3Small(nn.Module):
    # kernel, expanded, outputs, SE, activation, stride (Howard et al., ICCV 2019, Table 2)
    SETTINGS = ((3, 16, 16, True, "RE", 2), (3, 72, 24, False, "RE", 2), (3, 88, 24, False, "RE", 1),
                (5, 96, 40, True, "HS", 2), (5, 240, 40, True, "HS", 1), (5, 240, 40, True, "HS", 1),
                (5, 120, 48, True, "HS", 1), (5, 144, 48, True, "HS", 1), (5, 288, 96, True, "HS", 2),
                (5, 576, 96, True, "HS", 1), (5, 576, 96, True, "HS", 1))

    def __init__(self, classes=1000):
        super().__init__()
        layers, channels = [conv_bn(3, 16, 3, 2, activation=HardSwish)], 16
        for kernel, hidden, outputs, se, activation, stride in self.SETTINGS:
            layers.append(V3Block(channels, kernel, hidden, outputs, se, activation, stride))
            channels = outputs
        layers.append(conv_bn(channels, 576, 1, 1, activation=HardSwish))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(576, 1024), HardSwish(), nn.Linear(1024, classes))

    def forward(self, x):
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1))


# ---- Transformer encoder ---------------------------------------------------------------------

class Attention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads, self.head_width = heads, width // heads
        self.query, self.key, self.value = (nn.Linear(width, width) for _ in range(3))
        self.output = nn.Linear(width, width)

    def split(self, x):  # [T, W] -> [H, T, W/H]
        return x.reshape(x.shape[0], self.heads, self.head_width).transpose(0, 1)

    def forward(self, x):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(1, 2)) / float(np.sqrt(self.head_width))
        context = torch.matmul(torch.softmax(scores, dim=-1), v)
        return self.output(context.transpose(0, 1).reshape(x.shape[0], -1))


class EncoderLayer(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attention = Attention(width, heads)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x):
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class Transformer(nn.Module):
    def __init__(self, vocabulary=256, width=64, heads=4, layers=2, length=16, classes=10):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, width)
        self.position = nn.Parameter(torch.randn(length, width) * 0.02)
        self.layers = nn.Sequential(*(EncoderLayer(width, heads) for _ in range(layers)))
        self.norm = nn.LayerNorm(width)
        self.classifier = nn.Linear(width, classes)

    def forward(self, tokens):  # tokens: [1, T] int64
        x = self.layers(self.embedding(tokens.reshape(-1)) + self.position)
        return self.classifier(self.norm(x))


ZOO = {
    "resnet18": (ResNet18, lambda rng, n: rng.standard_normal((n, 1, 3, 224, 224)).astype(np.float32)),
    "mobilenet_v2": (MobileNetV2, lambda rng, n: rng.standard_normal((n, 1, 3, 224, 224)).astype(np.float32)),
    "mobilenet_v3s": (MobileNetV3Small, lambda rng, n: rng.standard_normal((n, 1, 3, 224, 224)).astype(np.float32)),
    "transformer": (Transformer, lambda rng, n: rng.integers(0, 256, size=(n, 1, 16)).astype(np.int64)),
}


def write_pb(array, name, path):
    from onnx import numpy_helper
    with open(path, "wb") as handle:
        handle.write(numpy_helper.from_array(array, name).SerializeToString())


def make(name, out, cimtlm, seed, calibration_samples=CALIBRATION_SAMPLES):
    """Exports and quantizes one network; returns the folder."""
    import onnx
    torch.manual_seed(seed)
    model_class, inputs = ZOO[name]
    model = model_class().eval()
    # Give the batch norms non-trivial statistics so that folding them matters.
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    rng = np.random.default_rng(seed)
    samples = inputs(rng, calibration_samples + 1)
    folder = os.path.join(out, name)
    os.makedirs(os.path.join(folder, "test_data_set_0"), exist_ok=True)
    float_path = os.path.join(folder, "float.onnx")
    start = time.monotonic()
    with torch.no_grad():
        torch.onnx.export(model, (torch.from_numpy(samples[0]),), float_path, opset_version=17,
                          input_names=["input"], output_names=["output"], do_constant_folding=True)
    onnx.checker.check_model(onnx.load(float_path))
    # A batch along the first axis: [N, 3, 224, 224] for an input [1, 3, 224, 224].
    np.save(os.path.join(folder, "calib.npy"), np.concatenate(list(samples[1:]), axis=0))
    write_pb(samples[0], "input", os.path.join(folder, "test_data_set_0", "input_0.pb"))
    quantized = os.path.join(folder, "model.onnx")
    exported = time.monotonic()
    result = subprocess.run([cimtlm, "quantize", float_path, "--calib", os.path.join(folder, "calib.npy"),
                             "--policy", "int8", "--activation-method", "minmax",
                             "--sensitivity-samples", "1", "--no-simulate", "-o", quantized],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"cimtlm quantize exited {result.returncode}: {result.stderr.strip()}")
    print(f"{name}: export {exported - start:.1f} s, quantize {time.monotonic() - exported:.1f} s",
          flush=True)
    return folder


def check(folder, driver, ort):
    """onnxruntime's outputs, then cimtlm's lowering + reference executor against them."""
    data = os.path.join(folder, "test_data_set_0")
    result = subprocess.run(["node", ort, os.path.join(folder, "model.onnx"),
                             os.path.join(data, "input_0.pb"), "--output-dir", data],
                            capture_output=True, text=True)
    if result.returncode != 0:
        return False, f"onnxruntime failed: {result.stderr.strip()[:300]}"
    result = subprocess.run([driver, folder, "--lower"], capture_output=True, text=True)
    report = (result.stdout + result.stderr).strip().splitlines()
    return result.returncode == 0, report[-1] if report else f"exit {result.returncode}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--cimtlm", default=os.path.join(ROOT, "build", "cimtlm"))
    parser.add_argument("--only", nargs="+", choices=sorted(ZOO), default=sorted(ZOO))
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--calibration-samples", type=int, default=CALIBRATION_SAMPLES,
                        help="seeded random calibration inputs per network (CI: 1)")
    parser.add_argument("--check", metavar="DRIVER", help="onnx_conformance executable")
    parser.add_argument("--ort", default=os.path.join(ROOT, "scripts", "ort", "run_ort.js"))
    args = parser.parse_args()
    failed = []
    for name in args.only:
        try:
            folder = make(name, args.out, args.cimtlm, args.seed, args.calibration_samples)
        except Exception as error:  # report every network, then fail
            print(f"{name}: not made: {error}", flush=True)
            failed.append(name)
            continue
        if not args.check:
            print(f"{name}: {folder}/model.onnx", flush=True)
            continue
        ok, report = check(folder, args.check, args.ort)
        print(f"{name}: {'bit-exact with onnxruntime' if ok else 'DIFFERS or refused'}: {report}", flush=True)
        if not ok:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
