# ---
# summary: zero_grad, backward, step — what each call does, why gradients accumulate, set_to_none, and gradient accumulation that equals a big batch.
# ---

# %% [markdown]
# # 02 · zero_grad, backward, step: the order of operations
#
# {{badges}}
#
# Every training loop calls the same three methods, and each has one job: `zero_grad()`
# clears `.grad`, `backward()` **adds** to `.grad`, `step()` reads `.grad` and moves the
# parameters. This lesson follows the numbers through each call, then breaks
# the order on purpose and shows what each mistake looks like.
#
# ## You will learn
# - what `zero_grad()`, `backward()` and `step()` each do to `.grad` and to the parameters
# - that gradients accumulate: `backward()` adds, it does not overwrite
# - which orders of the three calls work, and the symptoms of the ones that don't
# - `zero_grad(set_to_none=True)` (the default) vs zero-filled gradients, and why momentum and weight decay care
# - gradient accumulation over micro-batches that gives exactly the big batch's step
#
# ## You should already know
# - [01 · Parameters](01_parameters.ipynb): an optimizer updates the tensors it holds that have a `.grad`
# - the derivative of $(w - 3)^2$ is $2(w - 3)$

# %%
# {{colab_setup}}
import inspect

import matplotlib.pyplot as plt
import torch
from torch import nn

import myoptim_helpers.optim as my_optim
from myoptim_helpers.exercises import check, hint, show_solution

_ = torch.manual_seed(0)  # (re-seeded before every random draw that matters)

# %% [markdown]
# ## 1. One step, call by call
#
# The smallest problem there is: one parameter $w = 1$ and the loss $L(w) = (w - 3)^2$,
# whose minimum is at $w = 3$. Its gradient is $\partial L / \partial w = 2(w - 3)$, which is
# $-4$ at $w = 1$. We print `w` and `w.grad` after each call.

# %%
w = torch.tensor(1.0, requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1)


def show(after):
    grad = "None" if w.grad is None else f"{w.grad.item():.4f}"
    print(f"{after:16s} w = {w.item():.4f}   w.grad = {grad}")


show("start")
opt.zero_grad()
show("zero_grad()")
loss = (w - 3) ** 2
show("forward")
loss.backward()
show("backward()")
opt.step()
show("step()")

# %% [markdown]
# | call | reads | writes |
# |---|---|---|
# | `opt.zero_grad()` | nothing | `p.grad = None` for every parameter the optimizer holds |
# | forward `loss = ...` | the parameters | the autograd graph (no `.grad` yet) |
# | `loss.backward()` | the graph | `p.grad += ∂L/∂p` (or `p.grad = ∂L/∂p` when it was `None`) |
# | `opt.step()` | `p.grad`, the optimizer state | `p` (and the state) |
#
# For plain SGD, `step()` is one line per parameter:
# $w \leftarrow w - \text{lr} \cdot \partial L / \partial w = 1 - 0.1 \cdot (-4) = 1.4$.
# Note that `step()` leaves `w.grad` as it was: nothing clears it until the next
# `zero_grad()`.
#
# ### Exercise 02.1 · Predict one step
#
# Now two parameters. Without running anything, what is `w` after this step? Give a list of
# two numbers. (`hint("02.1")` if you are stuck.)

# %%
w2 = torch.tensor([2.0, -2.0], requires_grad=True)
target = torch.tensor([3.0, 1.0])
opt2 = torch.optim.SGD([w2], lr=0.1)
# opt2.zero_grad(); ((w2 - target) ** 2).sum().backward(); opt2.step()   ← w2 after this?

# %%
# BEGIN SOLUTION
# STUB: w_after = ...  # [w2[0], w2[1]] after the step
w_after = [2.2, -1.4]
# END SOLUTION
check("02.1", w_after)

# %% [markdown]
# ## 2. `backward()` adds to `.grad`
#
# Call `backward()` three times on the same loss without clearing, then three times with
# `w.grad = None` in between (which is what `zero_grad()` does):

# %%
w = torch.tensor(1.0, requires_grad=True)
for k in range(1, 4):
    ((w - 3) ** 2).backward()
    print(f"no clearing,   after backward #{k}: w.grad = {w.grad.item():.4f}")
for k in range(1, 4):
    w.grad = None
    ((w - 3) ** 2).backward()
    print(f"cleared first, after backward #{k}: w.grad = {w.grad.item():.4f}")

