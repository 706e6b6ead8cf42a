#!/usr/bin/python3
"""A ResNet-18-shaped network at 224x224 (seeded float weights, not trained): the network that
does not fit on chip (11.7 M weights, activations of several MiB), for the spill to off-chip
memory. Exported to ONNX (opset 13) and quantized by `cimtlm quantize` (int8 QDQ):

  /usr/bin/python3 scripts/make_resnet18_network.py [--cimtlm build/cimtlm] [--out DIR]
  build/cimtlm run configs/platforms/default.yaml --network DIR/resnet18.q.onnx \\
      --input DIR/resnet18_input.npy --inferences 1

writes DIR/resnet18.onnx (float, 45 MB), resnet18.q.onnx, resnet18_calib.npy and
resnet18_input.npy (DIR defaults to traces/resnet18, which git ignores: the files are too large
to commit and are made again in a minute). Deterministic.
"""
import argparse
import os
import subprocess

import numpy as np
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class BasicBlock(nn.Module):
    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1)
        self.shortcut = nn.Conv2d(inputs, outputs, 1, stride) if stride != 1 or inputs != outputs else None

    def forward(self, x):
        y = self.conv2(torch.relu(self.conv1(x)))
        return torch.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


class ResNet18(nn.Module):
    """torchvision's resnet18 layout with batch normalization folded into the convolutions."""

    def __init__(self, classes=1000):
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 7, 2, 3)
        self.pool = nn.MaxPool2d(3, 2, 1)
        layers = []
        inputs = 64
        for outputs, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [BasicBlock(inputs, outputs, stride), BasicBlock(outputs, outputs, 1)]
            inputs = outputs
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)
        for module in self.modules():  # scaled so that activations neither vanish nor explode
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.uniform_(module.bias, -0.05, 0.05)

    def forward(self, x):
        x = self.layers(self.pool(torch.relu(self.stem(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cimtlm", default=os.path.join(ROOT, "build", "cimtlm"))
    parser.add_argument("--out", default=os.path.join(ROOT, "traces", "resnet18"))
    parser.add_argument("--size", type=int, default=224, help="input height and width")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(18)
    rng = np.random.default_rng(18)
    model = ResNet18().eval()
    shape = (1, 3, args.size, args.size)
    float_path = os.path.join(args.out, "resnet18.onnx")
    torch.onnx.export(model, torch.rand(*shape), float_path, opset_version=13,
                      input_names=["input"], output_names=["logits"])
    calib = os.path.join(args.out, "resnet18_calib.npy")
    np.save(calib, rng.random((4,) + shape[1:], dtype=np.float32))
    np.save(os.path.join(args.out, "resnet18_input.npy"), rng.random(shape, dtype=np.float32))
    subprocess.run([args.cimtlm, "quantize", float_path, "--calib", calib, "--policy", "int8",
                    "--no-simulate", "-o", os.path.join(args.out, "resnet18.q.onnx"),
                    "--report", os.devnull], check=True, stdout=subprocess.DEVNULL)
    print("wrote " + os.path.join(args.out, "resnet18{.onnx,.q.onnx,_calib.npy,_input.npy}"))


if __name__ == "__main__":
    main()
