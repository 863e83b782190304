# ---
# summary: SGD built up line by line and matched to torch.optim.SGD — learning rates on a ravine, momentum as a sum of past gradients, dampening, Nesterov, maximize, weight decay, and torch's momentum convention vs the paper's.
# ---

# %% [markdown]
# # 03 · SGD: momentum, dampening, Nesterov
#
# {{badges}}
#
# `torch.optim.SGD` is one line, $\theta \leftarrow \theta - \text{lr}\cdot g$, plus five
# options that change what $g$ is. This lesson writes the line, then adds the options one
# at a time, and checks each version against `torch.optim.SGD` at every step.
#
# ## You will learn
# - why a learning rate is too small, right or too large, read off the curvature of a ravine,
#   and how many steps it needs: the slowest direction sets the pace
# - the momentum buffer: a weighted sum of past gradients, started at the first gradient
# - `dampening`, `nesterov`, `maximize` and `weight_decay`, each as the line torch runs, equal to torch in float64
# - what `nesterov=True` computes in torch (there is no look-ahead gradient)
# - torch's momentum convention vs Sutskever et al.'s: equal while `lr` is constant, different when it changes
#
# ## You should already know
# - the training loop `zero_grad`, `backward`, `step` ([02](02_zero_grad_and_step.ipynb))
# - that the gradient of $a x^2$ is $2 a x$

# %%
# {{colab_setup}}
import inspect

import matplotlib.pyplot as plt
import torch

from myoptim_helpers import optim, plotting, problems, training
from myoptim_helpers.exercises import check, hint, reveal, show_solution

_ = torch.manual_seed(0)  # nothing below is random; seeded anyway (`_ =` hides the generator)

# %% [markdown]
# ## 1. Plain SGD: one line
#
# With $g_t$ the gradient at $\theta_{t-1}$, one step of SGD is
#
# $$\theta_t = \theta_{t-1} - \text{lr}\; g_t .$$
#
# Our playground is the **ravine** $f(x, y) = 0.1\,x^2 + 2\,y^2$: a valley 20 times steeper
# across ($y$) than along ($x$), with its minimum at $(0, 0)$. `follow` runs an update
# function from the ravine's start $(-4, 2)$ and keeps the points; the function gets the
# parameter `p`, its gradient `g`, a dict `state` it may fill, and the learning rate.

# %%
ravine = problems.get_surface("ravine")


def follow(update, steps, lr, **hyper):
    """Run `update(p, g, state, lr, **hyper)` on the ravine; return the start and the point
    after each step, shape (steps + 1, 2). `lr` may be a function of the step index."""
    p = torch.tensor(ravine.start, dtype=torch.float64, requires_grad=True)
    state, points = {}, [p.detach().clone()]
    for t in range(steps):
        p.grad = None
        ravine(p).backward()
        with torch.no_grad():
            update(p, p.grad, state, lr(t) if callable(lr) else lr, **hyper)
        points.append(p.detach().clone())
    return torch.stack(points)

# %% [markdown]
# `compare` runs an update function, `torch.optim.SGD` and `myoptim_helpers.optim.SGD` with
# the same hyperparameters for 30 steps (float64) and prints the largest difference from
# torch over all steps and both coordinates.

# %%
def compare(update, steps=30, lr=0.1, **hyper):
    """Print max |ours − torch| and max |myoptim_helpers − torch| over `steps` steps."""
    ours = follow(update, steps, lr, **hyper)
    torchs = training.run(torch.optim.SGD, "ravine", steps, lr=lr, **hyper).positions
    package = training.run(optim.SGD, "ravine", steps, lr=lr, **hyper).positions
    print(f"{update.__name__:17s} {str(hyper):38s} max |ours − torch| = "
          f"{(ours - torchs).abs().max():.1e}   max |myoptim_helpers − torch| = "
          f"{(package - torchs).abs().max():.1e}")


def sgd_plain(p, g, state, lr):
    p.add_(g, alpha=-lr)                               # θ_t = θ_{t−1} − lr · g_t


def sgd_plain_rounded(p, g, state, lr):
    p -= lr * g                                        # the same formula, rounded in another order


compare(sgd_plain)
rounded = follow(sgd_plain_rounded, 30, 0.1) - training.run(torch.optim.SGD, "ravine", 30, lr=0.1).positions
print(f"sgd_plain_rounded: equal to torch to rounding (< 1e-15): {rounded.abs().max().item() < 1e-15}")

# %% [markdown]
# `p.add_(g, alpha=-lr)` is $p - \text{lr}\cdot g$ computed as torch computes it, so it
# equals torch **exactly**, on any machine. `p -= lr * g` rounds `lr * g` first; depending
# on the CPU, that can differ from torch in the last bit. Every function below uses torch's
# operations, so each difference printed below is exactly 0.
#
# ## 2. The learning rate: too small, right, too large
#
# The gradient of $0.1x^2 + 2y^2$ is $(0.2\,x,\ 4\,y)$, so one SGD step multiplies each
# coordinate by a fixed factor:
#
# $$x_t = (1 - 0.2\,\text{lr})\, x_{t-1}, \qquad y_t = (1 - 4\,\text{lr})\, y_{t-1}.$$
#
# SGD converges when both factors are between −1 and 1, that is when $0 < \text{lr} < 2/4 = 0.5$:
# the steepest direction (curvature 4) sets the limit.

# %%
for lr in (0.05, 0.3, 0.49, 0.6):
    print(f"lr = {lr:4}:   x × {1 - 0.2 * lr:.3f} per step,   y × {1 - 4 * lr:+.3f} per step")

# %%
lr_runs = {f"lr={lr}": training.run(torch.optim.SGD, "ravine", 50, lr=lr) for lr in (0.05, 0.3, 0.49)}
lr_runs["lr=0.6 (diverging)"] = training.run(torch.optim.SGD, "ravine", 50, lr=0.6)
for run in lr_runs.values():
    print(run.summary())

# every first step is −lr·g from the same start, so on one map the paths would cover each
# other: one panel per lr, in the colour its loss has on the right
fig, axes = plt.subplot_mosaic([[0, 1, "loss"], [2, 3, "loss"]], figsize=(13, 6.2), width_ratios=(1, 1, 1.4),
                               layout="constrained")
