"""Optimizer-based pruner (seed "Optimizer based prunner for neural networks").

The pruner knows nothing about the architecture it prunes. It works on two vectors only: the
flattened parameter vector theta of the whole model and the gradient g of the loss with respect to
theta (torch.nn.utils.parameters_to_vector of the parameters and of their .grad). Each step

    1. updates theta from g with a first-order rule (Adam or SGD with momentum), and
    2. applies the proximal operator of a preconfigured sparsity penalty to the whole vector,
       which zeroes as many parameters as that penalty allows:
         L1Penalty(strength)        soft thresholding  (prox of strength * ||theta||_1)
         L0Penalty(strength)        hard thresholding  (prox of strength * ||theta||_0)
         SparsityBudget(fraction)   keep the largest entries (projection onto ||theta||_0 <= k),
                                    the budget ramped up over the first steps
         FixedMask(mask)            keep a support found earlier (re-learning a pruned model)

Structured variants apply the same operators to groups instead of single entries (group norm,
as in group lasso), so that whole CIM array rows and columns become zero and the cimtlm mapper can
drop them. The groups come from parameter shapes alone: every prunable tensor W (dim >= 2) is seen
as the matrix W.reshape(out, -1), the layout both Conv and Linear weights have in PyTorch and the
one the mapper puts into the array (one output channel per logical array column, one input
element (channel, ky, kx) per array row):
    structure "element"        single entries (unstructured)
    structure "output"         rows of that matrix: whole output channels  (array columns)
    structure "input"          columns of that matrix: whole input elements (array rows)
    structure "input+output"   both kinds of groups compete for the same budget

Which entries may be pruned is a boolean mask over theta; by default every parameter tensor of
dim >= 2 (weights; biases and normalisation scales stay). Nothing here is specific to a model:
give the pruner any torch.nn.Module, compute a loss, call loss.backward() and pruner.step().

Deterministic: no randomness inside the pruner; ties in the budget ranking are broken by index.
"""
import math
from dataclasses import dataclass
from typing import Callable, List, Optional

import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

STRUCTURES = ("element", "output", "input", "input+output")


# ---------------------------------------------------------------------------------------------
# Penalties: each is a proximal operator on the flat parameter vector.


@dataclass
class L1Penalty:
    """strength * sum |theta_i| (or group lasso: strength * sum sqrt(|g|) ||theta_g||_2).

    Prox with step size eta: soft thresholding by eta * strength (groups: shrink the group norm by
    eta * strength * sqrt(|g|), zero the group when its norm is below that)."""
    strength: float


@dataclass
class L0Penalty:
    """strength * (number of non-zero entries), groups: strength * |g| per non-zero group.

    Prox with step size eta: hard thresholding; an entry survives when theta_i^2 / 2 > eta *
    strength, a group when its mean square / 2 > eta * strength."""
    strength: float


@dataclass
class SparsityBudget:
    """Indicator of 'at most (1 - sparsity) of the prunable entries are non-zero'.

    Prox: keep the entries (groups: by root-mean-square) of largest magnitude and zero the rest, so
    exactly `sparsity` of the prunable entries are zero (groups: at least, by less than one group).
    The budget grows from `start_sparsity` to `sparsity` over `ramp_steps` steps on the cubic
    schedule of Zhu & Gupta (2017), which prunes fast while many small weights remain."""
    sparsity: float
    ramp_steps: int = 0
    start_sparsity: float = 0.0

    def at_step(self, step: int) -> float:
        if self.ramp_steps <= 0 or step >= self.ramp_steps:
            return self.sparsity
        progress = step / self.ramp_steps
        return self.sparsity + (self.start_sparsity - self.sparsity) * (1.0 - progress) ** 3


@dataclass
class FixedMask:
    """Keep the support of `mask` (a bool vector over theta): zeros stay zero while re-learning."""
    mask: torch.Tensor


# ---------------------------------------------------------------------------------------------


@dataclass
class _Block:
    """One prunable parameter tensor inside the flat vector, seen as an (out, rest) matrix."""
    name: str
    offset: int
    rows: int  # output channels
    cols: int  # input elements per output channel

    @property
    def size(self) -> int:
        return self.rows * self.cols


