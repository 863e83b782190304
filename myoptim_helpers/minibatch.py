"""Train a real network on minibatches and record what happened; nothing here prints or plots.

- :func:`lr_sweep` trains one copy of a model per learning rate, side by side,
  and returns a :class:`Sweep` (losses per step and per epoch, validation
  accuracy, where each copy diverged).
- :func:`lr_range_test` is the learning-rate range test (Smith 2017, fastai's
  ``lr_find``): an exponential lr sweep over one short run, returned as a
  :class:`RangeTest`, with the model and optimizer restored afterwards.
- :func:`gradient_noise` measures how far minibatch gradients scatter around
  the full-batch gradient, per batch size, as a :class:`GradientNoise`.

``myoptim_helpers.plotting`` draws these records (``plot_sweep``,
``plot_lr_range_test``, ``plot_gradient_noise``, ``plot_best_lr``).
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .training._arguments import check_lr, check_steps, make_scheduler, split_dataset
from .training._progress import Progress

__all__ = ["Sweep", "lr_sweep", "RangeTest", "lr_range_test", "GradientNoise", "gradient_noise", "accuracy"]


def accuracy(model: torch.nn.Module, x: Tensor, y: Tensor) -> float:
    """Return the fraction of rows of ``x`` whose largest logit is the label ``y`` (the model in eval mode, no grad)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        value = (model(x).argmax(dim=-1) == y).double().mean().item()
    model.train(was_training)
    return value


def _check_seed(seed) -> None:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r} ({type(seed).__name__})")


def _copies(model, count: int, seed: int) -> list[torch.nn.Module]:
    """``count`` models with the same initial weights.

    A factory is called with torch seeded by ``seed`` each time; a model is deep-copied.
    """
    copies = []
    with torch.random.fork_rng(devices=[]):
        for _ in range(count):
            if isinstance(model, torch.nn.Module):
                copies.append(copy.deepcopy(model))
                continue
            if not callable(model):
                raise TypeError(f"model must be a torch.nn.Module or a factory () -> Module, got {model!r}")
            torch.manual_seed(seed)
            net = model()
            if not isinstance(net, torch.nn.Module):
                raise TypeError(f"the model factory returned {type(net).__name__}, not a torch.nn.Module")
            copies.append(net)
    return copies


# Layers that act on each number alone, so they give the same result on the stacked (copies, rows,
# features) tensor as on each copy's (rows, features). A layer that looks along a dimension
# (LogSoftmax(dim=1), Flatten, a norm) would read the wrong one there, so it is not listed.
_ELEMENTWISE = (
    torch.nn.ReLU,
    torch.nn.Tanh,
    torch.nn.Sigmoid,
    torch.nn.GELU,
    torch.nn.SiLU,
    torch.nn.LeakyReLU,
    torch.nn.ELU,
    torch.nn.Identity,
)


def _stackable(models: list[torch.nn.Module]) -> bool:
    """Whether the copies are ``Sequential`` stacks of ``Linear`` layers (with bias) and elementwise layers."""
    first = models[0]
    if not isinstance(first, torch.nn.Sequential):
        return False
    for layer in first:
        if isinstance(layer, torch.nn.Linear):
            if layer.bias is None:
                return False
        elif type(layer) not in _ELEMENTWISE:
            return False
    return True


def _forward_all(models: list[torch.nn.Module], x: Tensor, stacked: bool) -> Tensor:
    """Every copy's output on the same input, shape ``(K, rows, ...)``.

    For a stack of Linear layers the K copies run as one batched matrix product
    per layer (``baddbmm`` on the copies' weights stacked along a new first
    dimension): the same arithmetic as K separate forward passes, at the cost
    of about one. The weights stay separate leaf tensors, so each copy can sit
    in its own param group with its own learning rate.
    """
    if not stacked:
        return torch.stack([m(x) for m in models])
    h = x.unsqueeze(0).expand(len(models), *x.shape)
    for layers in zip(*models):
        if isinstance(layers[0], torch.nn.Linear):
            weight = torch.stack([layer.weight for layer in layers])
            bias = torch.stack([layer.bias for layer in layers])
            h = torch.baddbmm(bias.unsqueeze(1), h, weight.transpose(1, 2))
        else:
            h = layers[0](h)  # parameter-free and elementwise: shared by all copies
    return h