first_steps = {**lr_runs, "lr=0.6 (diverging)": training.run(torch.optim.SGD, "ravine", 4, lr=0.6)}
verdicts = ("too small", "right", "on the edge", "too large (its first 4 steps)")   # 50 would paint it red
for i, ((name, run), verdict) in enumerate(zip(first_steps.items(), verdicts)):
    plotting.plot_trajectories({name: run}, ax=axes[i], colors=[f"C{i}"], legend=False)
    axes[i].set(xlim=(-4.6, 0.6), title=f"{name.split()[0]}: {verdict}")
axes[0].legend(loc="lower left", fontsize="small")
plotting.plot_losses(lr_runs, ax=axes["loss"])
axes["loss"].set_title("Loss per step")
plt.show()

# %% [markdown]
# - **lr = 0.05, too small:** $y$ is multiplied by 0.8 per step and is soon 0, but $x$
#   only by 0.99: the point crawls along the valley floor and is still at $x = -2.4$ after 50 steps.
# - **lr = 0.3, right:** $x$ is multiplied by 0.94 and $y$ by $-0.2$ per step (a small
#   zigzag that dies at once). "Right" here means fast *with a margin*: 0.3 is 40% below
#   the edge at 0.5, so a curvature misjudged by half still converges. It is not the
#   fastest: once the zigzag is gone only the factor for $x$ counts, and the fastest
#   constant lr makes the two factors equally large, $1 - 0.2\,\text{lr} = -(1 - 4\,\text{lr})$,
#   at $\text{lr} = 2/(0.2 + 4) \approx 0.476$, a hair from the edge (section 8 derives it).
# - **lr = 0.49, on the edge:** $x$ is faster still (0.902), but $y$ is multiplied by
#   $-0.96$: it flips side at every step and shrinks by only 4%, the dense zigzag of its panel.
# - **lr = 0.6, too large:** $|1 - 4 \cdot 0.6| = 1.4$: $y$ flips side and grows by 40% per
#   step. The red path leaves the plot after two steps (only its first 4 are drawn), and
#   its loss climbs a straight line on the log scale.
#
# ## Common mistake: raising the learning rate to go faster
#
# From 0.49 to 0.6 is a small change, and nothing warns you. Here is the lr = 0.6 run again,
# this time for up to 2000 steps:

# %%
overflowing = training.run(torch.optim.SGD, "ravine", 2000, lr=0.6)   # stops when a value overflows
for k in (0, 1, 2, 10, 50, 200, 1000, len(overflowing)):
    print(f"step {k:4d}   loss {overflowing.losses[k]:10.4g}   y = {overflowing.positions[k, 1]:+10.4g}")
print(f"then: {overflowing.reason}")

fig, ax = plt.subplots(figsize=(7, 3.5))
plotting.plot_losses({"lr=0.6": overflowing}, ax=ax)
ax.set_title("Plain SGD, lr = 0.6, until the loss overflows (✕)")
plt.show()

# %% [markdown]
# The symptom: the loss *rises* from the first step and never comes back, while $x$
# converges happily (the factor for $x$ is 0.88). No error is raised until float64
# overflows, here at step 1052 (the plot's axis stops at $10^{200}$; the ✕ marks the
# overflow). After that the next operations turn `inf` into `nan` ($\infty - \infty$,
# $0 \cdot \infty$) and every later step is `nan`. The cure is a learning rate below
# $2 / \text{(largest curvature)}$. (Momentum moves that limit: on a quadratic, SGD
# with momentum $\mu$ converges for $\text{lr} < 2(1 + \mu) / \text{(largest curvature)}$, which is
# 0.95 here for $\mu = 0.9$. Try it in the rate explorer of section 8: at momentum 0.9, lr 0.9
# converges and lr 1.0 does not.)
#
# ### Exercise 03.1 · Predict, then reveal: how many steps?
#
# Plain SGD on the ravine, from $(-4, 2)$. How many steps until the point is **100 times
# closer** to the minimum in both coordinates, $|x_t| \le |x_0|/100$ and $|y_t| \le |y_0|/100$:
# with lr = 0.3, and with lr = 0.49? Work it out from the factors of section 2 before anything
# runs, and give `steps_needed = (steps at lr=0.3, steps at lr=0.49)`.
#
# Then write the count for any direction (one `check` grades both, so fill in both before you
# run it): `steps_to_shrink(lr, curvature, factor)` returns how many plain SGD steps bring the
# error along a direction of curvature $\lambda$ to at most 1/`factor` of its start
# (`factor` > 1), and `math.inf` if it never gets there. The checker
# runs it next to `torch.optim.SGD` on configurations it draws when you run it, including
# those where $1 - \text{lr}\,\lambda$ is negative, exactly 0 (lr $= 1/\lambda$ lands on the
# minimum in one step) or exactly $-1$.

# %%
import math

# BEGIN SOLUTION
# STUB: steps_needed = (..., ...)
steps_needed = (75, 113)   # lr=0.3: x (× 0.94) needs 75, y (× −0.2) 3; lr=0.49: x (× 0.902) 45, y (× −0.96) 113
# END SOLUTION


def steps_to_shrink(lr, curvature, factor):
    """Plain SGD steps until the error along a direction of `curvature` is at most 1/factor of its start."""
    # BEGIN SOLUTION
    rate = abs(1 - lr * curvature)                     # each step multiplies the error by 1 − lr·λ
    if rate >= 1:
        return math.inf                                # it bounces (rate 1) or grows: never
    if rate == 0:
        return 1                                       # lr = 1/λ: on the minimum after one step
    return math.ceil(math.log(factor) / -math.log(rate))   # the first t with rate^t ≤ 1/factor
    # END SOLUTION


check("03.1", steps_needed, steps_to_shrink)

# %% [markdown]
# **The reveal.** The two runs of `torch.optim.SGD`, each coordinate's error as a fraction of its
# start (solid) against $|1 - \text{lr}\,\lambda|^t$ (dotted), and the steps counted. The cell
# shows them once you have checked an answer of your own (right or wrong) above:

