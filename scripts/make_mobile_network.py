#!/usr/bin/python3
"""A MobileNet-like test network with the ops quantized models mix in: depthwise convolutions,
hard-swish, a squeeze-and-excitation block (GlobalAveragePool, 1x1 convolutions, HardSigmoid, a
broadcast Mul), residual Adds, MaxPool, a Concat of two branches and a Softmax at the end.

Seeded float weights (torch), exported to ONNX (opset 13) and quantized by `cimtlm quantize`
(int8 QDQ), so the result is a model made by the toolchain itself:

  /usr/bin/python3 scripts/make_mobile_network.py [--cimtlm build/cimtlm]

writes configs/networks/mobile_se_cnn.onnx (float), mobile_se_cnn.q.onnx (quantized),
mobile_se_cnn_calib.npy and mobile_se_cnn_input.npy. Deterministic.
"""
import argparse
import os
import subprocess

import numpy as np
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "configs", "networks")


class SqueezeExcite(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels // 4, 1)
        self.expand = nn.Conv2d(channels // 4, channels, 1)

    def forward(self, x):
        w = nn.functional.adaptive_avg_pool2d(x, 1)
        w = nn.functional.hardsigmoid(self.expand(torch.relu(self.reduce(w))))
        return x * w


class InvertedResidual(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.expand = nn.Conv2d(channels, 2 * channels, 1)
        self.depthwise = nn.Conv2d(2 * channels, 2 * channels, 3, padding=1, groups=2 * channels)
        self.se = SqueezeExcite(2 * channels)
        self.project = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, x):
        y = nn.functional.hardswish(self.expand(x))
        y = nn.functional.hardswish(self.depthwise(y))
        return x + self.project(self.se(y))


class MobileSeCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.block1 = InvertedResidual(8)
        self.pool = nn.MaxPool2d(2)
        self.block2 = InvertedResidual(8)
        self.branch_a = nn.Conv2d(8, 8, 1)
        self.branch_b = nn.Conv2d(8, 8, 3, padding=1)
        self.classifier = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = self.block2(self.pool(self.block1(torch.relu(self.stem(x)))))
        x = torch.cat([torch.relu(self.branch_a(x)), torch.relu(self.branch_b(x))], 1)
        return torch.softmax(self.classifier(torch.flatten(x, 1)), 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cimtlm", default=os.path.join(ROOT, "build", "cimtlm"))
    args = parser.parse_args()
    torch.manual_seed(7)
    rng = np.random.default_rng(7)
    model = MobileSeCnn().eval()
    float_path = os.path.join(OUT, "mobile_se_cnn.onnx")
    torch.onnx.export(model, torch.rand(1, 1, 8, 8), float_path, opset_version=13,
                      input_names=["input"], output_names=["probabilities"])
    calib = os.path.join(OUT, "mobile_se_cnn_calib.npy")
    np.save(calib, rng.random((32, 1, 8, 8), dtype=np.float32))
    np.save(os.path.join(OUT, "mobile_se_cnn_input.npy"), rng.random((1, 1, 8, 8), dtype=np.float32))
    subprocess.run([args.cimtlm, "quantize", float_path, "--calib", calib, "--policy", "int8",
                    "--no-simulate", "-o", os.path.join(OUT, "mobile_se_cnn.q.onnx"),
                    "--report", os.devnull], check=True, stdout=subprocess.DEVNULL)
    print("wrote configs/networks/mobile_se_cnn{.onnx,.q.onnx,_calib.npy,_input.npy}")


if __name__ == "__main__":
    main()
