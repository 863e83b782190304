# ---
# summary: Subclass torch.optim.Optimizer: defaults, param groups, lazy state, closures and LBFGS, state_dict round trips; build Signum and Lion.
# ---

# %% [markdown]
# # 06 · Custom optimizers
#
# {{badges}}
#
# Every optimizer in `torch.optim` is a subclass of `torch.optim.Optimizer` with two
# methods: `__init__` checks the hyperparameters, and `step` updates the parameters.
# This lesson writes such a subclass from nothing, then uses the same recipe for two
# optimizers the series has not shown yet: sign-SGD with momentum and Lion.
#
# ## You will learn
# - what the base class gives you: `defaults`, `param_groups` and the per-parameter `state`
# - how to write `step`: `@torch.no_grad()`, skipping parameters without a gradient,
#   hyperparameters read from each group, state created lazily, errors in torch's words
# - what a closure is, why `torch.optim.LBFGS` needs one, and how to write it
# - what `state_dict()` holds, and how to save and resume so that the resumed run is
#   *exactly* the uninterrupted one
# - how to implement a new optimizer from its paper and check it step by step
#
# ## You should already know
# - param groups ([01 · Parameters](01_parameters.ipynb)) and the `zero_grad` / `backward` /
#   `step` loop ([02](02_zero_grad_and_step.ipynb))
# - torch's momentum convention ([03 · SGD](03_sgd.ipynb)), Adam's moments
#   ([04](04_adam.ipynb)) and decoupled weight decay ([05](05_weight_decay.ipynb))

# %%
# {{colab_setup}}
import inspect
import io

import matplotlib.pyplot as plt
import torch
from torch import nn

from myoptim_helpers import optim, plotting, problems, training
from myoptim_helpers.exercises import check, hint, show_solution

_ = torch.manual_seed(0)  # same numbers on every run (`_ =` hides the returned generator)

# %% [markdown]
# ## What the base class gives you
#
# A subclass passes two things to `super().__init__(params, defaults)`: the parameters
# (tensors, or dicts that define param groups) and a dict of default hyperparameters.
# The base class then builds `param_groups`, filling every key a group leaves out from
# `defaults`, and an empty `state`.

# %%
class Plain(torch.optim.Optimizer):
    def __init__(self, params, lr=0.1):
        super().__init__(params, defaults={"lr": lr})