# %%
if reveal("03.1"):   # the truth, once you have committed to an answer above
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharey=True)
    for ax, lr in zip(axes, (0.3, 0.49)):
        shrunk = (training.run(torch.optim.SGD, "ravine", 130, lr=lr).positions / torch.tensor(ravine.start, dtype=torch.float64)).abs()
        first = [int((shrunk[:, k] <= 0.01).nonzero()[0]) for k in (0, 1)]   # first step each is 100× closer
        both = int((shrunk <= 0.01).all(dim=1).nonzero()[0])
        print(f"lr = {lr}: x is 100 times closer at step {first[0]:3d}, y at step {first[1]:3d}: both at step {both}")
        t = torch.arange(len(shrunk))
        for k, (name, curvature) in enumerate((("x", 0.2), ("y", 4.0))):
            ax.plot(t, shrunk[:, k], label=f"$|{name}_t / {name}_0|$, torch (× {1 - lr * curvature:+.3f} per step)")
            ax.plot(t, abs(1 - lr * curvature) ** t.double(), ":", color="black", linewidth=1,
                    label=r"formula $|1 - \mathrm{lr}\,\lambda|^t$" if k else None)
        ax.axhline(0.01, color="gray", linewidth=0.8, label="1/100 of the start")
        ax.axvline(both, color="red", linestyle="--", linewidth=1, label=f"both 100× closer: step {both}")
        ax.set(yscale="log", ylim=(1e-3, 2), xlabel="step t", title=f"Plain SGD, lr = {lr}")
        ax.legend(loc="upper right", fontsize="small")
    axes[0].set_ylabel("error / its start (log scale)")
    plt.show()

# %% [markdown]
# lr = 0.49 is 60% larger than 0.3 and needs half again as many steps. Each direction needs
# $\ln 100 / {-\ln|1 - \text{lr}\,\lambda|}$ steps, rounded up, and the run goes at the pace
# of the slowest one: at 0.3 that is the flat $x$, at 0.49 the steep $y$, which zigzags
# almost without shrinking. The **slowest direction sets the pace, the steepest sets the
# limit**, and the fastest constant lr balances the two (0.476, section 2). The window of good
# learning rates is narrow: the flat direction wants lr large, the steep one caps it, and the
# ratio of the curvatures, here 20 (the *condition number*), decides how narrow. Momentum is
# the classic way out.
#
# ## 3. Momentum: a running sum of gradients
#
# SGD with momentum $\mu$ steps along a **buffer** $b$ instead of the gradient. In torch:
#
# $$b_1 = g_1, \qquad b_t = \mu\, b_{t-1} + g_t, \qquad \theta_t = \theta_{t-1} - \text{lr}\; b_t .$$
#
# torch stores $b$ as `state[p]["momentum_buffer"]`, created at the first step from a copy
# of the first gradient.

# %%
def sgd_momentum(p, g, state, lr, momentum):
    buf = state.get("momentum_buffer")
    if buf is None:
        buf = state["momentum_buffer"] = g.clone()     # b_1 = g_1 (a copy: g is p.grad)
    else:
        buf.mul_(momentum).add_(g)                     # b_t = μ b_{t−1} + g_t
    p.add_(buf, alpha=-lr)                             # θ_t = θ_{t−1} − lr · b_t


compare(sgd_momentum, momentum=0.9)

# %% [markdown]
# Unrolled, the buffer is a weighted sum of all the gradients so far, the recent ones
# weighing most:
#
# $$b_t = \sum_{k=1}^{t} \mu^{\,t-k}\, g_k .$$
#
# `training.run` records the gradient at every point and, on request, the state after every
# step; the sum computed from the gradients equals the buffer torch stored:

# %%
mu = 0.9
run = training.run(torch.optim.SGD, "ravine", 30, lr=0.05, momentum=mu, record_state=("momentum_buffer",))
grads = run.grads[:-1]                     # g_1 … g_30: the gradient each step used
worst = 0.0
for t in range(1, 31):
    weights = mu ** torch.arange(t - 1, -1, -1, dtype=torch.float64)       # μ^(t−k) for k = 1 … t
    unrolled = (weights[:, None] * grads[:t]).sum(dim=0)                   # Σ μ^(t−k) g_k
    worst = max(worst, (unrolled - run.state["momentum_buffer"][t - 1]).abs().max().item())
print(f"momentum_buffer = Σ μ^(t−k) g_k at all 30 steps, to rounding (< 1e-13): {worst < 1e-13}")
print(f"sum of the weights after 30 steps: {(1 - mu**30) / (1 - mu):.4f}   limit 1 / (1 − μ) = {1 / (1 - mu):.1f}")

# %% [markdown]
# The weights add up to $(1 - \mu^t)/(1 - \mu)$, which tends to $1/(1-\mu)$. So where the
# gradient keeps pointing the same way, the step grows to $\text{lr}/(1-\mu)$: **ten times**
# plain SGD's for $\mu = 0.9$. Where it flips sign, the terms partly cancel. On the ravine
# the gradient along the flat $x$ keeps its sign for many steps, so that is where momentum
# speeds SGD up.

# %%
momentum_runs = {"lr=0.05": training.run(torch.optim.SGD, "ravine", 50, lr=0.05),
                 "lr=0.05, momentum=0.9": training.run(torch.optim.SGD, "ravine", 50, lr=0.05, momentum=0.9)}