# %% [markdown]
# Without clearing, `.grad` is the **sum** of every gradient since it was last cleared:
# $-4, -8, -12$. This is deliberate. It lets you split a batch that does not fit in memory
# into micro-batches and add their gradients (section 5), and it makes
# `loss_a.backward(); loss_b.backward()` (two separate forward passes) leave the same `.grad`
# as `(loss_a + loss_b).backward()`. The price: a training loop must clear `.grad` once per
# step.
#
# ## Common mistake: forgetting `zero_grad()`
#
# Train $w$ for 40 steps with and without `zero_grad()`:

# %%
def train(steps=40, lr=0.1, zero_grad=True):
    """Run SGD on (w - 3)^2 from w = 1; return the lists of w and of the loss, per step."""
    w = torch.tensor(1.0, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    ws, losses = [w.item()], []
    for _ in range(steps):
        if zero_grad:
            opt.zero_grad()
        loss = (w - 3) ** 2
        loss.backward()
        opt.step()
        ws.append(w.item())
        losses.append(loss.item())
    return ws, losses


runs = {"with zero_grad()": train(), "without zero_grad()": train(zero_grad=False)}
for name, (ws, losses) in runs.items():
    print(f"{name:20s} w after 10, 20, 40 steps: {ws[10]:.4f}, {ws[20]:.4f}, {ws[40]:.4f}")

# %%
fig, (ax_w, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.5))
for name, (ws, losses) in runs.items():
    ax_w.plot(range(len(ws)), ws, label=name)
    ax_loss.plot(range(1, len(losses) + 1), losses, label=name)
ax_w.axhline(3.0, color="k", linestyle="--", linewidth=1, label="minimum, w = 3")
ax_w.set(xlabel="step", ylabel="w", title="The parameter", ylim=(0.8, 6.6))
ax_loss.set(xlabel="step", ylabel="loss (w − 3)², log scale", yscale="log", title="The loss")
ax_w.legend(loc="upper center", ncols=2, fontsize="small")
ax_loss.legend(loc="lower left")
plt.show()

# %% [markdown]
# With `zero_grad()`, $w$ glides to 3. Without it, each step uses the sum of **all** past
# gradients: $w$ overshoots, swings back, and swings forever, because the sum remembers
# every gradient with the same weight (momentum with $\beta = 1$ and no decay). There is no
# error and no warning: only a loss that does not go down the way it should.
#
# ### Exercise 02.2 · What `.grad` becomes without `zero_grad()`
#
# Predict `w.grad` right after each of the three `backward()` calls of this loop: the same
# problem ($w = 1$, $L = (w - 3)^2$) with a larger learning rate, 0.25. Give a list of three
# numbers. Careful: `step()` runs between the `backward()` calls.

# %%
# w = torch.tensor(1.0, requires_grad=True)
# opt = torch.optim.SGD([w], lr=0.25)
# for _ in range(3):
#     ((w - 3) ** 2).backward()   # no zero_grad()!   ← w.grad after each backward()?
#     opt.step()

# BEGIN SOLUTION
# STUB: grads = ...  # [w.grad after backward 1, after backward 2, after backward 3]
grads = [-4.0, -6.0, -5.0]
# END SOLUTION
check("02.2", grads)

# %% [markdown]
# ## 3. Valid and broken orders
#
# `run(order)` repeats a sequence of calls three times on our one-parameter problem and
# records `w` and `w.grad` after each repetition. We try the usual order, one other valid
# order, and four broken ones.