w = torch.zeros(3, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
opt = Plain([{"params": [w]}, {"params": [b], "lr": 0.01}])
print("defaults:", opt.defaults)
for i, group in enumerate(opt.param_groups):
    print(f"group {i}: lr={group['lr']}, params of shapes {[tuple(p.shape) for p in group['params']]}")
print("state:", dict(opt.state), "| type:", type(opt.state).__name__)

# %% [markdown]
# Group 0 gave no `lr`, so it got the default 0.1; group 1 kept its own 0.01. `state` is a
# `defaultdict(dict)` keyed by the parameter tensor itself: `opt.state[p]` is `p`'s own
# dict, created empty the first time it is touched. What is missing is `step`: the base
# class's `step` raises `NotImplementedError`.
#
# ## A minimal SGD
#
# The smallest useful optimizer: $\theta \leftarrow \theta - \eta\, g$ for every parameter
# $\theta$ with gradient $g$ and learning rate $\eta$.

# %%
class MinimalSGD(torch.optim.Optimizer):
    """theta <- theta - lr * grad, and nothing else."""

    def __init__(self, params, lr=1e-3):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")      # torch's exact words
        super().__init__(params, {"lr": lr})

    @torch.no_grad()                                                # the update is not part of the graph
    def step(self, closure=None):
        with torch.enable_grad():                                   # the closure calls backward()
            loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:                                  # p took no part in the loss
                    continue
                p.add_(p.grad, alpha=-group["lr"])                  # θ ← θ − η g
        return loss

# %% [markdown]
# Five rules hide in these lines, and every optimizer in `torch.optim` follows them:
#
# | Line | Why |
# |---|---|
# | `raise ValueError(f"Invalid learning rate: {lr}")` before `super().__init__` | a bad value fails at once, with the message torch users already know |
# | `@torch.no_grad()` | the in-place update must not be recorded by autograd (see the first common mistake); torch's own classes do it with `_use_grad_for_differentiable`, which turns gradients off for `step` unless `differentiable=True` |
# | `with torch.enable_grad(): loss = closure() ...` | the closure runs `backward()`, which needs gradients switched back on |
# | `if p.grad is None: continue` | a parameter that did not take part in the loss is left alone |
# | `group["lr"]`, not `self.lr` | each param group may have its own learning rate |
#
# Does it match `torch.optim.SGD`? Run both on the same least-squares problem, in float64,
# and compare the weights after every step:

# %%
def least_squares_run(optimizer_class, steps=5, **kwargs):
    """Minimise ||A w - y||² from w = 0; return w after each step, shape (steps, 3)."""
    g = torch.Generator().manual_seed(0)
    A = torch.randn(6, 3, generator=g, dtype=torch.float64)
    y = torch.randn(6, generator=g, dtype=torch.float64)
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = optimizer_class([w], **kwargs)
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        ((A @ w - y) ** 2).sum().backward()
        opt.step()
        trajectory.append(w.detach().clone())
    return torch.stack(trajectory)


ours = least_squares_run(MinimalSGD, lr=0.05)
theirs = least_squares_run(torch.optim.SGD, lr=0.05)
print("w after 5 steps:", ", ".join(f"{v:.6f}" for v in ours[-1]))
print("largest |ours - torch| over all steps:", (ours - theirs).abs().max().item())

# %% [markdown]
# The difference is exactly 0.0: both compute `p.add_(p.grad, alpha=-lr)`, the same
# floating-point operations in the same order. And a negative learning rate fails the
# way torch's does:

# %%
from myoptim_helpers import expect_error  # prints the error in one line; the lesson runs on

with expect_error(ValueError):
    MinimalSGD([w], lr=-0.1)

# %% [markdown]
# ## Common mistake: forgetting `@torch.no_grad()`
#
# Without the decorator, `p.add_(...)` is an in-place change of a leaf tensor that requires
# grad, and autograd refuses it:

# %%
class SGDWithoutNoGrad(MinimalSGD):
    def step(self, closure=None):                     # no @torch.no_grad()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["lr"])


w = torch.ones(2, requires_grad=True)
opt = SGDWithoutNoGrad([w], lr=0.1)
(w ** 2).sum().backward()
with expect_error(RuntimeError):
    opt.step()

# %% [markdown]
# Old code writes `p.data.add_(...)` instead, which hides the update from autograd one
# tensor at a time. `torch.optim` turns gradients off for the whole `step` too, through
# `_use_grad_for_differentiable`: the decorator behind the `differentiable` flag, which
# leaves autograd on only when you ask for a step you can differentiate through. For an
# optimizer of your own, `@torch.no_grad()` on the whole `step` does the same job.
#
# ## Per-parameter state
#
# Momentum needs memory: one buffer per parameter, kept between steps. It lives in
# `self.state[p]`, under torch's name `"momentum_buffer"`, and is created **lazily**, the
# first time `p` has a gradient. In torch's convention (lesson 03), with $\mu$ the momentum:
#
# $$b_1 = g_1, \qquad b_t = \mu\, b_{t-1} + g_t, \qquad \theta_t = \theta_{t-1} - \eta\, b_t .$$
#
# Sutskever et al. (2013) put the learning rate inside the buffer instead, as lesson 03
# wrote it: $v_t = \mu v_{t-1} - \eta g_t$ and $\theta_t = \theta_{t-1} + v_t$. The two give the
# same parameters while $\eta$ is constant ($v_t = -\eta\, b_t$), and they part ways as soon
# as a scheduler changes $\eta$ (lesson 07).
#
# ## Exercise
#
# ### 06.1 A minimal SGD with momentum
#
# Build it the way torch (and `myoptim_helpers`) does: the **maths** in a pure function
# that updates one tensor, the **bookkeeping** in the class.
#
# 1. `momentum_update(param, grad, momentum_buffer, *, lr, momentum)`: the update above,
#    in place on `param`. `momentum_buffer` is None on the first step; return the new
#    buffer (or None when `momentum` is 0: torch keeps no state then). Never modify `grad`.

# %%
def momentum_update(param, grad, momentum_buffer, *, lr, momentum):
    # BEGIN SOLUTION
    if momentum != 0:
        if momentum_buffer is None:
            momentum_buffer = grad.clone()                 # b_1 = g_1 (a copy, not p.grad itself)
        else:
            momentum_buffer.mul_(momentum).add_(grad)      # b = μ b + g
        grad = momentum_buffer
    param.add_(grad, alpha=-lr)                            # θ = θ − η b
    return momentum_buffer
    # END SOLUTION

# %% [markdown]
# 2. `MomentumSGD(params, lr=1e-3, momentum=0.0)`, torch's defaults. `__init__` raises
#    `ValueError("Invalid learning rate: -0.1")` for `lr=-0.1` and
#    `ValueError("Invalid momentum value: -0.5")` for `momentum=-0.5`, torch's words. `step`
#    calls `momentum_update` for every parameter with a gradient, keeps the buffer in
#    `self.state[p]["momentum_buffer"]`, and returns the closure's loss.
#
# The checker runs your function, then your class, next to `torch.optim.SGD` for six steps
# in configurations of its own (no momentum, momentum, float32, a 0-d parameter, zero and
# large gradients, two param groups), compares parameters and state after every step, and
# saves and reloads your `state_dict` halfway. Stuck? `hint("06.1")` (then `hint("06.1", 2)`,
# `hint("06.1", 3)`) or `show_solution("06.1")`.

# %%
class MomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0):
        # BEGIN SOLUTION
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        super().__init__(params, {"lr": lr, "momentum": momentum})
        # END SOLUTION

    @torch.no_grad()
    def step(self, closure=None):
        # BEGIN SOLUTION
        with torch.enable_grad():
            loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    state = self.state[p] if group["momentum"] != 0 else {}  # no state without momentum
                    state["momentum_buffer"] = momentum_update(
                        p, p.grad, state.get("momentum_buffer"), lr=group["lr"], momentum=group["momentum"])
        return loss
        # END SOLUTION

