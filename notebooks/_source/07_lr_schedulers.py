# ---
# summary: Change the learning rate while training: nine schedulers next to torch's, the step order, per-batch vs per-epoch, warm-up + cosine, plateaus, one-cycle with momentum, exact resume.
# ---

# %% [markdown]
# # 07 · Learning-rate schedulers
#
# {{badges}}
#
# A scheduler changes the learning rate while training runs: large steps early, small steps
# late, sometimes a short warm-up first. `torch.optim.lr_scheduler` has a class for each
# recipe; `myoptim_helpers.lr_scheduler` rebuilds every one of them from scratch, and they give
# torch's numbers to the last bit. This lesson shows what a scheduler actually does, the
# mistakes that silently change a schedule, and how to write your own.
#
# ## You will learn
# - what `scheduler.step()` does: `last_epoch`, `base_lrs`, `initial_lr`, and the
#   learning rate written into every param group
# - the nine schedulers, ours drawn over torch's: StepLR, MultiStepLR, ExponentialLR,
#   CosineAnnealingLR, LambdaLR, LinearLR, SequentialLR, ReduceLROnPlateau, OneCycleLR
# - why `optimizer.step()` must come before `scheduler.step()`, and what stepping per batch
#   instead of per epoch does to `T_max` and `total_steps`
# - warm-up + cosine two ways, and how to write it as your own `LRScheduler`
# - `ReduceLROnPlateau` on a validation loss; `OneCycleLR` and its momentum cycle
# - how to save and resume optimizer **and** scheduler so the learning rates go on exactly
#
# ## You should already know
# - the training loop ([00](00_start_here.ipynb), [02](02_zero_grad_and_step.ipynb)) and
#   param groups ([01 · Parameters](01_parameters.ipynb))
# - torch's momentum convention ([03 · SGD](03_sgd.ipynb)) and Adam's betas ([04](04_adam.ipynb))
# - `state_dict` and resuming an optimizer ([06 · Custom optimizers](06_custom_optimizers.ipynb))

# %%
# {{colab_setup}}
import inspect
import io
import math
import warnings

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.optim import lr_scheduler  # torch's schedulers

from myoptim_helpers import lr_scheduler as ours  # the same schedulers, built from scratch
from myoptim_helpers import plotting, problems, training
from myoptim_helpers.exercises import check, hint, show_solution

_ = torch.manual_seed(0)  # same numbers on every run (`_ =` hides the returned generator)

# %% [markdown]
# ## What a scheduler does
#
# A scheduler holds an optimizer. Each call of `scheduler.step()` computes a new learning
# rate and writes it into every `param_group["lr"]`; the optimizer reads it at its next
# `step()`. Here is `StepLR(step_size=2, gamma=0.5)` on an SGD with two param groups:

# %%
w = torch.zeros(2, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
optimizer = torch.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.01}], lr=0.1)
scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
print("base_lrs:", scheduler.base_lrs, " last_epoch:", scheduler.last_epoch)
print("group 1 holds:", {key: optimizer.param_groups[1][key] for key in ("lr", "initial_lr")})

for epoch in range(6):
    used = [group["lr"] for group in optimizer.param_groups]
    optimizer.step()          # one epoch of training would go here
    scheduler.step()
    print(f"epoch {epoch}: trained with lr {used[0]:<6g} and {used[1]:<7g}-> last_epoch = "
          f"{scheduler.last_epoch}, get_last_lr() = {[f'{lr:g}' for lr in scheduler.get_last_lr()]}")

# %% [markdown]
# Three things to read off:
#
# - The constructor stores each group's starting lr as `group["initial_lr"]`; `base_lrs`
#   lists them. Every group follows the schedule with its own base.
# - The constructor **already takes one step**: `last_epoch` is 0 before any training, and
#   epoch $e$ trains with the lr of `last_epoch` $= e$. So `StepLR` gives
#   $\text{lr}_e = \text{base\_lr} \cdot \gamma^{\lfloor e / \text{step\_size} \rfloor}$.
# - `get_last_lr()` is the lr the *next* epoch will use.
#
# How is it built? Our `StepLR` is a subclass of torch's own base class,
# `lr_scheduler.LRScheduler`, as our optimizers are of `torch.optim.Optimizer`. torch's base
# does the bookkeeping (store `initial_lr`, count the steps, check the step order, write the
# lrs, `state_dict`); the subclass says only what the next lrs are, in `get_lr`. That is how
# you write your own scheduler too (exercise 07.3):

# %%
print(" -> ".join(f"{cls.__module__}.{cls.__name__}" for cls in ours.StepLR.__mro__))
print(inspect.getsource(ours.StepLR.get_lr))

# %% [markdown]
# Note what it does **not** compute: $\text{base\_lr} \cdot \gamma^{\lfloor e/s \rfloor}$.
# torch's schedulers are *chainable*: most multiply the **current** `group["lr"]` by a factor
# (that is how two schedulers can act on one optimizer). On paper both give the same lr; in
# floating point, 100 multiplications by 0.9 are not one power:

# %%
opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
exponential = lr_scheduler.ExponentialLR(opt, gamma=0.9)
for _ in range(100):
    opt.step()
    exponential.step()
