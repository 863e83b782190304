# ---
# summary: Train a real network on scikit-learn's digits: minibatch noise and the noise floor, batch size vs lr, the learning-rate range test, four optimizers' sensitivity curves, two common claims measured.
# ---

# %% [markdown]
# # 08 · Training a real network
#
# {{badges}}
#
# Lessons 00–07 built each update rule exactly, on 2-D surfaces and tiny fits. Here the
# same optimizers train a real network on real data, and the questions everyone asks get
# measured answers: why is my loss noisy? Which learning rate? If I double the batch, what
# happens to the lr? Is Adam really better than SGD? Two claims you will read everywhere,
# *"the learning rate matters more than the choice of optimizer"* and *"Adam is less
# sensitive to the learning rate"*, are measured instead of repeated.
#
# ## You will learn
# - full-batch gradient descent against minibatch SGD, and the noise that minibatches add:
#   its variance, measured, falls as $1/B$
# - the noise floor a constant learning rate stalls at, and how a decaying schedule gets below it
# - the linear scaling rule (batch × k, lr × k) measured for SGD, where it breaks, and how
#   Adam differs
# - the learning-rate range test, built from scratch, and its two suggestion rules
# - sensitivity curves for SGD, SGD with momentum, Adam and AdamW: how wide each one's good
#   band of learning rates is
# - how to train many copies of a network side by side, one param group each
#
# ## You should already know
# - the training loop and minibatches ([00](00_start_here.ipynb), [02](02_zero_grad_and_step.ipynb))
# - SGD with momentum ([03](03_sgd.ipynb)), Adam ([04](04_adam.ipynb)), AdamW ([05](05_weight_decay.ipynb))
# - learning-rate schedulers ([07](07_lr_schedulers.ipynb))

# %%
# {{colab_setup}}
import math

import matplotlib.pyplot as plt
import torch

from myoptim_helpers import minibatch, optim, plotting, problems, training
from myoptim_helpers.exercises import check, hint, show_solution

# A network this small trains faster on one thread: handing its tiny matrices between
# threads costs more than it saves.
torch.set_num_threads(1)
_ = torch.manual_seed(0)  # same numbers on every run (`_ =` hides the returned generator)

# %% [markdown]
# ## The data: 1,797 handwritten digits
#
# scikit-learn ships a small data set of handwritten digits, 8 × 8 pixels each, with
# labels 0–9: no download needed. `problems.digits()` scales the pixels to 0–1, flattens
# each image to 64 numbers and splits off a fixed validation set of 360 digits (the same
# split on every machine). Everything in this lesson is float64, so that the printed
# numbers do not depend on your CPU.

# %%
data = problems.digits()
x_train, y_train, x_val, y_val = data
print(f"training: {tuple(x_train.shape)} {x_train.dtype}, validation: {tuple(x_val.shape)}")
print("training digits per class:", y_train.bincount().tolist())

shades = " .:-=+*#%@"
for row in range(8):
    print("    ".join("".join(shades[min(9, int(v * 10))] * 2 for v in x_train[i].view(8, 8)[row])
                      for i in range(6)))
print("    ".join(f"label {int(label)}".ljust(16) for label in y_train[:6]))

# %% [markdown]
# The network: 64 inputs, one hidden layer of 32 ReLU units, 10 outputs (one logit per
# digit), trained with the cross-entropy loss. 2,410 weights:

# %%
model = problems.digits_mlp()
print(model)
print("parameters:", sum(p.numel() for p in model.parameters()))

# %% [markdown]
# ## Full batch or minibatches?
#
# *Full-batch* gradient descent computes the gradient on all 1,437 training digits, then
# takes one step: one step per pass over the data (an *epoch*). *Minibatch* SGD shuffles the
# data, cuts it into batches of 32 and takes a step after each: 45 steps per epoch, for the
# same amount of arithmetic. `training.fit` does both; each run starts from the same weights.

# %%
EPOCHS = 6
runs = {"full batch, lr 1": training.fit(problems.digits_mlp, torch.optim.SGD, data, EPOCHS,
                                          lr=1.0, progress=False),
        "batches of 32, lr 0.1": training.fit(problems.digits_mlp, torch.optim.SGD, data, EPOCHS,
                                              batch_size=32, lr=0.1, progress=False)}