check("06.1", momentum_update, MomentumSGD)

# %% [markdown]
# ## Common mistake: keeping state in the hyperparameter dict
#
# A param group looks like a handy place for a counter. It is shared by every parameter
# of the group, so the counter below goes up once per *parameter* per step:

# %%
class CountsInTheGroup(MinimalSGD):
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    group["step"] = group.get("step", 0) + 1     # ✗ state in the hyperparameters
                    p.add_(p.grad, alpha=-group["lr"])


w, b = torch.ones(3, requires_grad=True), torch.ones(1, requires_grad=True)
opt = CountsInTheGroup([w, b], lr=0.1)
for _ in range(3):
    opt.zero_grad()
    ((w ** 2).sum() + (b ** 2).sum()).backward()
    opt.step()
print("3 steps taken; group['step'] =", opt.param_groups[0]["step"])
print("saved as a hyperparameter:", opt.state_dict()["param_groups"][0])

# %% [markdown]
# Two parameters, three steps: the count is 6. An Adam built this way would correct the bias
# of `b` with $t = 2$ on its very first step and with $t = 6$ on the third. The counter also
# lands in `state_dict()["param_groups"]`, dressed up as a hyperparameter. Per-parameter
# quantities belong in `self.state[p]`, as torch's Adam keeps `state[p]["step"]`.
#
# ## Common mistake: creating state eagerly
#
# Creating every buffer in `__init__` looks tidy. Here it is, added to the package's SGD
# (`myoptim_helpers.optim.SGD`, torch's SGD rebuilt with all its options), on
# a model whose 512×512 body is frozen but was passed to the optimizer anyway:

# %%
class EagerSGD(optim.SGD):
    def __init__(self, params, **kwargs):
        super().__init__(params, **kwargs)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["momentum_buffer"] = torch.zeros_like(p)   # ✗ for every parameter