print(f"torch after 100 epochs: {exponential.get_last_lr()[0]!r}")
print(f"0.1 * 0.9 ** 100:       {0.1 * 0.9 ** 100!r}")

# %% [markdown]
# They differ in the last digit. A from-scratch scheduler that wants torch's numbers *exactly*
# must copy torch's recursion and its order of operations, which is what
# `myoptim_helpers.lr_scheduler` does.
#
# ## Nine schedulers, ours next to torch's
#
# Each scheduler below runs for 40 epochs from lr 0.1, once from `torch.optim.lr_scheduler`
# and once from `myoptim_helpers.lr_scheduler`. `training.lr_schedule` records the lr of
# every epoch; `ReduceLROnPlateau` is fed a validation loss that improves for 12 epochs,
# then stays flat.

# %%
def nine_schedulers(S):
    """name -> factory(optimizer) for the nine schedulers of module S (torch's or ours)."""
    return {
        "StepLR(step_size=10, gamma=0.5)": lambda opt: S.StepLR(opt, step_size=10, gamma=0.5),
        "MultiStepLR([15, 30], gamma=0.3)": lambda opt: S.MultiStepLR(opt, milestones=[15, 30], gamma=0.3),
        "ExponentialLR(gamma=0.93)": lambda opt: S.ExponentialLR(opt, gamma=0.93),
        "CosineAnnealingLR(T_max=30, eta_min=0.01)": lambda opt: S.CosineAnnealingLR(opt, T_max=30, eta_min=0.01),
        "LambdaLR(1 / (1 + 0.2 e))": lambda opt: S.LambdaLR(opt, lambda epoch: 1 / (1 + 0.2 * epoch)),
        "LinearLR(0.1 -> 1, total_iters=20)": lambda opt: S.LinearLR(opt, start_factor=0.1, total_iters=20),
        "SequentialLR(LinearLR, Cosine)": lambda opt: S.SequentialLR(opt, [
            S.LinearLR(opt, start_factor=0.1, total_iters=8), S.CosineAnnealingLR(opt, T_max=32)], milestones=[8]),
        "ReduceLROnPlateau(factor=0.5, patience=3)": lambda opt: S.ReduceLROnPlateau(opt, factor=0.5, patience=3),
        "OneCycleLR(max_lr=0.1, total_steps=40)": lambda opt: S.OneCycleLR(opt, max_lr=0.1, total_steps=40),
    }


EPOCHS = 40
val_loss = [1 / (1 + epoch) for epoch in range(12)] + [1 / 12] * (EPOCHS - 12)
schedules = {source: {name: training.lr_schedule(factory, EPOCHS, lr=0.1, metrics=val_loss)
                      for name, factory in nine_schedulers(module).items()}
             for source, module in [("ours", ours), ("torch", lr_scheduler)]}
for name, mine in schedules["ours"].items():
    difference = (mine - schedules["torch"][name]).abs().max().item()
    print(f"{name:42s} max |ours - torch| over 40 epochs = {difference}")

# %% [markdown]
# Every difference is exactly 0.0: the same floating-point operations in the same order.
# The line is ours, the dots are torch's:

# %%
fig, axes = plt.subplots(3, 3, figsize=(13, 9), sharex=True)
for ax, name in zip(axes.flat, schedules["ours"]):
    plotting.plot_lr_schedule({"ours (myoptim_helpers)": schedules["ours"][name]}, ax=ax,
                              xlabel="epoch", legend=False)
    ax.plot(schedules["torch"][name], "o", markersize=3, color="C1", label="torch.optim.lr_scheduler")
    ax.set_title(name, fontsize="medium")
fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", ncol=2)
fig.tight_layout(rect=(0, 0, 1, 0.95))
plt.show()

# %% [markdown]
# - **StepLR / MultiStepLR / ExponentialLR**: multiply by $\gamma$ every `step_size`
#   epochs, at each milestone, or every epoch.
# - **CosineAnnealingLR**: half a cosine from the base lr to `eta_min` in `T_max` epochs,
#   $\eta_e = \eta_{\min} + (\eta_0 - \eta_{\min})\,\frac{1 + \cos(\pi e / T_{\max})}{2}$. It has
#   no restart: after `T_max` the cosine goes on and the lr **climbs back** (epochs 30–40).
# - **LambdaLR**: `base_lr × lr_lambda(epoch)`, any function you like, computed in closed form.
# - **LinearLR**: a factor moving linearly from `start_factor` to `end_factor`; the usual warm-up.
# - **SequentialLR**: one scheduler after another, switching at the milestones.
# - **ReduceLROnPlateau**: waits for the loss to stop improving (it halves the lr at epochs
#   16, 20, 24, ...: more than `patience=3` epochs without improvement each time).
# - **OneCycleLR**: up to `max_lr` and down far below the start, in exactly `total_steps` steps.
#
# ### 07.1 Predict a MultiStepLR
#
# An SGD starts at lr 0.8, with `MultiStepLR(optimizer, milestones=[2, 5], gamma=0.5)` and
# the loop *train one epoch, then `scheduler.step()`*. Write the learning rate that each of
# the epochs 0 to 7 trains with, as a list of 8 numbers. Predict first, without running torch.