for name, run in momentum_runs.items():
    print(f"{name:22s} loss after 50 steps {run.final_loss:.4f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
k = torch.arange(1, 31)
for m in (0.5, 0.9, 0.99):
    right.plot(k, m ** (30 - k), marker="o", markersize=3, label=f"μ = {m}")
right.set(xlabel=r"step $k$ of the gradient $g_k$", ylabel=r"weight $\mu^{30-k}$ of $g_k$ in $b_{30}$",
          title="How far back the buffer remembers")
right.legend()
plotting.plot_trajectories(momentum_runs, ax=left)
left.set_title("Same lr, with and without momentum")
plt.show()

# %% [markdown]
# With the same `lr`, momentum travels along the valley many times faster: loss 0.013
# instead of 0.59 after 50 steps. The price is the swinging: the buffer remembers gradients
# for about $1/(1-\mu) = 10$ steps (right, orange), so the path overshoots the valley floor,
# swings across it, and even passes the minimum before it turns back.
#
# ## 4. Dampening, and the first step
#
# `dampening` $d$ scales the new gradient before it enters the buffer, **from the second
# step on**. The first buffer is the first gradient, undampened:
#
# $$b_1 = g_1, \qquad b_t = \mu\, b_{t-1} + (1 - d)\, g_t \quad (t \ge 2).$$

# %%
def sgd_dampening(p, g, state, lr, momentum, dampening):
    buf = state.get("momentum_buffer")
    if buf is None:
        buf = state["momentum_buffer"] = g.clone()     # b_1 = g_1: no dampening on step 1
    else:
        buf.mul_(momentum).add_(g, alpha=1 - dampening)  # b_t = μ b_{t−1} + (1 − d) g_t
    p.add_(buf, alpha=-lr)                             # θ_t = θ_{t−1} − lr · b_t


compare(sgd_dampening, momentum=0.9, dampening=0.5)

# %% [markdown]
# Unrolled, the first gradient keeps its full weight and every later one is scaled by $1 - d$:
#
# $$b_t = \mu^{\,t-1}\, g_1 + (1 - d) \sum_{k=2}^{t} \mu^{\,t-k}\, g_k .$$

# %%
d = 0.5
run = training.run(torch.optim.SGD, "ravine", 30, lr=0.05, momentum=mu, dampening=d, record_state=("momentum_buffer",))
weights = (1 - d) * mu ** torch.arange(29, -1, -1, dtype=torch.float64)    # (1 − d) μ^(30−k)
weights[0] = mu**29                                                         # g_1: μ^29, undampened
unrolled = (weights[:, None] * run.grads[:30]).sum(dim=0)
buffer = run.state["momentum_buffer"][-1]
print(f"b_30 from the formula: ({unrolled[0]:.6f}, {unrolled[1]:.6f})   torch's momentum_buffer: "
      f"({buffer[0]:.6f}, {buffer[1]:.6f})")

# %% [markdown]
# With $d = \mu$ these weights add up to exactly 1 ($\mu^{t-1} + (1-\mu)(1 + \mu + \dots + \mu^{t-2})$):
# the buffer is then a true weighted **average** of the gradients, an exponential moving
# average started at $g_1$. (Adam's average starts at 0 instead and needs a bias correction
# for it: lesson 04.)
#
# ## Common mistake: a buffer that starts at zero
#
# Many write-ups, and some other frameworks, start the buffer at $b_0 = 0$ and apply the
# same update from the first step, $b_1 = \mu \cdot 0 + (1-d)\,g_1$. With $d = 0$ that is
# torch's $b_1 = g_1$; with dampening it is not. Live, against torch:

# %%
def sgd_zero_buffer(p, g, state, lr, momentum, dampening):
    buf = state.setdefault("momentum_buffer", torch.zeros_like(p))   # b_0 = 0: not torch
    buf.mul_(momentum).add_(g, alpha=1 - dampening)                   # b_1 = (1 − d) g_1
    p.add_(buf, alpha=-lr)


zero_run = follow(sgd_zero_buffer, 3, 0.05, momentum=0.9, dampening=0.5)
torch_run = training.run(torch.optim.SGD, "ravine", 3, lr=0.05, momentum=0.9, dampening=0.5).positions
for t in range(1, 4):
    print(f"step {t}:  torch moves {(torch_run[t] - torch_run[t - 1]).norm():.4f},   "
          f"the zero-started buffer moves {(zero_run[t] - zero_run[t - 1]).norm():.4f}")

# %% [markdown]
# The symptom: the first step is exactly $(1 - d) = 0.5$ times torch's, and the next ones
# stay shorter too. The cure is the first line of `sgd_dampening`: `momentum_buffer = g.clone()`
# when there is no buffer yet.
#
# ### Exercise 03.2 · Predict two steps with momentum
#
# One parameter $w = 1$, the loss $(w - 3)^2$ (gradient $2(w - 3)$), and
# `torch.optim.SGD([w], lr=0.1, momentum=0.9, dampening=0.75)`. **By hand**, what are `w`
# and its `momentum_buffer` after two steps? Give numbers (you can check them with torch
# afterwards).

# %%
# BEGIN SOLUTION
# STUB: w_after_two = ...
# STUB: buffer_after_two = ...
# step 1: g_1 = 2(1 − 3) = −4,  b_1 = g_1 = −4,  w_1 = 1 − 0.1·(−4) = 1.4
# step 2: g_2 = 2(1.4 − 3) = −3.2,  b_2 = 0.9·(−4) + (1 − 0.75)·(−3.2) = −4.4,  w_2 = 1.4 + 0.44
w_after_two = 1.84
buffer_after_two = -4.4
# END SOLUTION
check("03.2", w_after_two, buffer_after_two)

# %% [markdown]
# ## 5. Nesterov momentum, as torch computes it
#
# With `nesterov=True`, torch updates the buffer as before and then steps along the
# gradient **plus** the momentum of the updated buffer:
#
# $$b_t = \mu\, b_{t-1} + g_t, \qquad \theta_t = \theta_{t-1} - \text{lr}\,(g_t + \mu\, b_t).$$
#
# The gradient $g_t$ is still taken at $\theta_{t-1}$, the current parameters: torch never
# evaluates a gradient at a "look-ahead" point.

# %%
def sgd_nesterov(p, g, state, lr, momentum, nesterov):
    buf = state.get("momentum_buffer")
    if buf is None:
        buf = state["momentum_buffer"] = g.clone()     # b_1 = g_1
    else:
        buf.mul_(momentum).add_(g)                     # b_t = μ b_{t−1} + g_t
    step = g.add(buf, alpha=momentum) if nesterov else buf   # g_t + μ b_t
    p.add_(step, alpha=-lr)                            # θ_t = θ_{t−1} − lr (g_t + μ b_t)


compare(sgd_nesterov, momentum=0.9, nesterov=True)

# %% [markdown]
# Sutskever et al. (2013) write Nesterov's method with a look-ahead gradient and the
# learning rate inside a velocity $v$:
#
# $$v_t = \mu\, v_{t-1} - \text{lr}\,\nabla f(\theta_{t-1} + \mu\, v_{t-1}), \qquad \theta_t = \theta_{t-1} + v_t .$$
#
# torch runs the same method on shifted variables: its parameters are the paper's
# look-ahead points $\theta_t + \mu v_t$, and its buffer is $-v_t / \text{lr}$ (so this holds
# while `lr` is constant). Checked numerically:

# %%
def nesterov_paper(steps, lr, momentum):
    """Sutskever et al.'s Nesterov momentum on the ravine; return θ_t + μ v_t after each step."""
    theta = torch.tensor(ravine.start, dtype=torch.float64)
    v = torch.zeros(2, dtype=torch.float64)
    points = []
    for _ in range(steps):
        ahead = (theta + momentum * v).requires_grad_()
        ravine(ahead).backward()                       # the gradient at the look-ahead point
        v = momentum * v - lr * ahead.grad             # v_t = μ v_{t−1} − lr ∇f(θ_{t−1} + μ v_{t−1})
        theta = theta + v                              # θ_t = θ_{t−1} + v_t
        points.append(theta + momentum * v)
    return torch.stack(points)


paper_points = nesterov_paper(60, lr=0.1, momentum=0.9)
torch_points = training.run(torch.optim.SGD, "ravine", 60, lr=0.1, momentum=0.9, nesterov=True).positions[1:]
print(f"torch's parameters = the paper's θ_t + μ v_t over 60 steps, to rounding (< 1e-14): "
      f"{(paper_points - torch_points).abs().max().item() < 1e-14}")

# %% [markdown]
# ## Common mistake: `nesterov=True` without momentum
#
# Nesterov is a way to apply momentum, so it needs some, and no dampening. torch checks
# this when the optimizer is built:

# %%
from myoptim_helpers import expect_error  # prints the error in one line; the lesson runs on

w = torch.zeros(2, requires_grad=True)
with expect_error(ValueError):
    torch.optim.SGD([w], lr=0.1, nesterov=True)       # momentum defaults to 0

# %% [markdown]
# The fix: `torch.optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True)`.
#
# ## 6. `maximize` and `weight_decay`: two changes to $g$
#
# Both act on the gradient **before** the momentum buffer sees it:
#
# - `maximize=True` climbs: $g_t \leftarrow -g_t$. The buffer then holds the momentum of $-g$.
# - `weight_decay` $\lambda$ adds $\lambda\,\theta_{t-1}$, the gradient of the L2 penalty
#   $\tfrac{\lambda}{2}\lVert\theta\rVert^2$: $g_t \leftarrow g_t + \lambda\,\theta_{t-1}$. So the
#   decay goes through the momentum buffer too (lesson 05 compares this with *decoupled* decay).

# %%
def sgd_maximize(p, g, state, lr, momentum, maximize):
    g = -g if maximize else g                          # g_t ← −g_t: climb instead of descend
    sgd_momentum(p, g, state, lr, momentum)


def sgd_weight_decay(p, g, state, lr, momentum, weight_decay):
    g = g.add(p, alpha=weight_decay)                   # g_t ← g_t + λ θ_{t−1}   (a new tensor)
    sgd_momentum(p, g, state, lr, momentum)


compare(sgd_maximize, momentum=0.9, maximize=True)
compare(sgd_weight_decay, momentum=0.9, weight_decay=0.1)

# %% [markdown]
# (Maximizing the ravine runs away from its minimum, so those numbers grow: the difference
# is still exactly 0.) `myoptim_helpers.optim.SGD` puts all of the above into one step.
# Each option, and several at once, against torch (60 steps each on the Rosenbrock valley,
# float64):

# %%
options = [{}, {"momentum": 0.9}, {"momentum": 0.9, "dampening": 0.5}, {"momentum": 0.9, "nesterov": True},
           {"momentum": 0.9, "maximize": True}, {"momentum": 0.9, "weight_decay": 0.1},
           {"momentum": 0.5, "dampening": 0.1, "weight_decay": 0.01, "maximize": True}]
for kwargs in options:
    ours = training.run(optim.SGD, "rosenbrock", 60, lr=1e-3, **kwargs)
    torchs = training.run(torch.optim.SGD, "rosenbrock", 60, lr=1e-3, **kwargs)
    print(f"{str(kwargs):70s} max |myoptim_helpers − torch| = {(ours.positions - torchs.positions).abs().max():.1e}")

# %% [markdown]
# ### Exercise 03.3 · SGD with momentum from scratch
#
# Write `sgd_momentum_step` for **one** parameter tensor: given `param`, its gradient
# `grad`, the `momentum_buffer` from the previous step (`None` at the first step) and the
# hyperparameters, return the new `(param, momentum_buffer)` as torch would leave them,
# with every option of sections 3 to 6 (momentum > 0 always). Update `param` and
# `momentum_buffer` in place or build new tensors, as you like, but do **not** change
# `grad` (in an optimizer it is `p.grad`, which other code still reads).
#
# The checker runs your function next to `torch.optim.SGD` for five steps in 24
# configurations it draws when you run it: every combination of `nesterov`, `maximize`,
# `dampening` and `weight_decay`, other momentum and learning rates than this lesson's,
# float32 and float64 parameters of several shapes (a 0-dim one too), zero, negative and
# large gradients, and `lr` halved after step 3 as a scheduler would. It names the first
# step that differs and the likely cause.

# %%
def sgd_momentum_step(param, grad, momentum_buffer, *, lr, momentum, dampening, nesterov,
                      weight_decay, maximize):
    """Return (param, momentum_buffer) after one step of torch.optim.SGD with momentum > 0."""
    # BEGIN SOLUTION
    g = -grad if maximize else grad                          # g_t (a new tensor: grad stays untouched)
    if weight_decay != 0:
        g = g + weight_decay * param                         # g_t + λ θ_{t−1}, after maximize's sign
    if momentum_buffer is None:
        momentum_buffer = g.clone()                          # b_1 = g_1, no dampening
    else:
        momentum_buffer = momentum * momentum_buffer + (1 - dampening) * g   # b_t = μ b_{t−1} + (1 − d) g_t
    step = g + momentum * momentum_buffer if nesterov else momentum_buffer  # Nesterov: g_t + μ b_t
    return param - lr * step, momentum_buffer                # θ_t = θ_{t−1} − lr · step
    # END SOLUTION


check("03.3", sgd_momentum_step)

# %% [markdown]
# The same step in `myoptim_helpers` is `optim.sgd_update`, the function `optim.SGD.step`
# calls for each parameter. Its docstring is the algorithm in the symbols of the code:

# %%
if reveal("03.3"):   # after your own attempt: the same step as the package writes it
    print(inspect.getsource(optim.sgd_update))

# %% [markdown]
# It updates `param` in place, and the buffer from the second step on, and returns the buffer
# (a new one at the first step); the class `optim.SGD` stores it in
# `self.state[p]["momentum_buffer"]`. torch's `_single_tensor_sgd` returns nothing: it writes
# the new buffer into the list it was given, `momentum_buffer_list[i] = buf`, and
# `torch.optim.SGD.step` copies that list into `state[p]["momentum_buffer"]` afterwards.

# %% [markdown]
# ## 7. torch's momentum vs the paper's
#
# Sutskever et al. (2013) put the learning rate **inside** the velocity; torch keeps it
# **outside** the buffer:
#
# | | buffer | step |
# |---|---|---|
# | Sutskever et al. | $v_t = \mu\, v_{t-1} - \text{lr}\; g_t$ | $\theta_t = \theta_{t-1} + v_t$ |
# | torch | $b_t = \mu\, b_{t-1} + g_t$ | $\theta_t = \theta_{t-1} - \text{lr}\; b_t$ |
#
# While `lr` is constant, $v_t = -\text{lr}\; b_t$ at every step and the parameters are the
# same. When `lr` changes, the paper's velocity still carries the steps taken with the old
# `lr`, while torch's buffer holds gradients only and the new `lr` applies at once. Below,
# `lr` drops from 0.1 to 0.01 after step 20, as `MultiStepLR(milestones=[20], gamma=0.1)` does
# (lesson 07):

# %%
def sgd_paper(p, g, state, lr, momentum):
    v = state.get("velocity", torch.zeros_like(p))
    state["velocity"] = momentum * v - lr * g          # v_t = μ v_{t−1} − lr · g_t
    p += state["velocity"]                             # θ_t = θ_{t−1} + v_t


def drop_at_20(t):
    return 0.1 if t < 20 else 0.01                     # step t + 1 uses this lr


def drop_once(opt):
    return torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[20], gamma=0.1)