def one_step(optimizer_class):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(512, 512), nn.Tanh(), nn.Linear(512, 1))
    model[0].requires_grad_(False)                                     # the frozen body
    opt = optimizer_class(model.parameters(), lr=0.1, momentum=0.9, dampening=0.5)
    model(torch.ones(4, 512)).pow(2).mean().backward()
    before = model[2].bias.item()
    opt.step()
    numbers = sum(t.numel() for s in opt.state.values() for t in s.values())
    return len(opt.state), numbers, model[2].bias.item() - before

# %%
for name, optimizer_class in [("torch.optim.SGD", torch.optim.SGD), ("EagerSGD", EagerSGD)]:
    tensors, numbers, change = one_step(optimizer_class)
    print(f"{name:15s}: state for {tensors} tensors, {numbers:7,d} numbers; "
          f"first step of the head's bias {change:+.4f}")

# %% [markdown]
# Two symptoms. **Memory:** torch keeps state only for the 2 tensors that got a gradient
# (513 numbers); the eager version also pays for the frozen 512×512 body. **Numbers:** torch
# starts the buffer at the first gradient, $b_1 = g_1$; a buffer that starts at zero gives
# $b_1 = \mu \cdot 0 + (1 - \text{dampening})\, g_1$, half the first step here. Create state
# inside `step`, after the `p.grad is None` check.
#
# ## Closures
#
# `step(closure)` takes an optional function that re-evaluates the model: it clears the
# gradients, computes the loss, calls `backward()` and returns the loss. SGD calls it once,
# at the start of `step`, and returns its loss:

# %%
rosenbrock = problems.get_surface("rosenbrock")
print(rosenbrock.description)

xy = torch.tensor(rosenbrock.start, dtype=torch.float64, requires_grad=True)
sgd = torch.optim.SGD([xy], lr=1e-3)
calls = []

def closure():
    calls.append(xy.detach().clone())
    sgd.zero_grad()
    loss = rosenbrock(xy)
    loss.backward()
    return loss

loss = sgd.step(closure)
print(f"calls: {len(calls)}, loss returned: {loss.item():.4f}, now at ({xy[0]:.4f}, {xy[1]:.4f})")

# %% [markdown]
# For SGD a closure is only a convenience. `torch.optim.LBFGS` cannot work without one:
# inside a single `step` it runs up to `max_iter` iterations, and its line search tries
# several points along each direction, so it must evaluate the loss and the gradient
# *wherever it wants, as often as it wants*. Its `step(closure)` has no default: the closure
# is required.
#
# ### 06.2 A closure for LBFGS
#
# Complete `make_closure(optimizer, xy, f)`: it returns a closure that evaluates
# `f(xy)` for the `optimizer` over the tensor `xy`. The checker runs LBFGS with your
# closure on two functions and checks the gradient and the loss after every call.

# %%
def make_closure(optimizer, xy, f):
    # BEGIN SOLUTION
    def closure():
        optimizer.zero_grad()
        loss = f(xy)
        loss.backward()
        return loss
    return closure
    # END SOLUTION


check("06.2", make_closure)

# %% [markdown]
# ## LBFGS on the Rosenbrock valley
#
# With a strong-Wolfe line search, LBFGS walks down the banana-shaped valley in a handful
# of steps. We count every evaluation of the closure:

# %%
def lbfgs_run(steps, zero_grad=True):
    """LBFGS from Rosenbrock's start; return the positions after each step and every evaluated point."""
    xy = torch.tensor(rosenbrock.start, dtype=torch.float64, requires_grad=True)
    lbfgs = torch.optim.LBFGS([xy], lr=1, max_iter=10, line_search_fn="strong_wolfe")
    evaluated, positions = [], [xy.detach().clone()]

    def closure():
        evaluated.append(xy.detach().clone())
        if zero_grad:
            lbfgs.zero_grad()
        loss = rosenbrock(xy)
        loss.backward()
        return loss

    for _ in range(steps):
        lbfgs.step(closure)
        positions.append(xy.detach().clone())
    return torch.stack(positions), torch.stack(evaluated)