for name, run in runs.items():
    print(f"{name:22s} {len(run.step_losses):3d} steps, training loss {run.final_train_loss:.3f}, "
          f"validation accuracy {minibatch.accuracy(run.model, x_val, y_val):.1%}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
plotting.plot_fit(runs, ax=left)
left.set_title("Loss per epoch: the same arithmetic")
for name, run in runs.items():
    right.plot(range(1, len(run.step_losses) + 1), run.step_losses.numpy(), linewidth=1, label=name)
right.set(xscale="log", yscale="log", xlabel="optimizer step (log scale)",
          ylabel="loss of the step's batch (log scale)", title="Loss per step: minibatches are noisy")
right.legend(fontsize="small")
plt.show()

# %% [markdown]
# Full-batch descent needs a larger learning rate (its steps are exact, and few) and still
# ends far behind: six steps are not enough. Minibatch SGD takes 270 cheaper, noisier
# steps and reaches over 90% accuracy in the same six epochs. On the right, each
# minibatch's loss jitters around the trend: every batch is a different sample of the data.
#
# ### 08.1 A minibatch epoch, reshuffled
#
# Write `train_epoch(model, optimizer, x, y, batch_size, generator)`: one epoch of minibatch
# training with the cross-entropy loss. Draw a new order with
# `torch.randperm(n, generator=generator)` (a fresh shuffle each epoch, reproducible through
# the generator), take one optimizer step per batch (the last one may be smaller), and
# return the list of the batches' losses as floats, each recorded before its step. The
# checker runs it for two epochs on its own models, data and optimizers.

# %%
def train_epoch(model, optimizer, x, y, batch_size, generator):
    # BEGIN SOLUTION
    order = torch.randperm(x.shape[0], generator=generator)
    losses = []
    for first in range(0, x.shape[0], batch_size):
        idx = order[first:first + batch_size]
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
    # END SOLUTION


check("08.1", train_epoch)

# %% [markdown]
# ## Minibatch noise, measured
#
# A minibatch gradient $g_B$ is the mean of $B$ per-example gradients $g_i$. It is right *on
# average*: its mean is the full-batch gradient $g$. How far does it scatter? If the $g_i$ have
# variance $\sigma^2 = \tfrac1N\sum_i \lVert g_i - g\rVert^2$, a mean of $B$ of them drawn
# with replacement has $\mathbb E\lVert g_B - g\rVert^2 = \sigma^2/B$. An epoch's batches
# are drawn *without* replacement, which shrinks it by $(N-B)/(N-1)$: at $B = N$ there is
# no noise left. `minibatch.gradient_noise` computes all 1,437 per-example gradients at
# the weights the minibatch run ended with, cuts 4 shuffled epochs into batches of each
# size and measures:

# %%
trained = runs["batches of 32, lr 0.1"].model
noise = minibatch.gradient_noise(trained, data, [2 ** k for k in range(11)], epochs=4)
print(f"per-example variance σ² = {noise.per_example_variance:.3g}; the full gradient's ‖g‖² = "
      f"{noise.full_gradient_norm2:.3g}, {noise.variance[5] / noise.full_gradient_norm2:.0f} times smaller "
      "than the noise at B = 32")
print("    B   measured   σ²/B·(N−B)/(N−1)   measured / expected")
for b, measured, expected in zip(noise.batch_sizes, noise.variance, noise.expected()):
    print(f"{int(b):5d}   {measured:8.3g}   {expected:16.3g}   {measured / expected:10.2f}")

# %%
ax = plotting.plot_gradient_noise(noise)
ax.set_title("Minibatch gradient noise falls as 1/B")
plt.show()

# %% [markdown]
# The measured points sit on the line: double the batch, halve the variance. Up to a few
# hundred examples the $1/B$ line and the exact curve coincide; above, sampling without
# replacement bends the curve down. And compare the noise with the signal (first line):
# at these trained weights, a batch of 32 scatters around the full gradient by much more
# than the full gradient's own size. Near the end of training most of what a minibatch
# gradient says is noise.
#
# ## The noise floor, and a schedule that gets below it
#
# With a constant learning rate, that noise never averages out: each step jumps by about
# lr × noise, and the loss stalls at a level set by the lr, the *noise floor*. A smaller lr
# lowers the floor but crawls; a schedule that starts large and decays gets the speed first
# and the low floor later. That is why lesson 07's schedules exist. Three runs, batches of 16,
# side by side (`minibatch.lr_sweep` trains several copies at once, see below): a constant
# lr of 0.7, a constant 0.175, and 0.7 decayed by a cosine over 10 epochs (a `LambdaLR`
# with one function per copy):

# %%
FLOOR_EPOCHS = 10
cosine = lambda epoch: 0.5 * (1 + math.cos(math.pi * epoch / FLOOR_EPOCHS))
floor = minibatch.lr_sweep(
    problems.digits_mlp, torch.optim.SGD, data, [0.7, 0.175, 0.7], FLOOR_EPOCHS, batch_size=16, fused=True,
    scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0, lambda e: 1.0, cosine]))
