#!/usr/bin/python3
"""Synthetic user-item interactions and the two-tower recommender of the recsys scenario.

Makes, reproducibly (seeded, CPU, single-threaded, a few seconds), in configs/networks/recsys/:
  user_tower.onnx      the whole user tower, float, opset 13: inputs categorical [1, 3] int64
                       (three Gather embedding lookups) and dense [1, 64] float32 (the user's
                       activity over 64 content categories) -> behaviour
                       vector [1, 16]. The reference of what the client computes.
  user_mlp.onnx        the user tower after the lookups: [1, 88] (three 8-wide embedding rows
                       and the 64 dense features) -> [1, 16]; quantized by `cimtlm quantize` into
                       user_mlp.q.onnx (the network the client's CIM accelerator runs).
  item_scores.onnx     the server's scoring: behaviour [1, 16] x item embeddings^T [16, 400]
                       -> scores [1, 400] (MatMul, the item embeddings are the CIM weights);
                       quantized into item_scores.q.onnx.
  tables/<feature>.npy the embedding tables, float32 [cardinality, 8], values already on an
                       8-bit symmetric grid (scale max|x| / 127) so that the client's OS memory
                       holds them as int8 without loss.
  data/users_categorical.npy [600, 3] int64, data/users_dense.npy [600, 64] float32,
  data/train.npy [n, 2] int64 (user, item), data/heldout.npy [m, 2] int64,
  data/mlp_calib.npy, data/score_calib.npy  calibration inputs (training users only).

Generator (documented in docs/recsys.md): 600 users with latent preferences p_u ~ N(0, I_8);
400 items with latent attributes q_i ~ N(0, I_8) and a popularity bias b_i ~ N(0, 0.5^2).
Categorical features (age band 6, region 10, device 4) are argmax_c (p_u W_f + Gumbel noise)
with W_f ~ N(0, 1); dense features are p_u D + N(0, 0.3^2) (activity statistics). Each user
clicks 20 distinct items drawn without replacement with probabilities softmax(2 p_u.q_i / sqrt(8)
+ b_i). Four clicks per user (chosen at random) are held out; the model never sees them.

Model: user tower = three embedding tables (8 wide) + the dense features -> Linear(88, 32) ->
ReLU -> Linear(32, 16); item tower = an item embedding table (400 x 16); score = dot product.
Trained with a full softmax over the 400 items on the training clicks (Adam, 40 epochs).

Usage: /usr/bin/python3 scripts/make_recsys.py [--out-dir configs/networks/recsys]
       [--cimtlm build/cimtlm]   (then runs cimtlm quantize on the two networks)
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch

SEED = 20230209  # the seed abstract's publication date
USERS, ITEMS, LATENT = 600, 400, 8
FEATURES = [("age_band", 6), ("region", 10), ("device", 4)]
DENSE, EMBED, BEHAVIOUR = 64, 8, 16
CLICKS, HELDOUT = 20, 4


def generate(rng):
    p = rng.normal(size=(USERS, LATENT))
    q = rng.normal(size=(ITEMS, LATENT))
    bias = rng.normal(scale=0.5, size=ITEMS)
    categorical = np.zeros((USERS, len(FEATURES)), dtype=np.int64)
    for f, (_, cardinality) in enumerate(FEATURES):
        w = rng.normal(size=(LATENT, cardinality))
        gumbel = -np.log(-np.log(rng.uniform(1e-9, 1.0, size=(USERS, cardinality))))
        categorical[:, f] = np.argmax(p @ w + gumbel, axis=1)
    d = rng.normal(size=(LATENT, DENSE)) / np.sqrt(LATENT)
    dense = (p @ d + rng.normal(scale=0.3, size=(USERS, DENSE))).astype(np.float32)
    train, heldout = [], []
    for u in range(USERS):
        logits = 2.0 * (q @ p[u]) / np.sqrt(LATENT) + bias
        prob = np.exp(logits - logits.max())
        prob /= prob.sum()
        items = rng.choice(ITEMS, size=CLICKS, replace=False, p=prob)
        held = set(rng.choice(CLICKS, size=HELDOUT, replace=False).tolist())
        for k, item in enumerate(items):
            (heldout if k in held else train).append((u, int(item)))
    return categorical, dense, np.array(train, np.int64), np.array(heldout, np.int64)


class UserMlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(len(FEATURES) * EMBED + DENSE, 32)
        self.fc2 = torch.nn.Linear(32, BEHAVIOUR)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class UserTower(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.tables = torch.nn.ModuleList(
            [torch.nn.Embedding(cardinality, EMBED) for _, cardinality in FEATURES])
        self.mlp = UserMlp()

    def mlp_input(self, categorical, dense):
        rows = [table(categorical[:, f]) for f, table in enumerate(self.tables)]
        return torch.cat(rows + [dense], dim=1)

    def forward(self, categorical, dense):
        return self.mlp(self.mlp_input(categorical, dense))


class ItemScores(torch.nn.Module):
    def __init__(self, items):
        super().__init__()
        self.items_t = torch.nn.Parameter(items.t().contiguous())

    def forward(self, behaviour):
        return behaviour @ self.items_t


def snap_to_int8_grid(weight):
    """Values of an embedding table on its symmetric 8-bit grid (what the OS memory holds)."""
    scale = weight.abs().max() / 127.0
    return torch.round(weight / scale).clamp(-127, 127) * scale


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out-dir", default=os.path.join(root, "configs", "networks", "recsys"))
    parser.add_argument("--cimtlm", default=os.path.join(root, "build", "cimtlm"))
    parser.add_argument("--platform", default=os.path.join(root, "configs", "platforms",
                                                           "recsys_client.yaml"))
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(SEED)
    categorical, dense, train, heldout = generate(rng)

    tower, items = UserTower(), torch.nn.Embedding(ITEMS, BEHAVIOUR)
    optimizer = torch.optim.Adam(list(tower.parameters()) + list(items.parameters()), lr=0.01)
    cat_t, dense_t = torch.from_numpy(categorical), torch.from_numpy(dense)
    batch = 256
    for epoch in range(args.epochs):
        order = torch.from_numpy(rng.permutation(len(train)))
        total = 0.0
        for start in range(0, len(order), batch):
            rows = torch.from_numpy(train[order[start:start + batch].numpy()])
            users, clicked = rows[:, 0], rows[:, 1]
            u = tower(cat_t[users], dense_t[users])
            logits = u @ items.weight.t()  # full softmax over the 400 items
            loss = torch.nn.functional.cross_entropy(logits, clicked)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss) * len(rows)
        if epoch % 10 == 9:
            print(f"epoch {epoch + 1}: loss {total / len(train):.4f}")

    with torch.no_grad():
        for table in tower.tables:
            table.weight.copy_(snap_to_int8_grid(table.weight))
    tower.eval()

    out = args.out_dir
    os.makedirs(os.path.join(out, "tables"), exist_ok=True)
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    for (name, _), table in zip(FEATURES, tower.tables):
        np.save(os.path.join(out, "tables", name + ".npy"),
                table.weight.detach().numpy().astype(np.float32))
    np.save(os.path.join(out, "data", "users_categorical.npy"), categorical)
    np.save(os.path.join(out, "data", "users_dense.npy"), dense)
    np.save(os.path.join(out, "data", "train.npy"), train)
    np.save(os.path.join(out, "data", "heldout.npy"), heldout)
    train_users = np.unique(train[:, 0])[:128]
    with torch.no_grad():
        mlp_in = tower.mlp_input(cat_t[train_users], dense_t[train_users])
        behaviour = tower.mlp(mlp_in)
    np.save(os.path.join(out, "data", "mlp_calib.npy"), mlp_in.numpy().astype(np.float32))
    np.save(os.path.join(out, "data", "score_calib.npy"), behaviour.numpy().astype(np.float32))

    export = dict(opset_version=13, do_constant_folding=True)
    torch.onnx.export(tower, (cat_t[:1], dense_t[:1]), os.path.join(out, "user_tower.onnx"),
                      input_names=["categorical", "dense"], output_names=["behaviour"], **export)
    torch.onnx.export(tower.mlp, mlp_in[:1], os.path.join(out, "user_mlp.onnx"),
                      input_names=["features"], output_names=["behaviour"], **export)
    scores = ItemScores(items.weight.detach().clone())
    torch.onnx.export(scores, behaviour[:1], os.path.join(out, "item_scores.onnx"),
                      input_names=["behaviour"], output_names=["scores"], **export)

    # Float quality on the held-out clicks (the quantized figures come from the simulation).
    with torch.no_grad():
        all_scores = (tower(cat_t, dense_t) @ items.weight.t()).numpy()
    k = 10
    top = np.argsort(-all_scores, axis=1, kind="stable")[:, :k]
    hits = [item in top[user] for user, item in heldout]
    print(f"float model: hit rate@{k} on {len(heldout)} held-out clicks {np.mean(hits):.4f}")

    if args.cimtlm:
        for name, calib in (("user_mlp", "mlp_calib"), ("item_scores", "score_calib")):
            subprocess.run([args.cimtlm, "quantize", os.path.join(out, name + ".onnx"),
                            "--calib", os.path.join(out, "data", calib + ".npy"),
                            "--policy", "int8", "--no-simulate",
                            "-o", os.path.join(out, name + ".q.onnx")], check=True)
            # The report names host paths and the time: not part of the reproducible outputs.
            os.remove(os.path.join(out, name + ".q.report.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