# %%
def run(order, repeats=3):
    w = torch.tensor(1.0, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    calls = {"zero_grad": opt.zero_grad, "step": opt.step,
             "backward": lambda: ((w - 3) ** 2).backward()}
    trace = []
    for _ in range(repeats):
        for name in order:
            calls[name]()
        grad = "None" if w.grad is None else f"{w.grad.item():.2f}"
        trace.append(f"w={w.item():.4f} grad={grad:>5s}")
    return " | ".join(trace)

# %%
orders = {
    "zero_grad, backward, step": ["zero_grad", "backward", "step"],
    "backward, step, zero_grad": ["backward", "step", "zero_grad"],
    "zero_grad, step, backward": ["zero_grad", "step", "backward"],
    "backward, step (no zero_grad)": ["backward", "step"],
    "backward (no step)": ["backward"],
    "zero_grad, step (no backward)": ["zero_grad", "step"],
}
for name, order in orders.items():
    print(f"{name:30s} {run(order)}")

# %% [markdown]
# - **`zero_grad, backward, step`** — the usual order: $w$ = 1.4, 1.72, 1.976.
# - **`backward, step, zero_grad`** — also correct: clearing after the step is the same as
#   clearing before the next backward. Any order works as long as every `step()` sees
#   exactly the gradients of its own `backward()`.
# - **`zero_grad, step, backward`** — `zero_grad()` wipes each gradient before `step()`
#   can use it, so `step()` always finds `None`: **$w$ never moves**, and no error tells
#   you.
# - **`backward, step` without `zero_grad`** — the gradients pile up: $-4, -7.2, -8.96$,
#   and the steps get longer and longer (section 2).
# - **`backward` without `step`** — the gradients pile up ($-4, -8, -12$) and nothing moves.
# - **`zero_grad, step` without `backward`** — a step with no gradients: `step()` skips every
#   parameter whose `.grad` is `None`. Nothing moves, no error.
#
# ## 4. `set_to_none=True` vs zero-filled gradients
#
# `zero_grad()` has one argument. With `set_to_none=True` (the default since torch 2.0) it
# sets `p.grad = None`; with `set_to_none=False` it fills `p.grad` with zeros. For plain SGD
# both give the same step, $w - \text{lr} \cdot 0 = w$. They differ as soon as the update
# has a term that does not come from the gradient:
#
# - momentum: $b \leftarrow \mu b + g$, then $w \leftarrow w - \text{lr} \cdot b$ — with
#   $g = 0$ the old buffer still moves $w$;
# - weight decay: $g \leftarrow g + \lambda w$ — with $g = 0$ the decay still shrinks $w$;
# - Adam: its moment estimates keep moving $w$.
#
# `step()` skips a parameter whose `.grad` is `None`: no update and no state change. So
# we take one real step, call `zero_grad(...)`, and take one more step **without** a
# `backward()`:

# %%
def second_step(optimizer_class, set_to_none, **hyper):
    w = torch.tensor(1.0, requires_grad=True)
    opt = optimizer_class([w], lr=0.1, **hyper)
    ((w - 3) ** 2).backward()
    opt.step()  # step 1: a real gradient, w leaves 1
    opt.zero_grad(set_to_none=set_to_none)
    opt.step()  # step 2: no backward in between
    return w.item()


cases = [(torch.optim.SGD, {}), (torch.optim.SGD, {"momentum": 0.9}),
         (torch.optim.SGD, {"weight_decay": 0.1}), (torch.optim.Adam, {})]
for cls, hyper in cases:
    none, zeros = second_step(cls, True, **hyper), second_step(cls, False, **hyper)
    print(f"{cls.__name__:4s} {str(hyper):21s} w after step 2: None {none:.4f}   zeros {zeros:.4f}")

# %% [markdown]
# Plain SGD: the same. With momentum 0.9, zero-filled gradients move $w$ from 1.4 to
# 1.76: the buffer $b = 0.9 \cdot (-4) + 0 = -3.6$ is applied. With weight decay, $w$
# shrinks from 1.39 to 1.3761 ($g = 0 + 0.1 \cdot 1.39$). Adam keeps going too.
#
# Where does this matter? Whenever a parameter takes no part in some forward passes: one
# head of a multi-task model, an expert that a router did not pick, a layer a branch
# skipped. With `None` gradients those parameters are left alone; with zero-filled ones,
# momentum and weight decay keep moving them.
#
# Our optimizers behave the same way for the same reason. In `myoptim_helpers.optim`
# every `step()` loops over this generator, which skips `None` gradients:

# %%
from myoptim_helpers.optim import _base

print(inspect.getsource(_base.params_with_grad))
for cls, hyper in [(my_optim.SGD, {"momentum": 0.9}), (my_optim.Adam, {})]:
    none, zeros = second_step(cls, True, **hyper), second_step(cls, False, **hyper)
    print(f"ours: {cls.__name__:4s} {str(hyper):21s} None {none:.4f}   zeros {zeros:.4f}")

# %% [markdown]
# ### Exercise 02.3 · `set_to_none` and momentum
#
# SGD with `lr=0.2, momentum=0.5` takes one real step from $w = 1$ on $(w - 3)^2$. Then
# `zero_grad(set_to_none=...)`, then **two** more `step()` calls without `backward()`.
# Predict $w$ at the end, with `set_to_none=False` (`w_zeros`) and with `set_to_none=True`
# (`w_none`).

# %%
# BEGIN SOLUTION
# STUB: w_zeros, w_none = ..., ...
w_zeros, w_none = 2.4, 1.8
# END SOLUTION
check("02.3", w_zeros, w_none)

# %% [markdown]
# ## 5. Gradient accumulation: a big batch in small pieces
#
# When a batch does not fit in memory, split it into `n_micro` micro-batches, call
# `backward()` once per micro-batch, and `step()` once. Because `backward()` adds, `.grad`
# ends up holding the sum of the micro-batch gradients. With a mean-reduced loss and
# micro-batches of equal size, the big batch's loss is the **average** of the micro-batch
# losses:
#
# $$L_\text{big} = \frac{1}{N}\sum_{i=1}^{N} \ell_i
#   = \frac{1}{n_\text{micro}} \sum_{k=1}^{n_\text{micro}} L_k
#   \quad\Longrightarrow\quad
#   \nabla L_\text{big} = \sum_{k} \nabla \frac{L_k}{n_\text{micro}},$$
#
# so each micro-batch loss is divided by `n_micro` before `backward()`. In float64 the two
# gradients agree to rounding:

# %%
torch.manual_seed(0)
x = torch.randn(8, 3, dtype=torch.float64)
y = torch.randn(8, 1, dtype=torch.float64)
torch.manual_seed(1)
model = nn.Sequential(nn.Linear(3, 4, dtype=torch.float64), nn.Tanh(),
                      nn.Linear(4, 1, dtype=torch.float64))

model.zero_grad()
nn.functional.mse_loss(model(x), y).backward()
big = [p.grad.clone() for p in model.parameters()]

n_micro = 4
model.zero_grad()
for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
    (nn.functional.mse_loss(model(xb), yb) / n_micro).backward()  # .grad += this share
accumulated = [p.grad.clone() for p in model.parameters()]
diff = max((a - b).abs().max().item() for a, b in zip(big, accumulated))
print(f"big-batch grad = accumulated grad, to float64 rounding (< 1e-14): {diff < 1e-14}")

# %% [markdown]
# They agree to float64 rounding, but not necessarily bit for bit: the two computations
# add the same numbers in a different order, so the last bits may differ (by how much
# depends on the CPU).
#
# ## Common mistake: not scaling the micro-batch loss
#
# Without the division, each micro-batch contributes its full mean gradient, and `.grad`
# is `n_micro` times too large. For SGD that is the same as a learning rate 4 times larger
# (Adam mostly hides it: it divides by the gradient's own scale. Not everything does:
# `eps`, a `clip_grad_norm_` threshold, which now cuts a gradient 4 times larger, and L2
# `weight_decay`, which is added to the gradient and now weighs 4 times less against it,
# all notice).

# %%
model.zero_grad()
for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
    nn.functional.mse_loss(model(xb), yb).backward()  # no / n_micro
unscaled = [p.grad.clone() for p in model.parameters()]
ratios = torch.cat([(u / b).flatten() for u, b in zip(unscaled, big)])
print(f"unscaled / big-batch gradient: min {ratios.min().item():.4f}, "
      f"max {ratios.max().item():.4f}")

# %% [markdown]
# Two more conditions for "accumulation = big batch": micro-batches of **unequal** size
# need weights $|B_k| / N$ instead of $1 / n_\text{micro}$; and layers that look at the
# whole batch, like `BatchNorm`, see only a micro-batch, so their statistics differ.
#
# ### Exercise 02.4 · An accumulated training step
#
# Write `accumulated_step(model, optimizer, x, y, n_micro)`: one optimizer step whose
# gradient is the big batch's `mse_loss` gradient, computed in `n_micro` equal
# micro-batches. The checker runs three of your steps (SGD with momentum) against three
# big-batch steps and compares every parameter after each one.

# %%
def accumulated_step(model, optimizer, x, y, n_micro):
    # BEGIN SOLUTION
    optimizer.zero_grad()
    for xb, yb in zip(x.chunk(n_micro), y.chunk(n_micro)):
        loss = nn.functional.mse_loss(model(xb), yb) / n_micro
        loss.backward()
    optimizer.step()
    # END SOLUTION


check("02.4", accumulated_step)

# %% [markdown]
# ## Recap
# - `zero_grad()` clears `.grad` (to `None` by default); `backward()` **adds**
#   $\partial L / \partial p$ to `.grad`; `step()` reads `.grad` and moves the parameters. It
#   does not clear `.grad`.
# - Clear once per step. Without it the step uses the sum of all past gradients: the loss
#   swings instead of settling, with no error.
# - Orders that work: `zero_grad, backward, step` or `backward, step, zero_grad`. With
#   `zero_grad()` between `backward()` and `step()`, or no `backward()` at all, `step()`
#   finds no gradients and silently does nothing.
# - `set_to_none=True`: `step()` skips the parameter. Zero-filled gradients still let
#   momentum, weight decay and Adam move it.
# - Gradient accumulation: `zero_grad()` once, `(loss / n_micro).backward()` per
#   micro-batch, `step()` once. It equals the big batch up to rounding.
#
# Lesson [09](09_production_step.ipynb) has a doctor for these mistakes:
# `with doctor.watch(model, optimizer):` around your loop names each one, with the line to change.
#
# ## Next
# [03 · SGD](03_sgd.ipynb): the update rule inside `step()`, from plain SGD to momentum and
# Nesterov, written from scratch and matched against `torch.optim.SGD`.