# %%
constant = follow(sgd_paper, 60, 0.1, momentum=0.9)
constant_torch = training.run(torch.optim.SGD, "ravine", 60, lr=0.1, momentum=0.9).positions
print(f"constant lr: same parameters to rounding (< 1e-14): {(constant - constant_torch).abs().max().item() < 1e-14}")

paper_run = follow(sgd_paper, 60, drop_at_20, momentum=0.9)
torch_run = training.run(torch.optim.SGD, "ravine", 60, lr=0.1, momentum=0.9, scheduler=drop_once).positions
paper_steps = (paper_run[1:] - paper_run[:-1]).norm(dim=1)
torch_steps = (torch_run[1:] - torch_run[:-1]).norm(dim=1)
for t in (19, 20, 21, 22, 25, 30, 40):
    print(f"step {t}: lr = {drop_at_20(t - 1):.2f}   step length: paper {paper_steps[t - 1]:.4f}   torch {torch_steps[t - 1]:.4f}")
print(f"after 60 steps: paper at loss {ravine(paper_run[-1]):.4f}, torch at loss {ravine(torch_run[-1]):.4f}")

# %%
from matplotlib.ticker import LogLocator

fig, ax = plt.subplots(figsize=(7, 3.8))
steps = torch.arange(1, 61)
ax.plot(steps, paper_steps, marker="o", markersize=3, label="Sutskever et al.: lr inside v")
ax.plot(steps, torch_steps, marker="o", markersize=3, label="torch: lr outside the buffer")
ax.axvline(20.5, color="black", linestyle="--", linewidth=1, label="lr 0.1 → 0.01")
ax.set(xlabel="step", ylabel=r"step length $|\theta_t - \theta_{t-1}|$ (log scale)", yscale="log",
       title="The same momentum 0.9, two conventions, one lr drop")
ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))   # two decades: label 0.02, 0.05, 0.1, … too
ax.yaxis.set_major_formatter("{x:g}")
ax.legend()
plt.show()