def default_prunable(name: str, parameter: torch.nn.Parameter) -> bool:
    """Weights of layers (dim >= 2); biases and normalisation parameters are kept."""
    return parameter.dim() >= 2


class OptimizerPruner:
    """Prunes `model` while it trains: call loss.backward(), then step().

    model       any torch.nn.Module
    penalty     L1Penalty | L0Penalty | SparsityBudget | FixedMask
    structure   "element" | "output" | "input" | "input+output" (ignored by FixedMask)
    optimizer   "adam" (default) or "sgd" (with `momentum`); `lr` is the step size eta of both the
                update and the proximal operator
    prunable    predicate(name, parameter) choosing the tensors that may be pruned
    """

    def __init__(self, model: torch.nn.Module, penalty, structure: str = "element",
                 optimizer: str = "adam", lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 momentum: float = 0.9, weight_decay: float = 0.0,
                 prunable: Callable[[str, torch.nn.Parameter], bool] = default_prunable):
        if structure not in STRUCTURES:
            raise ValueError(f"structure must be one of {STRUCTURES}, not {structure!r}")
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be adam or sgd, not {optimizer!r}")
        self.model = model
        self.penalty = penalty
        self.structure = structure
        self.optimizer = optimizer
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.parameters: List[torch.nn.Parameter] = [p for p in model.parameters() if p.requires_grad]
        names = {id(p): n for n, p in model.named_parameters()}

        self.blocks: List[_Block] = []
        prunable_mask = []
        offset = 0
        for parameter in self.parameters:
            name = names.get(id(parameter), "?")
            chosen = bool(prunable(name, parameter))
            prunable_mask.append(torch.full((parameter.numel(),), chosen, dtype=torch.bool))
            if chosen:
                rows = parameter.shape[0] if parameter.dim() >= 2 else 1
                self.blocks.append(_Block(name, offset, rows, parameter.numel() // rows))
            offset += parameter.numel()
        self.prunable = torch.cat(prunable_mask) if prunable_mask else torch.zeros(0, dtype=torch.bool)
        self.prunable_count = int(self.prunable.sum())
        if self.prunable_count == 0:
            raise ValueError("the model has no prunable parameters")

        theta = self.vector()
        self.first_moment = torch.zeros_like(theta)
        self.second_moment = torch.zeros_like(theta)
        self.steps = 0

    # -- the two vectors the pruner works on ----------------------------------------------------

    def vector(self) -> torch.Tensor:
        """The flattened parameter vector theta (a copy)."""
        return parameters_to_vector(self.parameters).detach().clone()

    def gradient(self) -> torch.Tensor:
        """The flattened gradient of the loss (zeros where a parameter got no gradient)."""
        return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                          for p in self.parameters]).detach()

    # -- one step --------------------------------------------------------------------------------

    @torch.no_grad()
    def step(self) -> None:
        theta = self.vector()
        gradient = self.gradient()
        self.steps += 1
        if self.optimizer == "adam":
            beta1, beta2 = self.betas
            self.first_moment.mul_(beta1).add_(gradient, alpha=1.0 - beta1)
            self.second_moment.mul_(beta2).addcmul_(gradient, gradient, value=1.0 - beta2)
            m_hat = self.first_moment / (1.0 - beta1 ** self.steps)
            v_hat = self.second_moment / (1.0 - beta2 ** self.steps)
            update = m_hat / (v_hat.sqrt() + self.eps)
        else:
            self.first_moment.mul_(self.momentum).add_(gradient)
            update = self.first_moment
        if self.weight_decay:
            theta.mul_(1.0 - self.lr * self.weight_decay)  # decoupled (AdamW-style)
        theta.sub_(update, alpha=self.lr)
        theta = self.proximal(theta, self.lr)
        vector_to_parameters(theta, self.parameters)

    @torch.no_grad()
    def apply_penalty(self) -> None:
        """Apply the penalty's proximal operator once without an update (e.g. before evaluation)."""
        vector_to_parameters(self.proximal(self.vector(), self.lr), self.parameters)

    # -- proximal operators on the whole vector -------------------------------------------------

    def proximal(self, theta: torch.Tensor, step_size: float) -> torch.Tensor:
        penalty = self.penalty
        if isinstance(penalty, FixedMask):
            return theta * penalty.mask.to(theta.dtype)
        if self.structure == "element":
            return self._element_prox(theta, step_size)
        return self._group_prox(theta, step_size)

    def _element_prox(self, theta: torch.Tensor, step_size: float) -> torch.Tensor:
        penalty = self.penalty
        magnitude = theta.abs()
        if isinstance(penalty, L1Penalty):
            shrunk = torch.sign(theta) * torch.clamp(magnitude - step_size * penalty.strength, min=0.0)
            return torch.where(self.prunable, shrunk, theta)
        if isinstance(penalty, L0Penalty):
            threshold = math.sqrt(2.0 * step_size * penalty.strength)
            return torch.where(self.prunable & (magnitude <= threshold), torch.zeros_like(theta), theta)
        if isinstance(penalty, SparsityBudget):
            zero_count = int(round(penalty.at_step(self.steps) * self.prunable_count))
            if zero_count <= 0:
                return theta
            # Rank prunable entries by magnitude; stable sort breaks ties by index (deterministic).
            candidates = torch.nonzero(self.prunable, as_tuple=False).reshape(-1)
            order = torch.sort(magnitude[candidates], stable=True).indices
            result = theta.clone()
            result[candidates[order[:zero_count]]] = 0.0
            return result
        raise TypeError(f"unknown penalty {penalty!r}")

    def _groups(self, theta: torch.Tensor):
        """(block, axis, index, group size, root-mean-square) of every structural group."""
        groups = []
        use_output = self.structure in ("output", "input+output")
        use_input = self.structure in ("input", "input+output")
        for block_index, block in enumerate(self.blocks):
            matrix = theta[block.offset:block.offset + block.size].view(block.rows, block.cols)
            if use_output:
                rms = matrix.pow(2).mean(dim=1).sqrt()
                groups += [(block_index, 0, i, block.cols, float(rms[i])) for i in range(block.rows)]
            if use_input:
                rms = matrix.pow(2).mean(dim=0).sqrt()
                groups += [(block_index, 1, j, block.rows, float(rms[j])) for j in range(block.cols)]
        return groups

    def _group_prox(self, theta: torch.Tensor, step_size: float) -> torch.Tensor:
        penalty = self.penalty
        result = theta.clone()
        if isinstance(penalty, SparsityBudget):
            target = int(math.ceil(penalty.at_step(self.steps) * self.prunable_count - 1e-9))
            if target <= 0:
                return result
            groups = self._groups(theta)
            # Weakest groups first (stable: ties keep their order); count the union of zeroed
            # rows and columns of each matrix so overlapping groups are not counted twice.
            groups.sort(key=lambda group: group[4])
            zeroed_rows = [0] * len(self.blocks)
            zeroed_cols = [0] * len(self.blocks)
            chosen = []
            zero_count = 0
            for block_index, axis, index, _, _ in groups:
                if zero_count >= target:
                    break
                block = self.blocks[block_index]
                if axis == 0:
                    zero_count += block.cols - zeroed_cols[block_index]
                    zeroed_rows[block_index] += 1
                else:
                    zero_count += block.rows - zeroed_rows[block_index]
                    zeroed_cols[block_index] += 1
                chosen.append((block_index, axis, index))
            for block_index, axis, index in chosen:
                block = self.blocks[block_index]
                matrix = result[block.offset:block.offset + block.size].view(block.rows, block.cols)
                if axis == 0:
                    matrix[index, :] = 0.0
                else:
                    matrix[:, index] = 0.0
            return result
        for block in self.blocks:
            matrix = result[block.offset:block.offset + block.size].view(block.rows, block.cols)
            for axis in self._axes():
                # Group along `axis`: axis 0 groups are rows (reduce over dim 1) and vice versa.
                reduce_dim = 1 - axis
                size = matrix.shape[reduce_dim]
                norm = matrix.pow(2).sum(dim=reduce_dim, keepdim=True).sqrt()
                if isinstance(penalty, L1Penalty):
                    threshold = step_size * penalty.strength * math.sqrt(size)
                    scale = torch.clamp(1.0 - threshold / torch.clamp(norm, min=1e-30), min=0.0)
                    matrix.mul_(scale)
                elif isinstance(penalty, L0Penalty):
                    mean_square = norm.pow(2) / size
                    matrix.mul_((mean_square > 2.0 * step_size * penalty.strength).to(matrix.dtype))
                else:
                    raise TypeError(f"unknown penalty {penalty!r}")
        return result

    def _axes(self):
        return {"output": (0,), "input": (1,), "input+output": (0, 1)}[self.structure]

    # -- what has been pruned ------------------------------------------------------------------

    def mask(self) -> torch.Tensor:
        """Bool vector over theta: True where a parameter is kept (non-zero or not prunable)."""
        return (self.vector() != 0) | ~self.prunable

    def fixed_mask_penalty(self) -> FixedMask:
        return FixedMask(self.mask())

    def sparsity(self) -> float:
        """Fraction of the prunable parameters that are exactly zero."""
        theta = self.vector()
        return float(((theta == 0) & self.prunable).sum()) / self.prunable_count

    def report(self) -> List[dict]:
        """Per prunable tensor: zeros, and whole-zero output channels / input elements."""
        theta = self.vector()
        rows = []
        for block in self.blocks:
            matrix = theta[block.offset:block.offset + block.size].view(block.rows, block.cols)
            zero = matrix == 0
            rows.append({"tensor": block.name, "shape": [block.rows, block.cols],
                         "zeros": int(zero.sum()), "size": block.size,
                         "zero_output_channels": int(zero.all(dim=1).sum()),
                         "zero_input_elements": int(zero.all(dim=0).sum())})
        return rows