# %%
# BEGIN SOLUTION
# STUB: multistep_lrs = [...]
multistep_lrs = [0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2]
# END SOLUTION
check("07.1", multistep_lrs)

# %% [markdown]
# ## Common mistake: `scheduler.step()` before `optimizer.step()`
#
# Since PyTorch 1.1 the order is: `optimizer.step()`, then `scheduler.step()`. Swap them and
# the first epoch trains with the schedule's *second* value. Both orders, side by side, with
# the warnings recorded so that we can print them:

# %%
def lrs_used(scheduler_first, epochs=6):
    """Train a toy parameter with StepLR(step_size=2, gamma=0.5); return each epoch's lr and the warnings."""
    w = torch.ones(1, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.1)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    used = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch in range(epochs):
            optimizer.zero_grad()
            (w ** 2).sum().backward()
            if scheduler_first:
                scheduler.step()                           # ✗ before the optimizer
            used.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            if not scheduler_first:
                scheduler.step()                           # ✓ after the optimizer
    return used, [f"{warning.category.__name__}: {warning.message}" for warning in caught]

# %%
for scheduler_first in (False, True):
    used, caught = lrs_used(scheduler_first)
    order = "scheduler, then optimizer" if scheduler_first else "optimizer, then scheduler"
    print(f"{order}: lrs used {used}, {len(caught)} warning(s)")
print(caught[0])

# %% [markdown]
# The schedule is `0.1, 0.1, 0.05, 0.05, ...`; with the wrong order the epochs get
# `0.1, 0.05, 0.05, 0.025, ...`: the first epoch runs at 0.1 only because the schedule's
# second value happens to equal its first, and every later change comes one epoch early.
# How does torch notice? The scheduler's constructor wraps *this optimizer's* `step` so that
# calling it sets a flag; the first `scheduler.step()` after the constructor warns if the flag
# is not set. It checks only once, and only the order: a `GradScaler` that skips the very
# first optimizer step (an inf in the gradients) triggers the same warning harmlessly.
#
# ### The same mistake inside a batch loop
#
# Here is a loop that makes it twice: the scheduler steps before the optimizer *and* once
# per batch, though `StepLR(step_size=2)` was meant in epochs. An optimizer step pre-hook
# records the lr of every optimizer step:

# %%
def train_broken(model, optimizer, scheduler, batches, epochs):
    for epoch in range(epochs):
        for x, y in batches:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            scheduler.step()                               # ✗ before optimizer.step(), every batch
            optimizer.step()