# %%
positions, evaluated = lbfgs_run(4)
for k, point in enumerate(positions):
    where = f"after step {k}" if k else "start       "
    print(f"{where}: ({point[0]:7.4f}, {point[1]:7.4f})  loss {rosenbrock(point).item():.3e}")
print(f"closure calls: {len(evaluated)}")

# %% [markdown]
# Four calls to `step`, 46 evaluations of the loss and gradient, and the loss is $4 \cdot
# 10^{-10}$ at $(1, 1)$. Adam with the same budget of 46 gradients is still at the entrance of
# the valley:

# %%
adam = training.run(optim.Adam, "rosenbrock", len(evaluated), lr=0.1)
fig, ax = plt.subplots(figsize=(6.5, 5))
plotting.plot_trajectories({f"Adam, lr=0.1 ({len(evaluated)} steps)": adam}, rosenbrock, ax=ax, legend=False)
ax.plot(evaluated[:, 0], evaluated[:, 1], ".", color="0.4", markersize=4, label="LBFGS: every closure call")
ax.plot(positions[:, 0], positions[:, 1], "-o", color="C3", label="LBFGS: after each step()")
ax.set_title(f"Same {len(evaluated)} gradients: LBFGS vs Adam on Rosenbrock")
ax.legend(loc="lower right", fontsize="small")
plt.show()

# %% [markdown]
# The grey dots are the points the line search tried: most of them are never the result of
# a step. LBFGS pays for this speed with memory (`history_size` past steps), with one
# param group only, and with a full batch: from noisy minibatch gradients its curvature
# estimate is unreliable.
#
# ## Common mistake: a closure that does not clear the gradient
#
# `backward()` adds to `.grad`. In a training loop, forgetting `zero_grad()` is visible; in a
# closure that LBFGS calls a dozen times per step it silently feeds the line search the sum of
# many gradients:

# %%
for zero_grad in (True, False):
    positions, evaluated = lbfgs_run(5, zero_grad=zero_grad)
    end = positions[-1]
    print(f"zero_grad in the closure: {zero_grad!s:5s} -> after 5 steps ({end[0]:.4f}, {end[1]:.4f}), "
          f"loss {rosenbrock(end).item():.3e}")

# %% [markdown]
# Without `zero_grad()` LBFGS stalls at $(-0.36, 0.11)$ with the loss at 1.87: the summed
# gradients point it the wrong way, and no error tells you so.
#
# ## `state_dict`: save and resume
#
# `state_dict()` is what a checkpoint stores. It has two entries: `state`, keyed by the
# **position** of each parameter (0, 1, ... in group order), never by the tensor; and
# `param_groups`, each with its hyperparameters and the positions of its parameters:

# %%
w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
b = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
opt = optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.01}], lr=0.1, momentum=0.9)
for _ in range(2):
    opt.zero_grad()
    ((w ** 2).sum() + (b ** 2).sum()).backward()
    opt.step()
sd = opt.state_dict()
for index, entries in sd["state"].items():
    print(f"state[{index}]:", {k: [round(x, 4) for x in v.tolist()] for k, v in entries.items()})
for group in sd["param_groups"]:
    print("param group:", group)

# %% [markdown]
# Positions instead of tensors are what make a checkpoint portable: a new process builds new
# tensors, and `load_state_dict` pairs them with the saved state by position. So build the
# new optimizer over the parameters **in the same order**.
#
# One trap: the tensors in `state_dict()` are the optimizer's live buffers, not copies.

# %%
snapshot = sd["state"][0]["momentum_buffer"]
before = snapshot.clone()
opt.step()
print("the 'saved' buffer changed with the next step:", not torch.equal(before, snapshot))

# %% [markdown]
# To keep a snapshot, serialize it (`torch.save`) or `copy.deepcopy` it. Here is the whole
# round trip through an in-memory file: train 10 steps in one go, or 5 steps, save model and
# optimizer, rebuild both from scratch (with different random weights, as in a new process),
# load, and train 5 more.

# %%
x, y = problems.linear_data(64, dtype=torch.float64)

def new_model_and_adam(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1)).double()
    return model, optim.Adam(model.parameters(), lr=0.05)