def _losses(outputs: Tensor, y: Tensor, loss_fn) -> Tensor:
    """Each copy's mean loss, shape ``(K,)``."""
    if loss_fn is None:
        k, rows = outputs.shape[:2]
        flat = torch.nn.functional.cross_entropy(
            outputs.reshape(k * rows, *outputs.shape[2:]), y.repeat(k), reduction="none"
        )
        return flat.view(k, rows).mean(dim=1)
    return torch.stack([loss_fn(out, y) for out in outputs])


@dataclass(frozen=True, eq=False)
class Sweep:
    """What :func:`lr_sweep` recorded: one row per learning rate.

    With ``K`` learning rates, ``E`` epochs and ``S`` optimizer steps:

    - ``lrs``: shape ``(K,)``, float64, the learning rate of each copy.
    - ``step_losses``: ``(K, S)``, the minibatch loss at every step (before
      that step's update).
    - ``train_losses``, ``val_losses``, ``val_accuracy``: ``(K, E + 1)``,
      on the whole training or validation set before training (column 0) and
      after each epoch. A copy whose loss became inf or NaN has NaN from then on.
    - ``diverged_at``: per copy, the first step whose loss was not finite, or ``None``.

    All values are float64 Python-side numbers in tensors; ``label``,
    ``batch_size`` and ``hyperparameters`` say what was run.
    """

    lrs: Tensor
    step_losses: Tensor
    train_losses: Tensor
    val_losses: Tensor
    val_accuracy: Tensor
    diverged_at: tuple
    batch_size: int
    label: str
    optimizer: str
    hyperparameters: dict = field(repr=False)

    def __len__(self) -> int:
        """Return the number of learning rates (copies trained)."""
        return self.lrs.shape[0]

    @property
    def epochs(self) -> int:
        """The number of epochs each copy trained."""
        return self.train_losses.shape[1] - 1

    @property
    def final_val_accuracy(self) -> Tensor:
        """The validation accuracy after the last epoch, shape ``(K,)`` (NaN for a diverged copy)."""
        return self.val_accuracy[:, -1]

    @property
    def final_train_loss(self) -> Tensor:
        """The training loss after the last epoch, shape ``(K,)`` (NaN for a diverged copy)."""
        return self.train_losses[:, -1]

    def best(self, metric: str = "val_accuracy") -> int:
        """Return the index of the best learning rate by ``metric``.

        ``"val_accuracy"`` (highest), ``"train_loss"`` or ``"val_loss"`` (lowest).
        """
        values = self._metric(metric)
        if torch.isnan(values).all():
            raise ValueError("every copy diverged: no best learning rate")
        if metric == "val_accuracy":
            return int(torch.nan_to_num(values, nan=-math.inf).argmax())
        return int(torch.nan_to_num(values, nan=math.inf).argmin())

    def best_lr(self, metric: str = "val_accuracy") -> float:
        """The learning rate at :meth:`best`."""
        return float(self.lrs[self.best(metric)])

    def good_band(self, within: float = 0.02) -> tuple[float, float]:
        """Return ``(lowest, highest)`` learning rate whose final validation accuracy is within ``within`` of the best.

        The band is the contiguous run of grid points around the best one
        (a lucky isolated point elsewhere does not widen it).
        """
        acc = torch.nan_to_num(self.final_val_accuracy, nan=-math.inf)
        best = self.best("val_accuracy")
        good = acc >= acc[best] - within
        low = high = best
        while low > 0 and good[low - 1]:
            low -= 1
        while high < len(self) - 1 and good[high + 1]:
            high += 1
        return float(self.lrs[low]), float(self.lrs[high])

    def band_decades(self, within: float = 0.02) -> float:
        """The width of :meth:`good_band` in decades, ``log10(highest / lowest)``."""
        low, high = self.good_band(within)
        return math.log10(high / low)

    def _metric(self, metric: str) -> Tensor:
        table = {
            "val_accuracy": self.final_val_accuracy,
            "train_loss": self.final_train_loss,
            "val_loss": self.val_losses[:, -1],
        }
        if metric not in table:
            raise ValueError(f"metric must be one of {', '.join(repr(k) for k in table)}, got {metric!r}")
        return table[metric]