def structured_zero_fraction(report: List[dict]) -> float:
    """Fraction of prunable entries that lie in an all-zero output channel or input element."""
    covered = 0
    total = 0
    for row in report:
        out, rest = row["shape"]
        zero_rows, zero_cols = row["zero_output_channels"], row["zero_input_elements"]
        covered += zero_rows * rest + zero_cols * out - zero_rows * zero_cols
        total += row["size"]
    return covered / total if total else 0.0


def make_penalty(kind: str, value: float, ramp_steps: int = 0, start_sparsity: float = 0.0):
    """Penalty from a command-line style (kind, value) pair: l1 / l0 strength or budget fraction."""
    if kind == "l1":
        return L1Penalty(value)
    if kind == "l0":
        return L0Penalty(value)
    if kind == "budget":
        if not 0.0 <= value < 1.0:
            raise ValueError(f"a sparsity budget is a fraction in [0, 1), not {value}")
        return SparsityBudget(value, ramp_steps, start_sparsity)
    raise ValueError(f"penalty must be l1, l0 or budget, not {kind!r}")


def prune(model: torch.nn.Module, loss_fn, batches, penalty, structure: str = "element",
          epochs: int = 1, lr: float = 1e-3, optimizer: str = "adam", prunable=default_prunable,
          pruner: Optional[OptimizerPruner] = None) -> OptimizerPruner:
    """Train `model` under `penalty` for `epochs` passes over `batches`: a torch DataLoader (any
    re-iterable of (inputs, targets)) or a function epoch -> such an iterable. Returns the pruner
    (its mask, sparsity and report). Give `pruner` to continue with an existing one."""
    if pruner is None:
        pruner = OptimizerPruner(model, penalty, structure=structure, optimizer=optimizer, lr=lr,
                                 prunable=prunable)
    model.train()
    for epoch in range(epochs):
        for inputs, targets in (batches(epoch) if callable(batches) else batches):
            model.zero_grad(set_to_none=True)
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            pruner.step()
    model.eval()
    return pruner


def export_onnx(model: torch.nn.Module, example_inputs, path: str, **export_options) -> None:
    """Export the pruned model (zeros are plain zeros in the initializers) for `cimtlm quantize`."""
    model.eval()
    options = {"opset_version": 13, "do_constant_folding": True}
    options.update(export_options)
    torch.onnx.export(model, example_inputs, path, **options)