def train(model, opt, steps):
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()

def largest_difference(model_a, model_b):
    return max((p - q).abs().max().item() for p, q in zip(model_a.parameters(), model_b.parameters()))

# %%
uninterrupted, opt_u = new_model_and_adam(seed=0)
train(uninterrupted, opt_u, 10)

model, opt = new_model_and_adam(seed=0)
train(model, opt, 5)
buffer = io.BytesIO()                                   # an in-memory file
torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, buffer)

buffer.seek(0)
checkpoint = torch.load(buffer)
resumed, opt_r = new_model_and_adam(seed=1)             # a "new process": other weights
resumed.load_state_dict(checkpoint["model"])
opt_r.load_state_dict(checkpoint["optimizer"])
train(resumed, opt_r, 5)
print("max |uninterrupted - resumed| =", largest_difference(uninterrupted, resumed))

# %% [markdown]
# Exactly 0.0: Adam's `step` counters and both moments came back, so steps 6 to 10 computed
# the same numbers. Reload only the model, with a fresh optimizer, and the run changes:
# Adam restarts its bias correction at $t = 1$ and its moments at zero.

# %%
buffer.seek(0)
checkpoint = torch.load(buffer)
model_only, opt_fresh = new_model_and_adam(seed=1)
model_only.load_state_dict(checkpoint["model"])        # ✗ the optimizer's state is not loaded
train(model_only, opt_fresh, 5)
print(f"max |uninterrupted - model only| = {largest_difference(uninterrupted, model_only):.3e}")

# %% [markdown]
# ## Two optimizers from their papers
#
# Both keep one buffer, like momentum SGD, and both step along the **sign** of their
# direction: each coordinate moves by exactly $\eta$, or not at all where the direction is
# exactly 0 ($\operatorname{sign}(0) = 0$); Lion's decoupled weight decay adds a shrink by
# $\eta\lambda\theta$ on top. The size of the gradient no longer matters, only which way it
# points.
#
# ### 06.3 Signum: sign-SGD with momentum
#
# Bernstein et al. (2018), [signSGD: Compressed Optimisation for Non-Convex
# Problems](https://arxiv.org/abs/1802.04434), the "Signum" optimiser. With the buffer
# $m_0 = 0$ and $\beta$ = `momentum`:
#
# $$m_t = \beta\, m_{t-1} + (1 - \beta)\, g_t, \qquad \theta_t = \theta_{t-1} - \eta\,\operatorname{sign}(m_t).$$
#
# Unlike torch's SGD, $m$ is an *average* (the $1 - \beta$) and starts at **zero**. With
# `momentum=0` it is plain sign-SGD. The class is the bookkeeping you wrote in 06.1, with
# $\beta$ checked to lie in $[0, 1)$:

# %%
class Signum(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.9):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        with torch.enable_grad():
            loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    state = self.state[p]
                    state["momentum_buffer"] = signum_update(
                        p, p.grad, state.get("momentum_buffer"), lr=group["lr"], momentum=group["momentum"])
        return loss

# %% [markdown]
# Write the maths: `signum_update(param, grad, momentum_buffer, *, lr, momentum)` updates
# `param` in place and returns the buffer (None on the first step). The checker runs it
# inside `Signum` next to a reference, for six steps with gradients that change sign or are
# exactly zero, float32 and float64, and compares parameters and buffers after every step.

# %%
def signum_update(param, grad, momentum_buffer, *, lr, momentum):
    # BEGIN SOLUTION
    if momentum_buffer is None:
        momentum_buffer = torch.zeros_like(param)                      # m_0 = 0
    momentum_buffer.mul_(momentum).add_(grad, alpha=1 - momentum)      # m = β m + (1 − β) g
    param.add_(momentum_buffer.sign(), alpha=-lr)                      # θ = θ − η sign(m)
    return momentum_buffer
    # END SOLUTION


check("06.3", signum_update)