def _check_lrs(lrs) -> list[float]:
    if isinstance(lrs, Tensor):
        lrs = lrs.tolist()
    if isinstance(lrs, (str, bytes)) or not isinstance(lrs, Sequence) or len(lrs) == 0:
        raise TypeError(f"lrs must be a non-empty sequence of learning rates, got {lrs!r}")
    for lr in lrs:
        check_lr(lr)
    return [float(lr) for lr in lrs]


def _make_grouped_optimizer(optimizer, groups: list[dict], optimizer_kwargs: dict):
    if "lr" in optimizer_kwargs:
        raise TypeError("lr_sweep sets each copy's lr from `lrs`; do not pass lr=")
    if isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError("pass an optimizer class (e.g. torch.optim.SGD) or a factory param_groups -> optimizer")
    if isinstance(optimizer, type):
        if not issubclass(optimizer, torch.optim.Optimizer):
            raise TypeError(f"{optimizer.__name__} is not a torch.optim.Optimizer subclass")
        return optimizer(groups, **optimizer_kwargs)
    if callable(optimizer):
        if optimizer_kwargs:
            raise TypeError("keyword arguments are for an optimizer class; a factory must set them itself")
        opt = optimizer(groups)
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError(f"the optimizer factory returned {type(opt).__name__}, not a torch.optim.Optimizer")
        return opt
    raise TypeError(f"optimizer must be an optimizer class or a factory, got {optimizer!r}")