names = ["constant lr 0.7", "constant lr 0.175", "lr 0.7, cosine decay"]
for name, losses, acc in zip(names, floor.train_losses, floor.final_val_accuracy):
    last = losses[-5:]
    print(f"{name:21s} training loss over the last 5 epochs: {last.min():.3f} to {last.max():.3f}, "
          f"validation accuracy {acc:.1%}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
for name, losses in zip(names, floor.train_losses):
    left.plot(losses.numpy(), marker="o", markersize=3, label=name)
left.set(yscale="log", xlabel="epoch", ylabel="training loss, whole training set (log scale)",
         title="A constant lr stalls at its noise floor")
left.legend(fontsize="small")
lrs = {name: [lr * f(e) for e in range(FLOOR_EPOCHS)]
       for name, lr, f in zip(names, floor.lrs.tolist(), [lambda e: 1.0, lambda e: 1.0, cosine])}
plotting.plot_lr_schedule(lrs, ax=right, xlabel="epoch", log=True)
right.set_title("The three learning rates")
plt.show()

# %% [markdown]
# The large constant lr is fastest at first, then bounces: its loss goes up and down from
# epoch to epoch and never settles. The small one is steady but slow. The cosine run
# follows the fast one early and, as its lr shrinks, drops below both.
#
# ## Batch size and learning rate
#
# A larger batch has less noise, so it can take a larger step. How much larger?
#
# - **Goyal et al. (2017), *Accurate, Large Minibatch SGD*:** "When the minibatch size is
#   multiplied by k, multiply the learning rate by k." They trained ResNet-50 on ImageNet
#   with batches up to 8,192 this way, with a warm-up, and report that the rule breaks
#   down beyond that.
# - **Malladi et al. (2022), *On the SDEs and Scaling Rules for Adaptive Gradient
#   Algorithms*:** for Adam and RMSprop the rule is the **square root**: batch × k, lr × √k.
#
# The measurement: for each batch size, train one copy of the network per learning rate
# on a grid of three per decade, for 3 epochs, and find the lr with the lowest training
# loss. `minibatch.lr_sweep` trains all the copies of a sweep side by side: one optimizer
# with each copy in its own param group (its own lr), and one batched forward pass for all
# of them. The copies never interact, so each row is exactly the run a separate `fit` would
# give. `fused=True` makes torch update each param group in one kernel (faster with many
# small groups, the same maths; lesson 11 measures it). A `tqdm` progress bar shows while
# a sweep runs.

# %%
def grid(low, high):
    """Learning rates from 10**low to 10**high, three per decade."""
    return [10 ** (k / 3) for k in range(round(3 * low), round(3 * high) + 1)]


SWEEP_EPOCHS = 3
SCALING = {"SGD, momentum 0.9": (torch.optim.SGD, {"momentum": 0.9}, grid(-3, 1)),
           "Adam": (torch.optim.Adam, {}, grid(-4, 0))}
BATCHES = [32, 128, 512]
sweeps = {(name, b): minibatch.lr_sweep(problems.digits_mlp, cls, data, lrs, SWEEP_EPOCHS, batch_size=b,
                                        fused=True, progress=True, label=f"{name}, batch {b}", **kwargs)
          for name, (cls, kwargs, lrs) in SCALING.items() for b in BATCHES}

# %%
best = {name: {b: sweeps[name, b].best_lr("train_loss") for b in BATCHES} for name in SCALING}
print("batch   " + "".join(f"{name + ': best lr':>27s}" for name in SCALING))
for b in BATCHES:
    print(f"{b:5d}   " + "".join(f"{best[name][b]:27.3g}" for name in SCALING))
for name in SCALING:
    steps = [f"×{best[name][b] / best[name][a]:.1f}" for a, b in zip(BATCHES, BATCHES[1:])]
    print(f"{name}: from batch 32 to 128 to 512 the best lr changes {' then '.join(steps)}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
for ax, name in zip(axes, SCALING):
    plotting.plot_sweep({f"batch {b}": sweeps[name, b] for b in BATCHES}, ax=ax, metric="train_loss")
    ax.set_title(f"{name}: loss after {SWEEP_EPOCHS} epochs")
plotting.plot_best_lr(best, ax=axes[2], rules={"linear rule, lr ∝ B": 1.0, "square-root rule, lr ∝ √B": 0.5})
axes[2].set_title("Best learning rate against batch size")
plt.show()

# %% [markdown]
# Read the numbers, not only the picture (the grid has three points per decade, so a
# measured best lr is good to a factor of about 2):
#
# - **SGD with momentum** follows the linear rule from batch 32 to 128: 4 times the batch,
#   about 4 times the lr. From 128 to 512 the rule would ask for another ×4; the best lr
#   grows less, because it has reached the largest step this network tolerates (above it
#   the loss blows up, the ✕ on the left). That is where the linear rule breaks down: not
#   at a batch size, but where the scaled lr meets the stability limit.
# - **Adam's** best lr grows with the batch too, but its loss curves are flatter and the
#   growth stops sooner. The square-root rule is derived for small learning rates, in the
#   limit where the noise dominates; four epochs on this network are not that regime, so
#   treat either rule as a first guess to check, not a law.
#
# ## Common mistake: a bigger batch with the same learning rate
#
# Take the lr that is best at batch 32, switch to batches of 512 to go faster, and keep the
# lr. The sweep already holds that run:

# %%
name = "SGD, momentum 0.9"
small, large = sweeps[name, 32], sweeps[name, 512]
kept = small.best("train_loss")
scaled = large.best("train_loss")
print(f"batch  32, lr {small.lrs[kept]:.3g}: training loss {small.final_train_loss[kept]:.3f}, "
      f"validation accuracy {small.final_val_accuracy[kept]:.1%}")
print(f"batch 512, lr {large.lrs[kept]:.3g}: training loss {large.final_train_loss[kept]:.3f}, "
      f"validation accuracy {large.final_val_accuracy[kept]:.1%}   ✗ the lr was not scaled")
print(f"batch 512, lr {large.lrs[scaled]:.3g}: training loss {large.final_train_loss[scaled]:.3f}, "
      f"validation accuracy {large.final_val_accuracy[scaled]:.1%}   (its own best lr)")

# %% [markdown]
# With 16 times fewer steps per epoch and the same step size, the large-batch run has
# simply not got far: it looks as if large batches were worse, when the lr was not adapted.
#
# ### 08.2 Scale the learning rate with the batch
#
# Write `scaled_lr(lr, batch_size, new_batch_size, optimizer)`: the learning rate to use at
# `new_batch_size`, given that `lr` works at `batch_size`, for the optimizer class
# `optimizer`. SGD (and any subclass of `torch.optim.SGD`) follows the linear rule; Adam,
# AdamW and RMSprop the square-root rule. The checker tries several classes and batch sizes,
# growing and shrinking.

# %%
def scaled_lr(lr, batch_size, new_batch_size, optimizer):
    # BEGIN SOLUTION
    ratio = new_batch_size / batch_size
    if issubclass(optimizer, torch.optim.SGD):
        return lr * ratio
    return lr * math.sqrt(ratio)
    # END SOLUTION


check("08.2", scaled_lr)

# %% [markdown]
# ## The learning-rate range test
#
# A sweep trains a network per learning rate. Smith (2017, *Cyclical Learning Rates for
# Training Neural Networks*) proposed a shortcut that fastai made popular as `lr_find`: one
# short run in which the lr grows exponentially at every step, from tiny to huge, while you
# watch the loss. `minibatch.lr_range_test` builds it from scratch:
#
# - step $k$ of `num_iter` uses $\text{lr}_k = \text{start} \cdot (\text{end}/\text{start})^{k/(\text{num\_iter}-1)}$;
# - the batch losses are smoothed, $s_0 = \ell_0$, $s_k = f\,\ell_k + (1-f)\,s_{k-1}$ with $f = 0.05$;
# - the test stops once $s_k$ exceeds 5 × the lowest $s$ so far (or is not finite);
# - it suggests an lr two ways, both stated plainly: **steepest slope**, where the smoothed
#   loss falls fastest, and **minimum / 10**, a tenth of the lr where it bottoms out;
# - afterwards it restores the model's weights and the optimizer's state: the test only looks.
#
# It matches the `torch-lr-finder` package step for step (the package's tests check it).
# Here it is for SGD with momentum and for Adam, at batch 32, next to the best lr the
# sweep measured:

# %%
tests = {}
for name, (cls, kwargs, lrs), start in [("SGD, momentum 0.9", SCALING["SGD, momentum 0.9"], 1e-4),
                                        ("Adam", SCALING["Adam"], 1e-5)]:
    torch.manual_seed(0)
    net = problems.digits_mlp()
    tests[name] = minibatch.lr_range_test(net, cls(net.parameters(), **kwargs), data, batch_size=32,
                                          start_lr=start, end_lr=10.0, num_iter=100)
    t = tests[name]
    print(f"{name}: {len(t)} steps, stopped {'at step ' + str(t.stopped_at) if t.diverged else 'never'}; "
          f"steepest slope {t.steepest:.2g}, minimum / 10 {t.minimum_over_10:.2g}, "
          f"best lr of the sweep {sweeps[name, 32].best_lr('train_loss'):.2g}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, (name, t) in zip(axes, tests.items()):
    plotting.plot_lr_range_test({name: t}, ax=ax)
    ax.axvline(sweeps[name, 32].best_lr("train_loss"), color="0.3", linestyle="--",
               label=f"best lr of the {SWEEP_EPOCHS}-epoch sweep")
    ax.legend(fontsize="small")
    ax.set_title(f"Range test: {name}")
plt.show()

# %% [markdown]
# After 100 steps of a single network, *minimum / 10* lands within a factor of two of the
# lr that a whole sweep (a dozen networks, 3 epochs each) found best, for both optimizers.
# *Steepest slope* is close for Adam but, for SGD with momentum, twenty times too high: the
# smoothed curve fell fastest just before it blew up. A rule reads one number off a curve;
# look at the curve too. It mixes two things, the lr *and* how far training has got by that
# step, so a long, slow start shifts it.
#
# ## Common mistake: training on after a hand-written range test
#
# A range test ends at a huge lr, with blown-up weights. Written by hand without the
# restore, it leaves them in the model:

# %%
torch.manual_seed(0)
net = problems.digits_mlp()
opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9)
print(f"before the range test: validation accuracy {minibatch.accuracy(net, x_val, y_val):.1%}")
shuffle = torch.Generator().manual_seed(0)
for k in range(100):
    idx = torch.randperm(len(x_train), generator=shuffle)[:32]
    opt.param_groups[0]["lr"] = 1e-4 * (10.0 / 1e-4) ** (k / 99)
    opt.zero_grad()
    torch.nn.functional.cross_entropy(net(x_train[idx]), y_train[idx]).backward()
    opt.step()                                           # ✗ nothing puts the weights back
print(f"after it:              validation accuracy {minibatch.accuracy(net, x_val, y_val):.1%}, "
      f"lr left at {opt.param_groups[0]['lr']:g}")

# %% [markdown]
# Training on from here starts from ruined weights, at the lr of the last step. Save
# `model.state_dict()` and `optimizer.state_dict()` (deep copies) before the test and load
# them after, as `lr_range_test` does; `torch-lr-finder` needs an explicit `reset()`.
#
# ### 08.3 The range test's smoothing and stopping rule
#
# Write `smooth_and_stop(losses, smooth_f, diverge_th)`: given the raw batch losses of a
# range test, return the list of smoothed losses, up to and including the step where the
# test stops. Start the average at the first loss; after that
# $s_k = \text{smooth\_f}\cdot\ell_k + (1-\text{smooth\_f})\,s_{k-1}$, except that
# `smooth_f = 0` turns smoothing off ($s_k = \ell_k$, `torch-lr-finder`'s convention). Stop at
# the first step whose $s_k$ is not finite or exceeds `diverge_th` × the lowest $s$ so far.
# Do not change the list you are given.

# %%
def smooth_and_stop(losses, smooth_f, diverge_th):
    # BEGIN SOLUTION
    smoothed, best = [], math.inf
    for k, loss in enumerate(losses):
        average = loss if k == 0 or smooth_f == 0 else smooth_f * loss + (1 - smooth_f) * smoothed[-1]
        smoothed.append(average)
        best = min(best, average)
        if not math.isfinite(average) or average > diverge_th * best:
            break
    return smoothed
    # END SOLUTION


check("08.3", smooth_and_stop)

# %% [markdown]
# ## Choosing an optimizer
#
# Now the sensitivity curves: for each of four optimizers, one copy of the network per lr,
# 3 epochs at batch 32, and the validation accuracy each copy reaches. The momentum and Adam
# sweeps are the batch-32 sweeps from above; plain SGD and AdamW are new. The *good band*
# of an optimizer is the run of learning rates whose accuracy is within 5 points of its best.

# %%
CHOICE = {"SGD": minibatch.lr_sweep(
              problems.digits_mlp, torch.optim.SGD, data, grid(-2, 4 / 3), SWEEP_EPOCHS, batch_size=32,
              fused=True, progress=True, label="SGD"),
          "SGD, momentum 0.9": sweeps["SGD, momentum 0.9", 32],
          "Adam": sweeps["Adam", 32],
          "AdamW, weight decay 0.01": minibatch.lr_sweep(
              problems.digits_mlp, torch.optim.AdamW, data, grid(-4, 0), SWEEP_EPOCHS, batch_size=32,
              weight_decay=0.01, fused=True, progress=True, label="AdamW")}
WITHIN = 0.05
print("optimizer                  best lr   accuracy   good band (within 5 points)   width")
for name, sweep in CHOICE.items():
    low, high = sweep.good_band(WITHIN)
    print(f"{name:25s} {sweep.best_lr():8.2g}   {sweep.final_val_accuracy.nan_to_num().max():8.1%}"
          f"   {low:9.2g} to {high:<9.2g}          {sweep.band_decades(WITHIN):.2f} decades")

# %%
ax = plotting.plot_sweep(CHOICE, within=WITHIN)
ax.set_title(f"Sensitivity curves: validation accuracy after {SWEEP_EPOCHS} epochs, batch 32 "
             "(shaded: within 5 points of the best)")
ax.figure.set_size_inches(11, 4.5)
plt.show()

# %% [markdown]
# ### The two claims, measured
#
# The verdicts below are computed from the table, not written in advance:

# %%
def points(fraction):
    """An accuracy in percent, rounded as the table prints it."""
    return round(100 * float(fraction), 1)


best_accuracy = {name: points(s.final_val_accuracy.nan_to_num().max()) for name, s in CHOICE.items()}
across_optimizers = max(best_accuracy.values()) - min(best_accuracy.values())
across_lrs = min(points(s.final_val_accuracy.nan_to_num().max()) - points(s.final_val_accuracy.nan_to_num().min())
                 for s in CHOICE.values())
print(f"1. 'The learning rate matters more than the optimizer': at its best lr every optimizer "
      f"lands within {across_optimizers:.1f} percentage points of the others;\n   moving the lr over its grid "
      f"changes each one's accuracy by at least {across_lrs:.1f} points. "
      f"{'Holds' if across_lrs > across_optimizers else 'Does not hold'} here.")
width = {name: round(s.band_decades(WITHIN), 2) for name, s in CHOICE.items()}   # on the grid: 1/3 decade steps
adaptive = min(width["Adam"], width["AdamW, weight decay 0.01"])
plain = max(width["SGD"], width["SGD, momentum 0.9"])
verdict = ("Holds" if adaptive > plain else
           "Does not hold: the bands are equally wide" if adaptive == plain else "Does not hold")
print(f"2. 'Adam is less sensitive to the learning rate': good bands of Adam {width['Adam']:.2f} and AdamW "
      f"{width['AdamW, weight decay 0.01']:.2f} decades,\n   SGD {width['SGD']:.2f} and SGD with momentum "
      f"{width['SGD, momentum 0.9']:.2f} (the narrowest adaptive band against the widest SGD one). "
      f"{verdict} here.")

# %% [markdown]
# How to read the two verdicts:
#
# - Claim 1 compares two spreads. The optimizers' best accuracies differ by a few points; a
#   learning rate off by a decade costs tens of points. Tune the lr before you switch
#   optimizers. (Plain SGD trails the others: in 3 epochs its best is limited by how fast it
#   can go.)
# - Claim 2 depends on what "sensitive" means. Measured as the width of the good band, on a
#   grid of three points per decade, Adam's band is as wide as momentum SGD's, and plain
#   SGD's is narrower. Where the bands sit differs far more: Adam's good lrs are about ten
#   times smaller than SGD's. An SGD learning rate given to Adam diverges; "less sensitive"
#   never means "any lr".
#
# One seed, one network, 3 epochs: more seeds and longer training move every number here a
# little; rerun the sweeps with `seed=1` in `lr_sweep` to see by how much.
#
# ## Ours next to torch's
#
# Every run above used torch's optimizers. `myoptim_helpers.optim.Adam` is built from
# scratch in lesson 04; on this network it gives the same numbers:

# %%
pair = {f"{source} Adam": training.fit(problems.digits_mlp, cls, data, 2, batch_size=32, lr=0.01,
                                       progress=False, label=f"{source} Adam")
        for source, cls in [("torch.optim", torch.optim.Adam), ("myoptim_helpers.optim", optim.Adam)]}
ours, theirs = pair["myoptim_helpers.optim Adam"], pair["torch.optim Adam"]
difference = (ours.step_losses - theirs.step_losses).abs().max().item()
print(f"{len(ours.step_losses)} steps: largest |ours − torch's| batch loss below 1e-12: {difference < 1e-12}")

# %%
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(theirs.step_losses.numpy(), linewidth=2.5, color="C0", label="torch.optim.Adam")
ax.plot(ours.step_losses.numpy(), "o", markersize=2.5, color="C1", label="myoptim_helpers.optim.Adam")
ax.set(yscale="log", xlabel="optimizer step", ylabel="loss of the step's batch (log scale)",
       title="Adam, lr 0.01, batch 32: the two curves are one")
ax.legend(fontsize="small")
plt.show()

# %% [markdown]
# ## Explore: batch size × learning rate
#
# Move the sliders: each setting trains the digits network afresh (a second or two). Try
# batch 8 against batch 512 at the same lr, then raise the lr for the large batch; find the
# lr at which SGD blows up, and how much further Adam's stays calm.

# %%
from myoptim_helpers import widgets

widgets.batch_explorer("SGD", lr=0.1, batch_size=32, epochs=3)

# %% [markdown]
# ## Recap
#
# - Minibatch SGD takes many cheap, noisy steps per epoch and beats full-batch descent for
#   the same arithmetic. The gradient noise, measured, falls as $1/B$ (exactly as
#   $\sigma^2/B\cdot(N-B)/(N-1)$ for an epoch's batches).
# - A constant lr stalls at a noise floor; a decaying schedule (cosine) goes below it.
# - Linear scaling (batch × k, lr × k) holds for SGD until the lr meets the stability
#   limit; Adam's best lr grows more slowly (the square-root rule is the paper's guess).
#   Scale the lr when you change the batch.
# - The range test (`minibatch.lr_range_test`): an exponential lr sweep in one short run,
#   smoothed, stopped at divergence, weights restored; minimum / 10 gave the right decade
#   here, steepest slope can land just before the blow-up.
# - Sensitivity curves: the lr matters more than the optimizer; Adam's good band is as
#   wide as momentum SGD's, and far from it.
#
# ## Next
#
# [09 · The production step](09_production_step.ipynb): gradient clipping, mixed precision,
# accumulation with schedulers, EMA and full checkpoints.