x_all, y_all = problems.linear_data(12)
batches = [(x_all[i:i + 4], y_all[i:i + 4]) for i in (0, 4, 8)]   # 3 batches per epoch
model = nn.Linear(1, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
step_lrs = []
_ = optimizer.register_step_pre_hook(lambda opt, args, kwargs: step_lrs.append(opt.param_groups[0]["lr"]))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    train_broken(model, optimizer, scheduler, batches, epochs=4)
print(f"{len(caught)} warning(s): {str(caught[0].message)[:64]}...")
for epoch in range(4):
    print(f"epoch {epoch}: lrs of its 3 batches", [f"{lr:.6g}" for lr in step_lrs[3 * epoch:3 * epoch + 3]])

# %% [markdown]
# Epoch 0 should train at 0.1 throughout, epochs 2 and 3 at 0.05. Instead the lr halves every
# second *batch*, and epoch 3's three batches train at 0.1 / 32, 0.1 / 32 and 0.1 / 64.
#
# ### 07.2 Fix the training loop
#
# Write `train(model, optimizer, scheduler, batches, epochs)`: the same loop, with
# `scheduler.step()` where it belongs, so that the schedule counts epochs. The checker runs
# it on models, optimizers, schedulers and epoch counts of its own and compares the lr and
# the parameters after every optimizer step with the correct loop.

# %%
def train(model, optimizer, scheduler, batches, epochs):
    # BEGIN SOLUTION
    for epoch in range(epochs):
        for x, y in batches:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
        scheduler.step()                                   # once per epoch, after the optimizer
    # END SOLUTION


check("07.2", train)

# %% [markdown]
# ## Per epoch or per batch?
#
# Stepping per batch is not wrong in itself: many recipes do it, for a smoother schedule.
# But every length a scheduler takes counts **`scheduler.step()` calls**, not epochs.
# `T_max`, `step_size`, `milestones`, `total_iters` and `total_steps` must be given in the
# unit you step in. Ten epochs of five batches, `CosineAnnealingLR`, three ways:

# %%
EPOCHS, BATCHES = 10, 5

def cosine_lrs(T_max, per_batch):
    """The lr of each of the EPOCHS * BATCHES batches under CosineAnnealingLR(T_max)."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = lr_scheduler.CosineAnnealingLR(opt, T_max=T_max)
    used = []
    for epoch in range(EPOCHS):
        for batch in range(BATCHES):
            used.append(opt.param_groups[0]["lr"])
            opt.step()
            if per_batch:
                scheduler.step()
        if not per_batch:
            scheduler.step()
    return torch.tensor(used)


cosines = {"per epoch, T_max=10 (epochs)": cosine_lrs(10, per_batch=False),
           "per batch, T_max=10 (✗ still epochs)": cosine_lrs(10, per_batch=True),
           "per batch, T_max=50 (batches)": cosine_lrs(EPOCHS * BATCHES, per_batch=True)}
for name, lrs in cosines.items():
    print(f"{name:38s} lr of batches 0, 10, 20, 49: " + ", ".join(f"{lrs[i]:.4f}" for i in (0, 10, 20, 49)))

# %%
fig, ax = plt.subplots(figsize=(8, 4.2))
plotting.plot_lr_schedule(cosines, ax=ax, xlabel="batch (5 per epoch)")
ax.set_title("CosineAnnealingLR: T_max counts scheduler.step() calls")
ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=3)  # off the curves
fig.tight_layout()
plt.show()

# %% [markdown]
# With `T_max=10` stepped per batch, the cosine reaches 0 after two epochs and climbs back
# (there is no restart, the cosine simply goes on): down, up, down, up, down in ten epochs.
# Nothing warns. `OneCycleLR` at least refuses to go past its end: built for 10 steps and
# stepped per batch, it raises in the third epoch.

# %%
from myoptim_helpers import expect_error  # prints the error in one line; the lesson runs on

opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
one_cycle = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=EPOCHS)   # ✗ counts epochs
with expect_error(ValueError):
    for epoch in range(EPOCHS):
        for batch in range(BATCHES):
            opt.step()
            one_cycle.step()                                               # ... stepped per batch

# %% [markdown]
# The fix is `OneCycleLR(opt, max_lr=0.1, epochs=EPOCHS, steps_per_epoch=BATCHES)`, which
# makes `total_steps = 50`.
#
# ## Warm-up, then cosine: two ways
#
# A short linear warm-up followed by a cosine decay is a standard schedule for transformers;
# warm-up, a long constant phase and a short final decay (*warmup-stable-decay*, WSD) is now
# as common, because a run can be extended or stopped without planning the decay from the
# start. With torch's building blocks: `LinearLR` for `WARMUP` epochs, then
# `CosineAnnealingLR` over the **remaining** `TOTAL - WARMUP` epochs, joined by `SequentialLR`.
# Or as one `LambdaLR` with the formula written out:
#
# $$\eta_e = \eta_0 \cdot \begin{cases} s + (1 - s)\,\dfrac{e}{W} & e < W \\[2mm]
# \dfrac{1 + \cos\bigl(\pi\,(e - W) / (T - W)\bigr)}{2} & e \ge W \end{cases}$$

# %%
WARMUP, TOTAL = 5, 30

def warmup_cosine_factor(epoch):
    if epoch < WARMUP:
        return 0.1 + 0.9 * epoch / WARMUP                                # s + (1 - s) e / W, s = 0.1
    return (1 + math.cos(math.pi * (epoch - WARMUP) / (TOTAL - WARMUP))) / 2


two_ways = {
    "SequentialLR(LinearLR, CosineAnnealingLR)": lambda opt: lr_scheduler.SequentialLR(opt, [
        lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=WARMUP),
        lr_scheduler.CosineAnnealingLR(opt, T_max=TOTAL - WARMUP)], milestones=[WARMUP]),
    "LambdaLR(warmup_cosine_factor)": lambda opt: lr_scheduler.LambdaLR(opt, warmup_cosine_factor),
}
sequential, one_lambda = (training.lr_schedule(f, TOTAL + 1, lr=0.1) for f in two_ways.values())
for epoch in (0, 1, 4, 5, 6, 9, 29, 30):
    print(f"epoch {epoch:2d}: {sequential[epoch].item():.10f}  {one_lambda[epoch].item():.10f}")
difference = (sequential - one_lambda).abs()
print(f"equal at all {TOTAL + 1} epochs to float64 rounding (< 1e-15): {bool(difference.max() < 1e-15)}")

# %% [markdown]
# They agree to rounding, though not necessarily bit for bit:
# `LinearLR` and `CosineAnnealingLR` compute each lr from the previous one, `LambdaLR` from
# the formula.
# Where they meet, at epoch `WARMUP`, `SequentialLR` restarts the cosine at its epoch 0, which
# is the base lr, exactly where the warm-up ends. The figure stops at epoch 30, where the lr
# reaches 0; stepped further, both would climb back up (a cosine goes on: no restart, no
# floor), so a run stops at `TOTAL`.
#
# Two things to get right in either form: the warm-up **starts** at $s \cdot \eta_0$, not at 0
# (a lambda `epoch / WARMUP` wastes epoch 0 with lr 0, and `LinearLR` refuses
# `start_factor=0`), and the cosine lasts `TOTAL - WARMUP` epochs, not `TOTAL`.

# %%
fig, ax = plt.subplots(figsize=(8, 3.5))
plotting.plot_lr_schedule({"SequentialLR(LinearLR, CosineAnnealingLR)": sequential}, ax=ax, xlabel="epoch")
ax.plot(one_lambda, "o", markersize=3, color="C1", label="LambdaLR(warmup_cosine_factor)")
ax.axvline(WARMUP, color="0.6", linestyle=":", label=f"milestone: epoch {WARMUP}")
ax.legend(fontsize="small")
ax.set_title(f"Warm-up for {WARMUP} epochs, cosine for {TOTAL - WARMUP}")
plt.show()

# %% [markdown]
# ### 07.3 Warm-up then cosine, from scratch
#
# Write the same schedule as a subclass of `torch.optim.lr_scheduler.LRScheduler`, for every
# param group. `__init__` is given: it stores the settings **before** `super().__init__`,
# because the base constructor already calls `step()`, hence your `get_lr`. Write `get_lr`:
# return one lr per param group for epoch `self.last_epoch`, from `self.base_lrs`, with the
# warm-up from `start_factor × base_lr` and the cosine ending at `eta_min`:
# $\eta_{\min} + (\eta_0 - \eta_{\min})\,(1 + \cos(\pi t / T))/2$ with $t = e - W$, $T$ = `total_epochs - warmup_epochs`.
#
# The checker compares every group's lr at every epoch, a few past `total_epochs` included,
# with torch's `SequentialLR(LinearLR, CosineAnnealingLR)`, to $10^{-12}$.

# %%
class WarmupCosine(lr_scheduler.LRScheduler):
    def __init__(self, optimizer, warmup_epochs, total_epochs, start_factor=0.1, eta_min=0.0, last_epoch=-1):
        self.warmup_epochs = warmup_epochs
        self.total_epochs = total_epochs
        self.start_factor = start_factor
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)     # takes the first step: calls get_lr

    def get_lr(self):
        # BEGIN SOLUTION
        epoch = self.last_epoch
        if epoch < self.warmup_epochs:
            factor = self.start_factor + (1 - self.start_factor) * epoch / self.warmup_epochs
            return [base_lr * factor for base_lr in self.base_lrs]
        progress = (epoch - self.warmup_epochs) / (self.total_epochs - self.warmup_epochs)
        return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * progress)) / 2
                for base_lr in self.base_lrs]
        # END SOLUTION


check("07.3", WarmupCosine)

# %% [markdown]
# ## `ReduceLROnPlateau`: let the validation loss decide
#
# The other schedulers follow a plan made in advance. `ReduceLROnPlateau` watches a metric
# instead: `scheduler.step(val_loss)`. An epoch is *bad* unless the loss beats the best so
# far by the relative `threshold` (default $10^{-4}$): $\text{loss} < \text{best} \cdot (1 - 10^{-4})$.
# After **more than** `patience` bad epochs in a row, the lr is multiplied by `factor`.
# A scripted sequence of losses shows the rule:

# %%
optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
plateau = lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
scripted = [1.0, 0.8, 0.7, 0.7, 0.69995, 0.71, 0.7, 0.6, 0.6, 0.6, 0.6]
print("epoch  val loss     best  bad epochs  lr of the next epoch")
for epoch, loss in enumerate(scripted):
    optimizer.step()
    plateau.step(loss)
    print(f"{epoch:5d}  {loss:8.5f}  {plateau.best:7.5f}  {plateau.num_bad_epochs:10d}  "
          f"{optimizer.param_groups[0]['lr']:.3f}")

# %% [markdown]
# At epoch 4, 0.69995 is lower than the best 0.7 but not by $10^{-4}$ relative: a bad epoch.
# Epoch 5 is the third bad epoch in a row, more than `patience=2`, so the lr halves and the
# count restarts. (The lr is never cut below `min_lr`, default 0; `cooldown` epochs after a
# cut are not counted.)
#
# Now a real one. A cubic fitted by SGD with minibatches of 5 and a learning rate of 0.8, too
# large to settle: `training.fit` steps the scheduler once per epoch with the validation loss.

# %%
data = problems.polynomial_data(n_train=100, n_val=100, noise=0.2)

def cubic_model():
    return nn.Sequential(problems.PolynomialFeatures(3), nn.Linear(3, 1))


fits = {name: training.fit(cubic_model, torch.optim.SGD, data, 40, batch_size=5, lr=0.8,
                           scheduler=factory, progress=False, label=name)
        for name, factory in [("constant lr 0.8", None),
                              ("ReduceLROnPlateau(factor=0.5, patience=2)",
                               lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2))]}
for name, fit in fits.items():
    last = fit.val_losses[-10:]
    cuts = [epoch for epoch in range(1, len(fit.lrs)) if fit.lrs[epoch] < fit.lrs[epoch - 1]]
    print(f"{name}: validation loss at most {fit.val_losses.max():.2f} (epoch {int(fit.val_losses.argmax())}), "
          f"over the last 10 epochs from {last.min():.4f} to {last.max():.4f}; lr cut before epochs {cuts}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
plotting.plot_fit(fits, ax=left)
left.set_title("Loss per epoch (the noise floor is 0.2² = 0.04)")
left.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)  # off the first epochs
plotting.plot_lr_schedule({name: fit.lrs for name, fit in fits.items()}, ax=right, xlabel="epoch", log=True)
right.set_title("Learning rate per epoch")
fig.tight_layout()
plt.show()

# %% [markdown]
# With a constant lr of 0.8 the steps are too large to settle: the validation loss jumps up
# and down, as high as 1.64 at epoch 23, and is still anywhere between 0.04 and 0.67 in the
# last 10 epochs. The plateau scheduler first cuts the lr before epoch 8, then every
# third epoch (three bad epochs are more than `patience=2`), and the loss settles at 0.034.
# It keeps halving for as long as nothing improves: set `min_lr` to stop it.
#
# ## A learning-rate change under momentum
#
# Lesson 03 showed torch's momentum convention: the buffer sums *gradients*,
# $b_t = \mu b_{t-1} + g_t$, and the step is $\eta_t b_t$. Sutskever et al. (2013) put the
# learning rate inside the velocity, $v_t = \mu v_{t-1} - \eta_t g_t$ with
# $\theta_t = \theta_{t-1} + v_t$. With a constant lr they are the same algorithm
# ($v_t = -\eta\, b_t$); at an lr drop, lesson 03 showed, torch's step shrinks at once while
# Sutskever's stays long. And then? Drop the lr tenfold at step 5 (constant gradient 1,
# $\mu = 0.9$) and keep going for 50 steps. **Predict, then run.** Commit to an answer:

# %%
from myoptim_helpers import widgets

widgets.predict("07.drop")

# %%
w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
sgd = torch.optim.SGD([w], lr=1.0, momentum=0.9)
drop = lr_scheduler.MultiStepLR(sgd, milestones=[4], gamma=0.1)      # epoch 4 = the 5th step
velocity, paper_distance = 0.0, 0.0
print("step  lr    torch's step η·b   Sutskever's step |v|")
for step in range(1, 51):
    lr = sgd.param_groups[0]["lr"]
    before = w.item()
    sgd.zero_grad()
    w.sum().backward()                                               # gradient 1
    sgd.step()
    drop.step()
    velocity = 0.9 * velocity - lr * 1.0                             # v_t = μ v_{t−1} − lr · g_t
    paper_distance += abs(velocity)                                  # θ_t = θ_{t−1} + v_t
    if step <= 8 or step in (10, 20, 30, 50):
        print(f"{step:4d}  {lr:.1f}   {before - w.item():16.4f}   {abs(velocity):20.4f}")
print(f"distance travelled in 50 steps: torch {-w.item():.2f}, Sutskever {paper_distance:.2f}")

# %% [markdown]
# In torch the lr multiplies the *whole* buffer, so the drop acts at once: the step falls
# from 3.44 to 0.41. Then it grows again, because the buffer keeps summing gradients towards
# $1/(1-\mu) = 10$, and $0.1 \cdot 10 = 1$. In Sutskever's form the velocity still carries the
# old lr, whose terms fade as $0.9^k$: the step shrinks by less than 10% per step, from 3.20
# down towards the same 1. Once the lr is constant again, both tend to
# $\eta\, g/(1-\mu)$ (0.995 and 1.019 at step 50), but on the way Sutskever's travelled
# 76.83 against torch's 49.19. A schedule tuned for one convention is not the same schedule
# in the other.
#
# ## `OneCycleLR`: the learning rate and the momentum, in opposite directions
#
# The 1cycle policy: the lr rises from `max_lr / div_factor` to `max_lr` in the first
# `pct_start` of the steps, then falls to `max_lr / div_factor / final_div_factor`. torch's
# default (`three_phase=False`) is fastai's two-phase variant, with cosine annealing in both
# phases. Smith and Topin's own schedule is `three_phase=True` (and `anneal_strategy="linear"`):
# up to `max_lr`, symmetrically back down to the start, then a short final fall far below it. The
# momentum goes the other way, from `max_momentum` down to `base_momentum` and back: high
# momentum while the lr is small, low while it is large. For Adam-like optimizers it cycles
# `betas[0]`. It is meant to be stepped **per batch**, for exactly `total_steps` steps.

# %%
STEPS = 100
sgd = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
adam = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=0.001)
cycles = [lr_scheduler.OneCycleLR(sgd, max_lr=0.1, total_steps=STEPS),
          lr_scheduler.OneCycleLR(adam, max_lr=0.01, total_steps=STEPS)]
record = {"SGD lr": [], "SGD momentum": [], "Adam lr": [], "Adam betas[0]": [], "Adam betas[1]": []}
for step in range(STEPS):
    record["SGD lr"].append(sgd.param_groups[0]["lr"])
    record["SGD momentum"].append(sgd.param_groups[0]["momentum"])
    record["Adam lr"].append(adam.param_groups[0]["lr"])
    record["Adam betas[0]"].append(adam.param_groups[0]["betas"][0])
    record["Adam betas[1]"].append(adam.param_groups[0]["betas"][1])
    for opt, cycle in zip((sgd, adam), cycles):
        opt.step()
        cycle.step()
for name, values in record.items():
    print(f"{name:13s} step 1: {values[0]:<9.6g} step 30: {values[29]:<9.6g} step 100: {values[-1]:.6g}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8))
plotting.plot_lr_schedule({"SGD, max_lr=0.1": record["SGD lr"]}, ax=left, xlabel="batch (optimizer step)")
left.set_title("OneCycleLR: learning rate")
right.plot(record["SGD momentum"], linewidth=2, label="SGD momentum")
right.plot(record["Adam betas[0]"], "--", label="Adam betas[0]")
right.set(xlabel="batch (optimizer step)", ylabel="momentum / beta1", title="OneCycleLR: momentum")
right.legend(fontsize="small")
plt.show()

# %% [markdown]
# What to notice in the numbers:
#
# - The lr given to the optimizer is ignored: SGD starts at 0.1 / 25 = 0.004, Adam at
#   0.01 / 25 = 0.0004. And SGD's `momentum=0.9` is overwritten by `max_momentum=0.95`.
# - The peak is at step 30 (`pct_start=0.3` of 100 steps), where the momentum is lowest, 0.85.
# - The last lr is 0.004 / 10⁴: four orders of magnitude below the start.
# - Adam's `betas[0]` follows SGD's momentum exactly; `betas[1]` stays 0.999.
#
# ## Saving and resuming a scheduler
#
# A scheduler is state too: `last_epoch`, its base lrs, and for `SequentialLR` the state of
# each scheduler inside it. A checkpoint needs three state dicts: model, optimizer, scheduler.
# The training of this section: warm-up for 3 epochs, cosine for 7.

# %%
def make_optimizer(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

def make_scheduler(optimizer):
    return lr_scheduler.SequentialLR(optimizer, [
        lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=3),
        lr_scheduler.CosineAnnealingLR(optimizer, T_max=7)], milestones=[3])

x, y = problems.linear_data(32)

def train_epochs(model, optimizer, scheduler, epochs):
    """Full-batch training for `epochs` epochs; return the lr each epoch used."""
    used = []
    for _ in range(epochs):
        used.append(optimizer.param_groups[0]["lr"])
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        scheduler.step()
    return used

# %%
torch.manual_seed(0)
model = nn.Linear(1, 1)
optimizer = make_optimizer(model)
scheduler = make_scheduler(optimizer)
first_half = train_epochs(model, optimizer, scheduler, 5)

buffer = io.BytesIO()                                   # an in-memory file
torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict()}, buffer)
state = scheduler.state_dict()
print("SequentialLR: last_epoch =", state["last_epoch"], " _last_lr =", [f"{lr:.6f}" for lr in state["_last_lr"]])
for name, inner in zip(["LinearLR", "CosineAnnealingLR"], state["_schedulers"]):
    print(f"  {name:17s}: last_epoch = {inner['last_epoch']}, base_lrs = {inner['base_lrs']}")
print("optimizer group 0:", {k: round(v, 6) for k, v in optimizer.state_dict()["param_groups"][0].items()
                             if k in ("lr", "initial_lr")})

# %% [markdown]
# `SequentialLR` steps only the schedule in charge. `LinearLR` ran epochs 0, 1 and 2 (its
# three warm-up epochs, counted from 0) and stays at `last_epoch = 2`; at the milestone,
# epoch 3, `SequentialLR` starts the cosine at its own epoch 0, and epochs 4 and 5 bring it
# to 2 as well.
#
# Note that the **optimizer's** state holds the current lr and `initial_lr`: the scheduler
# writes into it. That is why the order of loading matters.
#
# ## Common mistake: building the scheduler after loading the optimizer
#
# A scheduler's constructor *writes* the lrs of its optimizer (its first step). Load the
# optimizer's state, then build the scheduler, and the constructor overwrites the loaded lrs:

# %%
torch.manual_seed(0)
uninterrupted = nn.Linear(1, 1)
optimizer_u = make_optimizer(uninterrupted)
reference = train_epochs(uninterrupted, optimizer_u, make_scheduler(optimizer_u), 10)

buffer.seek(0)
checkpoint = torch.load(buffer)
model = nn.Linear(1, 1)                                  # a "new process"
model.load_state_dict(checkpoint["model"])
optimizer = make_optimizer(model)
optimizer.load_state_dict(checkpoint["optimizer"])
scheduler = make_scheduler(optimizer)                    # ✗ rewrites the loaded lrs
scheduler.load_state_dict(checkpoint["scheduler"])
resumed = first_half + train_epochs(model, optimizer, scheduler, 5)
print("uninterrupted:", [f"{lr:.4f}" for lr in reference])
print("resumed:      ", [f"{lr:.4f}" for lr in resumed])

# %% [markdown]
# From epoch 5 on, every lr is about eight times too small, and nothing raises or warns.
# Building `SequentialLR` reset the loaded lr 0.0812 to `initial_lr` and took the warm-up's
# first step: 0.1 × `start_factor` = 0.01. `scheduler.load_state_dict` then restored the
# scheduler's epoch count, but the lr lives in the optimizer, and the cosine, being
# recursive, went on from 0.01. torch's documentation says it in a warning box: initialize
# the scheduler **before** calling the optimizer's `load_state_dict`.
#
# ### 07.4 Resume optimizer and scheduler
#
# Write `resume(model, checkpoint, make_optimizer, make_scheduler)`: load the checkpoint into
# `model`, build the optimizer with `make_optimizer(model)` and the scheduler with
# `make_scheduler(optimizer)`, load their states, and return `(optimizer, scheduler)`. The
# checker saves a run after 5 of 10 epochs, and runs of other optimizers (with one or two
# param groups), schedulers and dtypes stopped at other epochs, resumes each with your
# function into a model with other weights, and compares lrs and parameters with the
# uninterrupted run at every epoch.

# %%
def resume(model, checkpoint, make_optimizer, make_scheduler):
    # BEGIN SOLUTION
    model.load_state_dict(checkpoint["model"])
    optimizer = make_optimizer(model)
    scheduler = make_scheduler(optimizer)               # first: its constructor writes the lrs
    optimizer.load_state_dict(checkpoint["optimizer"])  # then the saved lrs and momentum buffers
    scheduler.load_state_dict(checkpoint["scheduler"])  # and the saved epoch count
    return optimizer, scheduler
    # END SOLUTION


check("07.4", resume)

# %% [markdown]
# With the right order, resumed by the exercise module's reference (so this runs whether or
# not you solved it), the resumed run is the uninterrupted one, bit for bit:

# %%
from myoptim_helpers.exercises.lesson07 import resume_with_reference

buffer.seek(0)
model = nn.Linear(1, 1)
optimizer, scheduler = resume_with_reference(model, torch.load(buffer), make_optimizer, make_scheduler)
resumed = first_half + train_epochs(model, optimizer, scheduler, 5)
print("resumed:      ", [f"{lr:.4f}" for lr in resumed])
print("max |lr difference| =", max(abs(a - b) for a, b in zip(resumed, reference)))
print("max |weight difference| =", max((p - q).abs().max().item()
                                       for p, q in zip(model.parameters(), uninterrupted.parameters())))

# %% [markdown]
# ## Explore: schedules
#
# Pick a scheduler and move its sliders. Try `CosineAnnealingLR` with `T_max` smaller than
# `steps` (the lr climbs back), the `SequentialLR` warm-up with a tiny `start_factor`, and
# `OneCycleLR` with `pct_start` near 0.05 or 0.95.

# %%
from myoptim_helpers import widgets

widgets.schedule_explorer("SequentialLR", lr=0.1, steps=100)

# %% [markdown]
# ## Recap
#
# - A scheduler writes `group["lr"]` for every param group; the constructor stores
#   `initial_lr` (`base_lrs`) and already takes step 0, so epoch $e$ trains with the lr of
#   `last_epoch` $= e$. `get_last_lr()` is the lr of the next epoch.
# - torch's schedules are mostly recursive (*chainable*): the same schedule as the closed
#   formula, up to the last bit. `myoptim_helpers.lr_scheduler` copies the recursion and
#   matches torch exactly.
# - Order: `optimizer.step()`, then `scheduler.step()`. The other order skips the first value
#   and warns once.
# - Every length (`step_size`, `milestones`, `T_max`, `total_iters`, `total_steps`) counts
#   `scheduler.step()` calls: per batch or per epoch, decide and be consistent.
#   `CosineAnnealingLR` climbs back after `T_max`; `OneCycleLR` raises past `total_steps`.
# - Warm-up + cosine = `SequentialLR([LinearLR, CosineAnnealingLR(T_max=T - W)], [W])` = one
#   `LambdaLR`, or your own `LRScheduler` subclass with a `get_lr`.
# - `ReduceLROnPlateau.step(val_loss)` cuts the lr after more than `patience` bad epochs;
#   `OneCycleLR` cycles lr and momentum (or `betas[0]`) in opposite directions.
# - Checkpoint model, optimizer and scheduler; when resuming, build the optimizer and the
#   scheduler first, then load both states.
#
# ## Next
#
# [08 · Training a real network](08_real_network.ipynb): everything so far on a real network
# and real data, where the gradient is noisy, the batch size moves the best learning rate, and
# a learning-rate range test and a decaying schedule earn their keep.
#
# ## Further reading
#
# - the schedulers this lesson does not draw, all in `myoptim_helpers.lr_scheduler` with
#   torch's numbers: `CosineAnnealingWarmRestarts` (SGDR, with restarts), `CyclicLR`,
#   `PolynomialLR`, `ConstantLR`, `MultiplicativeLR`, `ChainedScheduler` (several schedulers
#   at once) and `SWALR` (from `torch.optim.swa_utils`); torch's
#   [documentation](https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate)
#   describes each;
# - the papers: Loshchilov and Hutter, [SGDR](https://arxiv.org/abs/1608.03983) (cosine
#   annealing); Goyal et al., [Accurate, Large Minibatch SGD](https://arxiv.org/abs/1706.02677)
#   (linear warm-up); Smith and Topin, [Super-Convergence](https://arxiv.org/abs/1708.07120)
#   (1cycle);
# - the source: `myoptim_helpers/lr_scheduler/` puts each scheduler in one short subclass of
#   torch's `LRScheduler` whose docstring gives the closed formula, and
#   `torch/optim/lr_scheduler.py` is the original;
# - back to [00 · Start here](00_start_here.ipynb) for the map of the series, or to any lesson
#   with a new schedule: the trajectory explorer of [04 · Adam](04_adam.ipynb) shows what a
#   learning rate does on a surface.
