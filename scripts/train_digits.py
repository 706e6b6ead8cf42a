#!/usr/bin/python3
"""Train the small digits CNN that the quantization toolchain is demonstrated on.

Makes, reproducibly (seeded, CPU, single-threaded, < 1 min):
  configs/networks/digits_cnn.onnx             float model, opset 13, input [1, 1, 8, 8]
  configs/networks/digits_data/calib.npy       calibration inputs  [128, 1, 8, 8] float32
  configs/networks/digits_data/val_inputs.npy  validation inputs   [360, 1, 8, 8] float32
  configs/networks/digits_data/val_labels.npy  validation labels   [360] int64
  configs/networks/digits_data/sample.npy      one validation input [1, 1, 8, 8] (for cimtlm run)

Data: scikit-learn's 8x8 digits (1797 images, shipped with Debian's python3-sklearn, no
download). Pixels 0..16 are scaled to 0..1. 360 images (20 %, stratified) are held out for
validation; the calibration set is 128 images of the training split.

Network: conv3x3(1->16)-relu-conv3x3(16->32)-relu-maxpool2-flatten-fc(512->64)-relu-fc(64->10),
four CIM layers of different sizes so that mixed precision has something to trade.

Usage: /usr/bin/python3 scripts/train_digits.py [--out-dir configs/networks] [--epochs 30]
"""
import argparse
import os
import sys

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 20230209  # the seeds' publication date; any fixed value works


class DigitsCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.pool = torch.nn.MaxPool2d(2)
        self.fc1 = torch.nn.Linear(32 * 4 * 4, 64)
        self.fc2 = torch.nn.Linear(64, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        x = self.pool(x)
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        return self.fc2(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--out-dir", default=os.path.join(root, "configs", "networks"))
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()

    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    labels = digits.target.astype(np.int64)
    train_x, val_x, train_y, val_y = train_test_split(
        images, labels, test_size=360, random_state=SEED, stratify=labels)
    calib_x = train_x[np.random.RandomState(SEED).permutation(len(train_x))[:128]]

    model = DigitsCnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    tx, ty = torch.from_numpy(train_x), torch.from_numpy(train_y)
    generator = torch.Generator().manual_seed(SEED)
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(tx), generator=generator)
        for start in range(0, len(tx), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            loss = loss_fn(model(tx[batch]), ty[batch])
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(val_x)).argmax(1).numpy()
    accuracy = float((predicted == val_y).mean())

    os.makedirs(os.path.join(args.out_dir, "digits_data"), exist_ok=True)
    onnx_path = os.path.join(args.out_dir, "digits_cnn.onnx")
    torch.onnx.export(model, torch.zeros(1, 1, 8, 8), onnx_path, opset_version=13,
                      input_names=["image"], output_names=["logits"], do_constant_folding=True)
    data_dir = os.path.join(args.out_dir, "digits_data")
    np.save(os.path.join(data_dir, "calib.npy"), np.ascontiguousarray(calib_x))
    np.save(os.path.join(data_dir, "val_inputs.npy"), np.ascontiguousarray(val_x))
    np.save(os.path.join(data_dir, "val_labels.npy"), np.ascontiguousarray(val_y))
    np.save(os.path.join(data_dir, "sample.npy"), np.ascontiguousarray(val_x[:1]))
    print(f"float validation accuracy {accuracy * 100:.2f} % ({len(val_y)} images)")
    print(f"wrote {onnx_path} and {data_dir}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