# %% [markdown]
# At step 21 torch's step shrinks at once, from 0.29 to 0.044: its buffer holds gradients,
# and the new `lr` multiplies all of it. The paper's velocity holds steps already scaled by
# the old `lr`; only the newest term is scaled by the new one, the old ones fade as $0.9^k$,
# so its steps stay long (0.28 at step 21, 0.16 at step 25) for about ten more steps. Neither is a bug, but they are
# different algorithms as soon as a schedule is used: a learning-rate recipe from a paper
# (or a framework) written in one convention does not carry over unchanged to the other.

# %% [markdown]
# ## 8. The spectral view: one convergence factor per direction
#
# On a quadratic $f(\theta) = \tfrac12 \sum_i \lambda_i\, u_i^2$, where $u_i$ is the coordinate
# of $\theta$ along the $i$-th eigenvector of the Hessian and $\lambda_i$ its eigenvalue, the
# gradient's $i$-th coordinate is $\lambda_i u_i$: each direction sees only itself. Gradient
# descent and heavy-ball momentum therefore **decouple along the eigenvectors** (Goh,
# [Why Momentum Really Works](https://distill.pub/2017/momentum/), 2017). The ravine is
# already diagonal: $\lambda_x = 0.2$, $\lambda_y = 4$.

# %% [markdown]
# **Predict, then read on.** In section 3, momentum 0.9 at lr = 0.05 took the point much further
# along the flat valley floor. By how much per step? Commit to an answer before the derivation
# below (the truth appears when you pick one):

# %%
from myoptim_helpers import widgets

widgets.predict("03.rate")