@torch.enable_grad()
def lr_sweep(
    model,
    optimizer,
    dataset,
    lrs: Sequence[float],
    epochs: int,
    *,
    batch_size: int,
    loss_fn: Callable | None = None,
    scheduler: Callable | None = None,
    seed: int = 0,
    progress: bool | None = None,
    label: str | None = None,
    **optimizer_kwargs,
) -> Sweep:
    """Train one copy of ``model`` per learning rate in ``lrs`` and return the :class:`Sweep`.

    Every copy starts from the same weights (``model`` is a factory called
    with torch seeded by ``seed``, or a module that is deep-copied) and sees
    the same minibatches, reshuffled every epoch from ``seed``: the copies
    differ only in their learning rate. They are trained side by side: one
    optimizer holds each copy in its own param group (``{"params": copy's
    parameters, "lr": lr}``), and one batched forward pass computes every
    copy's loss. The copies never interact: the summed loss's gradient with
    respect to one copy's weights is that copy's own gradient, so each row is
    the run a separate :func:`~myoptim_helpers.training.fit` would give (a
    test checks it to 1e-10 in float64).

    Args:
        model: a factory ``() -> Module`` or a ``Module``.
        optimizer: an optimizer class with ``optimizer_kwargs`` (not ``lr``),
            or a factory ``param_groups -> optimizer``.
        dataset: ``(x_train, y_train, x_val, y_val)``, e.g. :func:`myoptim_helpers.problems.digits`.
        lrs: the learning rates, one copy each.
        epochs: passes over the training data.
        batch_size: rows per minibatch; the last batch of an epoch may be smaller.
        loss_fn: ``loss_fn(output, target)``; ``cross_entropy`` by default.
        scheduler: a factory ``optimizer -> scheduler`` stepped once per epoch
            (a ``LambdaLR`` with one function per group gives each copy its own schedule).
        progress: ``True`` shows a ``tqdm.auto`` bar over the epochs, ``False``
            none, ``None`` one only for runs projected past a few seconds.
    """
    lrs = _check_lrs(lrs)
    check_steps(epochs, "epochs")
    check_steps(batch_size, "batch_size")
    _check_seed(seed)
    x_train, y_train, x_val, y_val = split_dataset(dataset)
    if x_val is None:
        raise ValueError("lr_sweep needs validation data: dataset = (x_train, y_train, x_val, y_val)")
    models = _copies(model, len(lrs), seed)
    stacked = _stackable(models)
    groups = [{"params": list(m.parameters()), "lr": lr} for m, lr in zip(models, lrs)]
    opt = _make_grouped_optimizer(optimizer, groups, optimizer_kwargs)
    sched = make_scheduler(scheduler, opt)
    shuffle = torch.Generator().manual_seed(seed)
    n = x_train.shape[0]
    k = len(models)

    def evaluate():
        with torch.no_grad():
            train = _losses(_forward_all(models, x_train, stacked), y_train, loss_fn)
            out = _forward_all(models, x_val, stacked)
            val = _losses(out, y_val, loss_fn)
            acc = (out.argmax(dim=-1) == y_val).double().mean(dim=1)
        alive = torch.tensor([d is None for d in diverged], dtype=torch.bool)
        alive &= torch.isfinite(train) & torch.isfinite(val)
        nan = torch.tensor(math.nan, dtype=torch.float64)
        return [torch.where(alive, t.double(), nan) for t in (train, val, acc)]

    diverged: list[int | None] = [None] * k
    step_losses: list[Tensor] = []
    columns = [evaluate()]
    name = type(opt).__name__
    label = label if label is not None else f"{name}, batch {batch_size}"
    bar = Progress(progress, epochs, label)
    try:
        for epoch in range(1, epochs + 1):
            order = torch.randperm(n, generator=shuffle)
            for first in range(0, n, batch_size):
                idx = order[first : first + batch_size]
                opt.zero_grad()
                losses = _losses(_forward_all(models, x_train[idx], stacked), y_train[idx], loss_fn)
                values = losses.detach().double()
                step_losses.append(values)
                finite = torch.isfinite(values)
                if not bool(finite.all()):
                    for i in torch.nonzero(~finite).flatten().tolist():
                        if diverged[i] is None:
                            diverged[i] = len(step_losses)
                    if all(d is not None for d in diverged):
                        break
                # A diverged copy's NaN only reaches its own weights; the others train on.
                losses.sum().backward()
                opt.step()
            columns.append(evaluate())
            if all(d is not None for d in diverged):
                break
            if sched is not None:
                sched.step()
            bar.update(epoch, float(torch.nan_to_num(columns[-1][0], nan=math.inf).min()))
    finally:
        bar.close()
    while len(columns) < epochs + 1:  # every copy diverged: the remaining epochs are NaN
        columns.append([torch.full((k,), math.nan, dtype=torch.float64)] * 3)
    train, val, acc = (torch.stack([c[i] for c in columns], dim=1) for i in range(3))
    steps = torch.stack(step_losses, dim=1)
    for i, d in enumerate(diverged):
        if d is not None:
            steps[i, d - 1 :] = math.nan
    return Sweep(
        lrs=torch.tensor(lrs, dtype=torch.float64),
        step_losses=steps,
        train_losses=train,
        val_losses=val,
        val_accuracy=acc,
        diverged_at=tuple(diverged),
        batch_size=batch_size,
        label=label,
        optimizer=name,
        hyperparameters={key: v for key, v in opt.param_groups[0].items() if key not in ("params", "lr")},
    )


