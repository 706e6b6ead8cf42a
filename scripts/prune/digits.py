"""The digits task for the pruner and the compression loop: data, the float model, training.

The model is scripts/train_digits.py's DigitsCnn with the weights of its ONNX export
(configs/networks/digits_cnn.onnx), so the loop compresses exactly the model the repository
ships. The training split is recomputed with train_digits.py's seed and checked against the
validation set saved beside the model (configs/networks/digits_data/val_*.npy).
"""
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(SCRIPTS)
if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)

import train_digits  # noqa: E402  (scripts/train_digits.py: DigitsCnn, SEED)

DEFAULT_MODEL = os.path.join(ROOT, "configs", "networks", "digits_cnn.onnx")
DEFAULT_DATA = os.path.join(ROOT, "configs", "networks", "digits_data")
BATCH = 64


def deterministic(seed: int = train_digits.SEED) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


class DigitsData:
    """Training and validation splits of scikit-learn's 8x8 digits, as train_digits.py made them."""

    def __init__(self, data_dir: str = DEFAULT_DATA):
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        digits = load_digits()
        images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
        labels = digits.target.astype(np.int64)
        train_x, val_x, train_y, val_y = train_test_split(
            images, labels, test_size=360, random_state=train_digits.SEED, stratify=labels)
        saved = os.path.join(data_dir, "val_inputs.npy")
        if os.path.exists(saved) and not np.array_equal(np.load(saved), val_x):
            raise SystemExit(f"{saved} is not the validation split of train_digits.py "
                             "(re-run scripts/train_digits.py)")
        self.data_dir = data_dir
        self.train_x = torch.from_numpy(train_x)
        self.train_y = torch.from_numpy(train_y)
        self.val_x = torch.from_numpy(val_x)
        self.val_y = torch.from_numpy(val_y)

    def batches(self, seed: int):
        """A function epoch -> seeded shuffled mini-batches of the training split."""
        def epoch_batches(epoch: int):
            generator = torch.Generator().manual_seed(seed * 1000 + epoch)
            order = torch.randperm(len(self.train_x), generator=generator)
            for start in range(0, len(order), BATCH):
                batch = order[start:start + BATCH]
                yield self.train_x[batch], self.train_y[batch]
        return epoch_batches

    @property
    def calib_path(self) -> str:
        return os.path.join(self.data_dir, "calib.npy")

    @property
    def val_path(self) -> str:
        return os.path.join(self.data_dir, "val_inputs.npy")

    @property
    def sample_path(self) -> str:
        return os.path.join(self.data_dir, "sample.npy")


def load_model(onnx_path: str = DEFAULT_MODEL) -> torch.nn.Module:
    """DigitsCnn with the initializers of an ONNX export of it (names = state_dict keys)."""
    model = train_digits.DigitsCnn()
    initializers = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
                    for t in onnx.load(onnx_path).graph.initializer}
    state = model.state_dict()
    missing = [name for name in state if name not in initializers]
    if missing:
        raise SystemExit(f"{onnx_path}: no initializers for {missing}")
    model.load_state_dict({name: initializers[name] for name in state})
    model.eval()
    return model


@torch.no_grad()
def accuracy(model: torch.nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    return float((model(inputs).argmax(1) == labels).float().mean())


def export_onnx(model: torch.nn.Module, path: str) -> None:
    """Float ONNX (opset 13) in the form train_digits.py writes, for `cimtlm quantize`."""
    from prune.optimizer_pruner import export_onnx as export_pruned
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    export_pruned(model, torch.zeros(1, 1, 8, 8), path, input_names=["image"], output_names=["logits"])