# %% [markdown]
# In one direction torch's momentum reads $b_t = \mu b_{t-1} + \lambda u_{t-1}$,
# $u_t = u_{t-1} - \text{lr}\, b_t$. Since $\text{lr}\, b_{t-1} = u_{t-2} - u_{t-1}$, the buffer drops
# out and each coordinate follows a two-term recurrence:
#
# $$u_t = (1 + \mu - \text{lr}\,\lambda)\, u_{t-1} - \mu\, u_{t-2}.$$
#
# Its solutions are $c_1 z_1^t + c_2 z_2^t$, with $z_{1,2}$ the roots of
# $z^2 - (1 + \mu - \text{lr}\,\lambda)\, z + \mu = 0$. The **convergence factor** of the direction is
# $\rho(\text{lr}, \mu, \lambda) = \max(|z_1|, |z_2|)$: the error shrinks by about $\rho$ per step.
# Two regimes:
#
# - real roots, when $(1 + \mu - \text{lr}\,\lambda)^2 \ge 4\mu$: the larger $|z|$ wins, and for
#   $\mu = 0$ it is plain SGD's $|1 - \text{lr}\,\lambda|$ from section 2;
# - complex roots otherwise: $|z_1| = |z_2| = \sqrt{\mu}$, whatever lr and $\lambda$ are. The
#   coordinate spirals in, which is the overshoot of section 3.
#
# The run converges when every $\rho < 1$, that is for $0 \le \mu < 1$ and
# $0 < \text{lr}\,\lambda < 2(1 + \mu)$: momentum multiplies the largest stable lr by $1 + \mu$,
# 1.9 at $\mu = 0.9$ (twice only as $\mu \to 1$).
#
# The formula is two lines of numpy in `myoptim_helpers.spectral`, which the explorer at the end
# of this section uses too:

# %%
from myoptim_helpers import spectral

print(inspect.getsource(spectral.momentum_roots))
print(inspect.getsource(spectral.momentum_rate))

# %% [markdown]
# The formula against torch: per direction we fit the recurrence $u_t = a\,u_{t-1} - b\,u_{t-2}$
# to a real `torch.optim.SGD` run (least squares over 40 steps) and take the roots of the fitted
# $z^2 - a z + b$, the factors the run actually has.

# %%
import numpy as np

from myoptim_helpers.spectral import momentum_rate

CURVATURES = {"x": 0.2, "y": 4.0}   # the ravine's Hessian is diag(0.2, 4)


def measured_rate(positions, axis):
    """Fit u_t = a·u_{t−1} − b·u_{t−2} to one coordinate of a run; return the largest |root| of z² − a z + b."""
    u = positions[:, axis].numpy()
    (a, b), *_ = np.linalg.lstsq(np.stack([u[1:-1], -u[:-2]], axis=1), u[2:], rcond=None)
    return max(abs(np.roots([1.0, -a, b])))


for lr, mu in [(0.05, 0.9), (0.1, 0.3), (0.3, 0.5), (0.6, 0.4)]:  # μ > 0: two roots to fit
    positions = training.run(torch.optim.SGD, "ravine", 40, lr=lr, momentum=mu).positions
    print(f"lr={lr:<4}  momentum={mu:<3}   " + "   ".join(
        f"{name}: formula {momentum_rate(lr, mu, lam):.4f}, measured {measured_rate(positions, k):.4f}"
        for k, (name, lam) in enumerate(CURVATURES.items())))

# %% [markdown]
# The run's factors are the formula's. With lr = 0.05 and $\mu = 0.9$ both directions sit in
# the complex regime at $\sqrt{0.9} \approx 0.949$: the flat direction, 0.990 per step without
# momentum, is now as fast as the steep one, which is why momentum helped in section 3.
#
# ### The best lr and $\mu$
#
# The whole run goes at the pace of its slowest direction, $\max_i \rho(\text{lr}, \mu, \lambda_i)$.
# With the smallest and largest eigenvalues $\lambda_\min, \lambda_\max$ and the condition number
# $\kappa = \lambda_\max / \lambda_\min$ (20 on the ravine), the best choices are (Polyak, 1964):
#
# - plain SGD: $\text{lr}^* = 2 / (\lambda_\min + \lambda_\max)$, factor $(\kappa - 1)/(\kappa + 1)$;
# - momentum: $\text{lr}^* = 4 / (\sqrt{\lambda_\max} + \sqrt{\lambda_\min})^2$ and
#   $\mu^* = \left(\dfrac{\sqrt\kappa - 1}{\sqrt\kappa + 1}\right)^2$, factor $\sqrt{\mu^*} = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)$.
#
# At $\mu^*$ both extreme directions sit exactly on the border between the two regimes. A factor
# $\rho$ per step takes $-1/\ln\rho$ steps to shrink the error $e$-fold: at its best plain SGD
# needs $-1/\ln\frac{\kappa - 1}{\kappa + 1} \approx \kappa/2$ steps per factor $e$, momentum
# $-1/\ln\frac{\sqrt\kappa - 1}{\sqrt\kappa + 1} \approx \sqrt\kappa/2$. A sweep of the formula over a
# grid of (lr, $\mu$) finds the same optimum:

# %%
low, high = min(CURVATURES.values()), max(CURVATURES.values())
kappa = high / low
lr_star = 4 / (np.sqrt(high) + np.sqrt(low)) ** 2
mu_star = ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
lrs, mus = np.linspace(0.005, 1.2, 240), np.linspace(0.0, 0.99, 199)
LR, MU = np.meshgrid(lrs, mus)
worst = np.maximum(*(momentum_rate(LR, MU, lam) for lam in CURVATURES.values()))
best = np.unravel_index(worst.argmin(), worst.shape)
print(f"kappa = {kappa:g}")
print(f"plain SGD:  lr* = {2 / (low + high):.3f}, factor {(kappa - 1) / (kappa + 1):.4f}"
      f"   sweep at mu = 0: lr = {lrs[worst[0].argmin()]:.3f}, factor {worst[0].min():.4f}")
print(f"momentum:   lr* = {lr_star:.3f}, mu* = {mu_star:.3f}, factor {np.sqrt(mu_star):.4f}"
      f"   sweep: lr = {LR[best]:.3f}, mu = {MU[best]:.3f}, factor {worst[best]:.4f}")
print(f"steps per factor e at the optimum: plain SGD {spectral.steps_per_e((kappa - 1) / (kappa + 1)):.1f}"
      f" (kappa/2 = {kappa / 2:g}), momentum {spectral.steps_per_e(np.sqrt(mu_star)):.1f}"
      f" (sqrt(kappa)/2 = {np.sqrt(kappa) / 2:.2f})")