# ---------------------------------------------------------------------------
# The learning-rate range test
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RangeTest:
    """What :func:`lr_range_test` recorded, one entry per optimizer step taken.

    - ``lrs``: the learning rate of each step, growing exponentially.
    - ``losses``: the minibatch loss at each step, before its update.
    - ``smoothed``: the exponentially smoothed loss,
      ``s_0 = loss_0``, ``s_k = smooth_f · loss_k + (1 − smooth_f) · s_{k−1}``
      (``smooth_f = 0`` means no smoothing, ``s_k = loss_k``).
    - ``stopped_at``: the step (1-based) at which the smoothed loss passed
      ``diverge_th`` × its minimum so far, or the loss was not finite;
      ``None`` when the test ran all ``num_iter`` steps.
    - ``steepest``: the suggested lr, where the smoothed loss falls fastest
      (the most negative ``numpy.gradient`` of it, after dropping
      ``skip_start`` steps at the start and ``skip_end`` at the end).
    - ``minimum_over_10``: the lr of the lowest smoothed loss, divided by 10
      (fastai's rule: an order of magnitude below where the loss bottoms out).
    """

    lrs: Tensor
    losses: Tensor
    smoothed: Tensor
    stopped_at: int | None
    steepest: float
    minimum_over_10: float
    label: str
    smooth_f: float
    diverge_th: float
    skip_start: int
    skip_end: int

    def __len__(self) -> int:
        """Return the number of optimizer steps the test took."""
        return self.lrs.shape[0]

    @property
    def diverged(self) -> bool:
        """Whether the test stopped early because the loss blew up."""
        return self.stopped_at is not None


def _range_schedule(start_lr: float, end_lr: float, num_iter: int, k: int) -> float:
    # torch-lr-finder's ExponentialLR, in its order of operations, so that the
    # two give the same numbers: base · (end / base) ** (k / (num_iter − 1)).
    return start_lr * (end_lr / start_lr) ** (k / (num_iter - 1))


def _steepest(lrs: Tensor, smoothed: Tensor, skip_start: int, skip_end: int) -> float:
    import numpy as np

    end = len(lrs) - skip_end if skip_end else len(lrs)
    window = smoothed[skip_start:end].numpy()
    if window.size < 2:
        raise ValueError(
            f"the range test took {len(lrs)} steps: too few to suggest a learning rate after "
            f"skipping {skip_start} at the start and {skip_end} at the end (it needs "
            f"{skip_start + skip_end + 2}); raise num_iter or lower start_lr"
        )
    return float(lrs[skip_start:end][int(np.gradient(window).argmin())])