# %% [markdown]
# ### 06.4 Lion
#
# Chen et al. (2023), [Symbolic Discovery of Optimization
# Algorithms](https://arxiv.org/abs/2302.06675), Algorithm 2: an optimizer found by a
# program search. With `exp_avg` $m_0 = 0$, `betas` $= (\beta_1, \beta_2)$ and $\lambda$ =
# `weight_decay`:
#
# $$c_t = \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
# \theta_t = \theta_{t-1} - \eta\,\bigl(\operatorname{sign}(c_t) + \lambda\,\theta_{t-1}\bigr), \qquad
# m_t = \beta_2 m_{t-1} + (1 - \beta_2)\, g_t .$$
#
# Read it closely: $\beta_1$ mixes the gradient into the **step**, $\beta_2$ into the
# **memory**, and $m$ is updated only after the step. The weight decay is decoupled, as in
# AdamW: it sits outside the sign, is scaled by $\eta$, and uses $\theta_{t-1}$. The class
# takes the paper's defaults and raises AdamW's errors:

# %%
class Lion(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        with torch.enable_grad():
            loss = closure() if closure is not None else None
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is not None:
                    state = self.state[p]
                    state["exp_avg"] = lion_update(
                        p, p.grad, state.get("exp_avg"), lr=group["lr"], beta1=beta1, beta2=beta2,
                        weight_decay=group["weight_decay"])
        return loss

# %% [markdown]
# Write `lion_update(param, grad, exp_avg, *, lr, beta1, beta2, weight_decay)`: update
# `param` in place, return `exp_avg` (None on the first step). The checker compares it with
# a reference written from the paper's pseudocode, with and without weight decay, in float32
# and float64, with zero and large gradients.

# %%
def lion_update(param, grad, exp_avg, *, lr, beta1, beta2, weight_decay):
    # BEGIN SOLUTION
    if exp_avg is None:
        exp_avg = torch.zeros_like(param)                     # m_0 = 0
    c = exp_avg.mul(beta1).add_(grad, alpha=1 - beta1)        # c = β1 m + (1 − β1) g, m unchanged
    param.mul_(1 - lr * weight_decay)                         # θ ← θ − η λ θ_{t−1} ...
    param.add_(c.sign(), alpha=-lr)                           #       ... − η sign(c)
    exp_avg.mul_(beta2).add_(grad, alpha=1 - beta2)           # m = β2 m + (1 − β2) g
    return exp_avg
    # END SOLUTION


check("06.4", lion_update)

# %% [markdown]
# ## Sign methods on the ravine
#
# What does a step of exactly $\eta$ per coordinate look like? Here are sign-SGD (`Signum`
# with `momentum=0`) and `Lion`, next to plain SGD, on the ravine $0.1x^2 + 2y^2$. The
# exercise module runs its own reference classes, so this works whether or not you solved
# the exercises.

# %% [markdown]
# **Predict, then run.** Before the runs below, commit to an answer:

# %%
from myoptim_helpers import widgets

widgets.predict("06.sign")

# %%
from myoptim_helpers.exercises.lesson06 import sign_method_runs

start = (-3.95, 2.05)                 # off the 0.1 grid, so that no run lands on (0, 0) by luck
runs = {"SGD, lr=0.2": training.run(optim.SGD, "ravine", 60, start=start, lr=0.2),
        **sign_method_runs("ravine", 60, start=start, lr=0.1)}
# 5 decimals: the sign methods end on losses like 0.42525, whose 4th decimal is a rounding tie
for name, history in runs.items():
    x_end, y_end = history.final_position
    print(f"{name:16s} after 60 steps: ({x_end:7.4f}, {y_end:7.4f}), loss {history.final_loss:.5f}")

# %%
fig, (left, zoom, right) = plt.subplots(1, 3, figsize=(15, 4.2))
for ax in (left, zoom):
    plotting.plot_trajectories(runs, "ravine", ax=ax, legend=False)
    for line in ax.get_lines():
        if line.get_label().startswith("Lion"):
            line.set(linestyle=(0, (3, 3)), marker="")   # dashed, no dots: sign-SGD's diagonal shows underneath
        if line.get_label() == "minimum" and ax is zoom:
            line.set(zorder=2)                           # under the paths: sign-SGD's last hops stay visible
left.legend(fontsize="small", loc="lower left")
left.set_title("Paths on the ravine 0.1x² + 2y²")
sgd_end, (before, sign_end) = runs["SGD, lr=0.2"].final_position, runs["sign-SGD, lr=0.1"].positions[-2:].tolist()
zoom.annotate(f"SGD ends at x = {sgd_end[0]:.2f}, on y = 0", xy=sgd_end, xytext=(-0.58, -0.11),
              arrowprops={"arrowstyle": "->"}, fontsize="small")
zoom.annotate(f"sign-SGD hops between ({before[0]:.2f}, {before[1]:.2f}) and ({sign_end[0]:.2f}, {sign_end[1]:.2f})",
              xy=sign_end, xytext=(-0.58, 0.11), arrowprops={"arrowstyle": "->"}, fontsize="small")
zoom.plot(*runs["sign-SGD, lr=0.1"].positions[-10:].T, "o", color="C1", markersize=10, markerfacecolor="none")
zoom.set(xlim=(-0.6, 0.2), ylim=(-0.15, 0.15), title="Zoom on the minimum: where the runs end")
plotting.plot_losses(runs, ax=right)
right.set_title("Loss per step")
fig.tight_layout()
plt.show()

# %% [markdown]
# - **SGD** steps by $\eta \cdot$ gradient: the steep $y$ direction (curvature 4) is done in
#   a few steps, the flat $x$ direction (curvature 0.2) shrinks by only 4% per step and is
#   still at $x = -0.34$ after 60, on the floor $y = 0$ (middle panel).
# - **sign-SGD** moves both coordinates by exactly 0.1: a 45° diagonal until $y$ reaches the
#   floor, then along $x$, zigzagging across the floor between $y = \pm 0.05$, just as fast
#   in the flat direction as in the steep one. From step 39 on it hops between the corners
#   $(-0.05, -0.05)$ and $(0.05, 0.05)$ around the minimum, and the loss stays at 0.00525:
#   a constant sign step never shrinks.
# - **Lion** starts on the same diagonal, but its memory $\beta_2 = 0.99$ averages about 100
#   gradients, so it keeps going long after the gradient has changed sign: it overshoots the
#   floor of the valley and then the minimum.
#
# Sign methods need a learning rate that decays, and Lion's long memory is made for noisy
# minibatch gradients, not for a clean 2-D bowl. The next lesson builds the schedules.
#
# ## The real thing
#
# You have built `MomentumSGD` (06.1). `myoptim_helpers.optim.SGD` is the same class with torch's other options: dampening,
# Nesterov, weight decay and `maximize`. It matches `torch.optim.SGD` to the last bit. The
# class does the bookkeeping and leaves the maths to one pure function, `sgd_update`,
# exactly the split torch makes:

# %%
print(inspect.getsource(optim.SGD.step))

# %%
print(inspect.getsource(optim.sgd_update))

# %% [markdown]
# ## Recap
#
# - `super().__init__(params, defaults)` builds `param_groups` (missing keys from
#   `defaults`) and an empty `state`, a `defaultdict(dict)` keyed by parameter.
# - `step`: `@torch.no_grad()`; closure under `torch.enable_grad()`; skip `p.grad is None`;
#   read hyperparameters from `group`; create `self.state[p]` entries lazily; return the loss.
# - Validate in `__init__`, before `super().__init__`, in torch's words:
#   `ValueError(f"Invalid learning rate: {lr}")`.
# - A closure clears the gradients, computes the loss, calls `backward()` and returns the
#   loss. LBFGS calls it many times per `step`.
# - `state_dict()` keys state by parameter position; its tensors are live references.
#   Saving model **and** optimizer and loading both resumes bit for bit.
# - Signum: $\theta \mathrel{-}= \eta\,\operatorname{sign}(\beta m + (1-\beta) g)$.
#   Lion: a sign step from $\beta_1$, memory from $\beta_2$, decoupled decay.
#
# ## Next
#
# [07 · Learning-rate schedulers](07_lr_schedulers.ipynb): change $\eta$ while training,
# and see why torch's momentum convention matters once you do.