optimal = training.run(torch.optim.SGD, "ravine", 40, lr=lr_star, momentum=mu_star).positions
print(f"torch.optim.SGD(lr=lr*, momentum=mu*): distance to the minimum after 40 steps "
      f"{optimal[-1].norm():.1e} (from {optimal[0].norm():.2f}); plain SGD at its best lr: "
      f"{training.run(torch.optim.SGD, 'ravine', 40, lr=2 / (low + high)).positions[-1].norm():.1e}")

# %%
fig, ax = plt.subplots(figsize=(7.5, 5), layout="constrained")
mesh = ax.pcolormesh(LR, MU, np.minimum(worst, 1.0), cmap="viridis", shading="auto", vmin=0.6, vmax=1.0)
levels = ax.contour(LR, MU, worst, levels=[0.7, 0.8, 0.9, 0.95, 0.99], colors="white", linewidths=0.7)
# labels where they can be read: a column over the flat tops (ρ = √μ there), and 0.99 on the left
ax.clabel(levels, fmt="%g", fontsize="small", manual=[(0.55, m) for m in (0.49, 0.64, 0.81, 0.9025)] + [(0.03, 0.25)])
ax.contour(LR, MU, worst, levels=[1.0], colors="red", linewidths=1.5)
ax.plot(lr_star, mu_star, "*", color="white", markeredgecolor="black", markersize=14,
        label=f"optimum: lr* = {lr_star:.2f}, μ* = {mu_star:.2f}")
ax.plot([], [], color="red", label="factor 1: the edge of divergence")
fig.colorbar(mesh, ax=ax, label="convergence factor per step (slowest direction)")
ax.set(xlabel="learning rate", ylabel="momentum μ",
       title="Heavy ball on the ravine: factor per step, from the formula")
fig.legend(loc="outside lower center", ncols=2, fontsize="small")   # inside, it would cover the map
plt.show()

# %% [markdown]
# Dark is fast. The red line is the edge $\text{lr} \cdot 4 = 2(1 + \mu)$: with momentum the largest
# stable lr grows. Without momentum (the bottom row) the best factor is $19/21 \approx 0.905$; at
# the star it is $0.635$, so reaching a given distance takes about a fifth as many steps (2.2
# per factor $e$ instead of 10). The
# optimum needs the extreme eigenvalues, which for a network nobody knows, so in practice
# $\mu$ is set to 0.9 and lr is tuned; the picture shows why a wide band of $\mu$ works.
#
# ### Explore: the factor, the roots and a run, for any (lr, $\mu$)
#
# Move the sliders. Left, the red dot moves on the map above. Middle, the two roots of each
# direction: real ones on the real axis, complex ones on the dashed circle of radius $\sqrt\mu$;
# a direction converges while both its roots are inside the unit circle. Right, a real
# `torch.optim.SGD` run on the ravine, each coordinate's error against the formula's $\rho^t$.
# Try $\mu = 0$ and lr past 0.5 (a root of $y$ leaves the circle); then lr = 0.05 and raise
# $\mu$ from 0: the roots of $y$, then those of $x$, meet and turn complex, and end on the $\sqrt\mu$
# circle; then press "go to the optimum ★", where both directions sit on the border between
# the regimes (double roots) and go at the same pace.

# %%
widgets.rate_explorer(lr=0.05, momentum=0.9)

# %% [markdown]
# ## 9. Explore: learning rate and momentum on the ravine
#
# Move the sliders; the factor map of section 8 tells you in advance which settings win.
# Try momentum 0 and raise the learning rate past 0.5; then add momentum and see how far a
# small `lr` now gets; switch the optimizer to `SGD+Nesterov`, which overshoots less at the
# same settings. The other surfaces are one click away.

# %%
from myoptim_helpers import widgets

widgets.trajectory_explorer("ravine", "SGD", lr=0.1, momentum=0.9, steps=100)

# %% [markdown]
# ## Recap
#
# - Plain SGD: $\theta \leftarrow \theta - \text{lr}\cdot g$. On a quadratic each direction
#   shrinks by $1 - \text{lr}\cdot\text{curvature}$ per step: converges for
#   $\text{lr} < 2/\text{largest curvature}$, crawls where the curvature is small. Shrinking an
#   error $F$-fold takes $\lceil \ln F / {-\ln|1 - \text{lr}\cdot\lambda|} \rceil$ steps; the
#   slowest direction sets the pace, the steepest the limit.
# - Momentum: `momentum_buffer` $b_t = \mu b_{t-1} + (1-d)\,g_t$ with $b_1 = g_1$ (no
#   dampening on step 1), $\theta \leftarrow \theta - \text{lr}\cdot b$; $b_t = \sum \mu^{t-k} g_k$ for $d = 0$,
#   a step up to $1/(1-\mu)$ times plain SGD's.
# - `nesterov=True`: $\theta \leftarrow \theta - \text{lr}\,(g + \mu b)$, gradient at the current
#   parameters; it is Sutskever et al.'s method on shifted variables. Needs momentum > 0 and no dampening.
# - `maximize` negates $g$, `weight_decay` adds $\lambda\theta$ to it, both before the buffer.
# - torch keeps `lr` outside the buffer, Sutskever et al. inside: the same while `lr` is
#   constant, not when a scheduler changes it.
# - On a quadratic, heavy ball decouples along the eigenvectors: each direction converges
#   by $\rho = \max|z|$ over the roots of $z^2 - (1 + \mu - \text{lr}\,\lambda) z + \mu$ per step,
#   $\sqrt\mu$ when they are complex; it converges for $\text{lr}\,\lambda < 2(1 + \mu)$. The best
#   $\mu^* = ((\sqrt\kappa - 1)/(\sqrt\kappa + 1))^2$, with its lr, turns plain SGD's best,
#   about $\kappa/2$ steps per factor $e$, into about $\sqrt\kappa/2$ (10 and 2.2 on the ravine).
#
# ## Next
#
# [04 · Adam](04_adam.ipynb): a running average of the gradient (momentum) divided by a
# running average of its square, with a correction for starting at zero.