@torch.enable_grad()
def lr_range_test(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    dataset,
    *,
    batch_size: int,
    start_lr: float = 1e-5,
    end_lr: float = 10.0,
    num_iter: int = 100,
    smooth_f: float = 0.05,
    diverge_th: float = 5.0,
    skip_start: int = 10,
    skip_end: int = 5,
    loss_fn: Callable | None = None,
    seed: int = 0,
    label: str | None = None,
) -> RangeTest:
    """Run the learning-rate range test on ``model`` with ``optimizer``; return the :class:`RangeTest`.

    Step ``k`` (0-based) trains one minibatch at ``lr_k = start_lr ·
    (end_lr / start_lr) ** (k / (num_iter − 1))`` in every param group: an
    exponential sweep from ``start_lr`` to ``end_lr`` in ``num_iter`` steps.
    The loss of each batch is recorded before its update and smoothed
    exponentially (weight ``smooth_f`` on the new loss). The test stops early
    once the smoothed loss exceeds ``diverge_th`` times the lowest smoothed
    loss so far (that step is kept), or a loss is not finite.

    Afterwards the model's weights and the optimizer's state (its lrs,
    momentum buffers, step counts) are put back exactly as they were: the
    test only looks. The batches are those of ``DataLoader(TensorDataset(x, y),
    batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))``,
    reshuffled when the data runs out. The rule
    and the numbers are those of ``torch-lr-finder`` 0.2.2 (``LRFinder.range_test``
    and the "steepest gradient" suggestion of its ``plot``), which a test
    checks step for step.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    check_lr(start_lr)
    check_lr(end_lr)
    if not end_lr > start_lr:
        raise ValueError(f"end_lr must be larger than start_lr, got start_lr={start_lr}, end_lr={end_lr}")
    check_steps(num_iter, "num_iter")
    if num_iter < 2:
        raise ValueError(f"num_iter must be at least 2, got {num_iter}")
    check_steps(batch_size, "batch_size")
    if not (isinstance(smooth_f, numbers.Real) and 0 <= smooth_f < 1):
        raise ValueError(f"smooth_f must be in [0, 1), got {smooth_f!r}")
    if not (isinstance(diverge_th, numbers.Real) and diverge_th > 1):
        raise ValueError(f"diverge_th must be a number larger than 1, got {diverge_th!r}")
    for name, value in (("skip_start", skip_start), ("skip_end", skip_end)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    _check_seed(seed)
    x, y = split_dataset(dataset)[:2]
    loss_fn = loss_fn if loss_fn is not None else torch.nn.functional.cross_entropy

    saved_model = copy.deepcopy(model.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    was_training = model.training
    shuffle = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    batches: list[Tensor] = []
    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    stopped_at = None
    try:
        model.train()
        best = math.inf
        for k in range(num_iter):
            if not batches:
                # The generator draws of a DataLoader(shuffle=True, generator=g), so that the
                # batches are the very ones it (and torch-lr-finder) gives: its RandomSampler
                # draws one more permutation when a pass runs out, and each new pass first
                # draws an int64 for the workers' base seed, then the permutation it uses.
                if k > 0:
                    torch.randperm(n, generator=shuffle)
                torch.empty((), dtype=torch.int64).random_(generator=shuffle)
                order = torch.randperm(n, generator=shuffle)
                batches = [order[i : i + batch_size] for i in range(0, n, batch_size)][::-1]
            idx = batches.pop()
            lr = _range_schedule(start_lr, end_lr, num_iter, k)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
            value = float(loss.detach())
            # The average starts at the first loss, not at 0 (no bias to correct);
            # smooth_f = 0 turns smoothing off, as in torch-lr-finder.
            average = value if k == 0 or smooth_f == 0 else smooth_f * value + (1 - smooth_f) * smoothed[-1]
            lrs.append(lr)
            losses.append(value)
            smoothed.append(average)
            best = min(best, average)
            if not math.isfinite(average) or average > diverge_th * best:
                stopped_at = k + 1
                break
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        model.train(was_training)
    lrs_t = torch.tensor(lrs, dtype=torch.float64)
    smoothed_t = torch.tensor(smoothed, dtype=torch.float64)
    finite = torch.nan_to_num(smoothed_t, nan=math.inf, posinf=math.inf)
    return RangeTest(
        lrs=lrs_t,
        losses=torch.tensor(losses, dtype=torch.float64),
        smoothed=smoothed_t,
        stopped_at=stopped_at,
        steepest=_steepest(lrs_t, smoothed_t, skip_start, skip_end),
        minimum_over_10=float(lrs_t[int(finite.argmin())]) / 10,
        label=label if label is not None else type(optimizer).__name__,
        smooth_f=float(smooth_f),
        diverge_th=float(diverge_th),
        skip_start=skip_start,
        skip_end=skip_end,
    )


# ---------------------------------------------------------------------------
# Minibatch gradient noise
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GradientNoise:
    """What :func:`gradient_noise` measured at one point of the weights.

    - ``batch_sizes``: shape ``(M,)``.
    - ``variance``: ``(M,)``, the measured mean of ``‖g_B − g‖²`` over the draws,
      for minibatch gradients ``g_B`` of each size and the full-batch gradient ``g``.
    - ``per_example_variance``: ``σ² = mean_i ‖g_i − g‖²`` over the ``N``
      per-example gradients ``g_i`` (the ``B = 1`` value).
    - ``full_gradient_norm2``: ``‖g‖²``, the signal the noise is compared with.
    - ``n``: the number of training examples ``N``; ``draws``: the shuffled
      passes cut into batches (``N // B`` batches each).

    Batches are drawn without replacement, like the slices of a shuffled
    epoch, so the exact expectation is ``σ²/B · (N − B)/(N − 1)``
    (:meth:`expected`): about ``σ²/B`` for ``B ≪ N``, and 0 at ``B = N``.
    """

    batch_sizes: Tensor
    variance: Tensor
    per_example_variance: float
    full_gradient_norm2: float
    n: int
    draws: int

    def expected(self, batch_sizes=None, *, with_replacement: bool = False) -> Tensor:
        """``σ²/B`` (with replacement) or ``σ²/B · (N − B)/(N − 1)`` (without), for each batch size."""
        b = self.batch_sizes if batch_sizes is None else torch.as_tensor(batch_sizes, dtype=torch.float64)
        b = b.double()
        one_over_b = self.per_example_variance / b
        if with_replacement:
            return one_over_b
        return one_over_b * (self.n - b) / (self.n - 1)


def _per_example_gradients(model: torch.nn.Module, loss_fn, x: Tensor, y: Tensor) -> Tensor:
    """Every example's loss gradient, flattened in ``named_parameters`` order: shape ``(N, P)``.

    For a stack of Linear layers one backward pass gives them all: a Linear
    layer's weight gradient for example ``i`` is the outer product of the
    gradient at its output ``z_i`` and its input ``a_i`` (summing the losses
    makes ``∂L/∂z_i`` example ``i``'s own). Other models take one backward
    pass per example.
    """
    if not _stackable([model]):
        rows = []
        for xi, yi in zip(x, y):
            model.zero_grad()
            loss_fn(model(xi.unsqueeze(0)), yi.unsqueeze(0)).backward()
            rows.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]))
        model.zero_grad()
        return torch.stack(rows)
    inputs, outputs = [], []
    h = x
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            inputs.append(h)
            h = layer(h)
            h.retain_grad()
            outputs.append(h)
        else:
            h = layer(h)
    # A loss with reduction="mean" scales every example by 1/N: undo it, so row i is example i's gradient.
    (loss_fn(h, y) * x.shape[0]).backward(inputs=outputs)
    pieces = []
    for a, z in zip(inputs, outputs):
        pieces.append(torch.einsum("no,ni->noi", z.grad, a.detach()).reshape(x.shape[0], -1))
        pieces.append(z.grad)
    return torch.cat(pieces, dim=1)


def gradient_noise(
    model: torch.nn.Module,
    dataset,
    batch_sizes: Sequence[int],
    *,
    epochs: int = 10,
    loss_fn: Callable | None = None,
    seed: int = 0,
) -> GradientNoise:
    """Measure how far minibatch gradients scatter around the full-batch gradient, at ``model``'s current weights.

    Computes every training example's gradient once (float64), then cuts
    ``epochs`` shuffled passes over the data (seeded by ``seed``) into
    batches of each size, as training does, and averages ``‖g_B − g‖²`` over
    those batches (a pass gives ``N // B`` of them; the short last one is
    left out). The model is not changed.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x, y = split_dataset(dataset)[:2]
    n = x.shape[0]
    sizes = [int(b) for b in batch_sizes]
    for b in sizes:
        check_steps(b, "batch size")
        if b > n:
            raise ValueError(f"batch size {b} is larger than the {n} training examples")
    check_steps(epochs, "epochs")
    _check_seed(seed)
    loss_fn = loss_fn if loss_fn is not None else torch.nn.functional.cross_entropy
    with torch.enable_grad():
        deviations = _per_example_gradients(model, loss_fn, x, y).double()
    model.zero_grad()
    full = deviations.mean(dim=0)
    deviations -= full  # g_i − g
    sigma2 = float((deviations**2).sum(dim=1).mean())
    g = torch.Generator().manual_seed(seed)
    squares: dict[int, list[Tensor]] = {b: [] for b in sizes}
    for _ in range(epochs):
        shuffled = deviations[torch.randperm(n, generator=g)]
        for b in sizes:
            batches = n // b
            means = shuffled[: batches * b].view(batches, b, -1).mean(dim=1)
            squares[b].append((means**2).sum(dim=1))
    variance = [float(torch.cat(squares[b]).mean()) for b in sizes]
    return GradientNoise(
        batch_sizes=torch.tensor(sizes, dtype=torch.float64),
        variance=torch.tensor(variance, dtype=torch.float64),
        per_example_variance=sigma2,
        full_gradient_norm2=float((full**2).sum()),
        n=n,
        draws=epochs,
    )
