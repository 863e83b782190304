# ---
# summary: Adagrad, RMSprop and Adam built line by line and matched to torch.optim; bias correction, where eps sits, AMSGrad, and the learning rate Adam needs.
# ---

# %% [markdown]
# # 04 · Adam and its ancestors
#
# {{badges}}
#
# Adam is three ideas stacked on SGD: an average of the gradient (momentum), an average of
# the *squared* gradient that gives every parameter its own step size (Adagrad, RMSprop),
# and a correction for the zeros both averages start from. This lesson builds them in
# that order and checks each one against `torch.optim` at every step.
#
# ## You will learn
# - what an exponential moving average is, and why Adam divides it by $1 - \beta^t$
# - Adagrad → RMSprop → Adam, a few lines each, equal to `torch.optim` in float64
# - where `eps` sits in torch's Adam, what moving it changes, and what `amsgrad=True` does
# - how to read Adam's per-parameter step size from its state `exp_avg_sq`, and how far one step
#   can go (Kingma and Ba's bound)
# - why Adam needs another learning rate than SGD, and how a bad one still fails
#
# ## You should already know
# - the training loop: `zero_grad`, `backward`, `step` (lessons 00–02)
# - SGD with momentum and its `momentum_buffer` (lesson 03)

# %%
# {{colab_setup}}
import inspect

import matplotlib.pyplot as plt
import torch
from torch import nn

from myoptim_helpers import optim, plotting, problems, training
from myoptim_helpers.exercises import attempted, check, hint, reveal, show_solution

_ = torch.manual_seed(0)  # `_ =` keeps the returned generator out of the output

# %% [markdown]
# ## 1. Exponential moving averages, and why they need a correction
#
# Adam keeps two running averages per parameter. Both are *exponential moving averages* (EMA):
#
# $$m_t = \beta\, m_{t-1} + (1 - \beta)\, x_t, \qquad m_0 = 0.$$
#
# Unrolled, $m_t = (1-\beta)\sum_{i=1}^{t} \beta^{\,t-i} x_i$, and these weights add up to
# $1 - \beta^t$, not to 1. If every $x_i$ equals $\mu$, then $m_t = (1 - \beta^t)\,\mu$: the
# average is pulled towards its starting 0, most of all at the start. Dividing by the sum
# of the weights removes the bias exactly:
#
# $$\hat m_t = \frac{m_t}{1 - \beta^t}.$$
#
# Below, a noisy signal with true mean 2 and $\beta = 0.9$:

# %%
beta, true_mean, n = 0.9, 2.0, 50
torch.manual_seed(0)
signal = true_mean + 0.5 * torch.randn(n, dtype=torch.float64)

m, raw = 0.0, []
for x in signal:
    m = beta * m + (1 - beta) * x                 # m_t = β m_{t−1} + (1 − β) x_t
    raw.append(m)
raw = torch.stack(raw)
t = torch.arange(1, n + 1, dtype=torch.float64)
corrected = raw / (1 - beta**t)                    # m̂_t = m_t / (1 − β^t)
for k in (1, 2, 3, 5, 10, 20, 50):
    print(f"t = {k:2d}   x_t = {signal[k - 1]:.4f}   m_t = {raw[k - 1]:.4f}   "
          f"m̂_t = {corrected[k - 1]:.4f}   1 − β^t = {1 - beta**k:.4f}")

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(t, signal, ".", color="0.6", label="signal $x_t$")
ax.plot(t, raw, label="EMA $m_t$ (starts at 0)")
ax.plot(t, corrected, label=r"bias-corrected $\hat m_t$")
ax.axhline(true_mean, color="black", linestyle="--", linewidth=1, label="true mean 2")
ax.set(xlabel="step t", ylabel="value", title=r"EMA with $\beta = 0.9$")
ax.legend(loc="lower right")
plt.show()

# %% [markdown]
# The raw EMA starts at $m_1 = 0.1\,x_1$ and is still 12% too low at $t = 20$
# ($1 - 0.9^{20} = 0.88$); the corrected one equals $x_1$ at $t = 1$ and is an average of the
# right size from the start. Once $\beta^t$ is negligible ($0.9^{50} = 0.005$) the two agree.
#
# Adam averages the gradient with $\beta_1 = 0.9$ and the squared gradient with
# $\beta_2 = 0.999$, and for $\beta_2$ the bias lasts thousands of steps. An update
# computed from the uncorrected averages, $m_t / \sqrt{v_t}$, is
# $(1 - \beta_1^t) / \sqrt{1 - \beta_2^t}$ times the corrected one:

# %%
beta1, beta2 = 0.9, 0.999
too_large = lambda k: (1 - beta1**k) / (1 - beta2**k) ** 0.5   # uncorrected / corrected update
for k in (1, 10, 100, 1000, 10000):
    bc1, bc2 = 1 - beta1**k, 1 - beta2**k
    print(f"t = {k:5d}   1 − β1^t = {bc1:.4f}   1 − β2^t = {bc2:.4f}   "
          f"uncorrected / corrected update = {too_large(k):.3f}")
worst = max(range(1, 10001), key=too_large)
print(f"largest ratio over t = 1 … 10000: {too_large(worst):.3f}, at t = {worst}")

# %% [markdown]
# Without the correction Adam's early steps would be too **large**, not too small: 3.162 times
# at the first step and up to 6.569 times, at step 12, because the squared gradients'
# average is further from the truth than the gradients' average. Kingma and Ba (2015, §3)
# give this as the reason for the correction.
#
# ### Exercise 04.1 · The bias-corrected moving average
#
# Complete `bias_corrected_ema(values, beta)`: for a 1-D tensor `values`, return a tensor of
# the same length and dtype holding $\hat m_t$ after each value. The checker compares with
# the closed form for several values of `beta`, lengths and dtypes of its own. Stuck?
# `hint("04.1")`, then `show_solution("04.1")`.

# %%
def bias_corrected_ema(values, beta):
    """Return m_t / (1 − beta**t) after each of `values`, as a tensor of the same length."""
    # BEGIN SOLUTION
    average, out = 0.0, []
    for t, value in enumerate(values, start=1):
        average = beta * average + (1 - beta) * value    # m_t = β m_{t−1} + (1 − β) x_t
        out.append(average / (1 - beta**t))             # m̂_t = m_t / (1 − β^t)
    return torch.stack(out)
    # END SOLUTION


check("04.1", bias_corrected_ema)

# %% [markdown]
# ## 2. Adagrad → RMSprop → Adam, in code
#
# All three divide the gradient, coordinate by coordinate, by the square root of an
# accumulated squared gradient, so a coordinate with large gradients takes smaller steps.
# They differ in *what* they accumulate. Each function below takes one step on `p` in
# place and keeps its state in a dict under torch's key names; the defaults are torch's.
#
# **Adagrad** (Duchi, Hazan and Singer, 2011) sums every squared gradient since the start:
#
# $$G_t = G_{t-1} + g_t^2, \qquad \theta_t = \theta_{t-1} - \text{lr}\,\frac{g_t}{\sqrt{G_t} + \varepsilon}$$

# %%
def adagrad_step(p, g, state, t, lr, eps=1e-10):
    state["sum"] += g * g                          # G_t = G_{t−1} + g_t²
    p -= lr * g / (state["sum"].sqrt() + eps)      # θ_t = θ_{t−1} − lr · g_t / (√G_t + ε)

# %% [markdown]
# $G_t$ only grows, so Adagrad's steps only shrink: good for rare features, a handicap in long
# training. **RMSprop** (Hinton's Coursera lecture 6e, 2012) replaces the sum by an EMA with
# decay $\alpha$ (torch's `alpha`, default 0.99), which forgets old gradients:
#
# $$v_t = \alpha\, v_{t-1} + (1 - \alpha)\, g_t^2, \qquad \theta_t = \theta_{t-1} - \text{lr}\,\frac{g_t}{\sqrt{v_t} + \varepsilon}$$

# %%
def rmsprop_step(p, g, state, t, lr, alpha=0.99, eps=1e-8):
    state["square_avg"] = alpha * state["square_avg"] + (1 - alpha) * g * g   # v_t
    p -= lr * g / (state["square_avg"].sqrt() + eps)    # θ_t = θ_{t−1} − lr · g_t / (√v_t + ε)

# %% [markdown]
# Note what RMSprop lacks: a bias correction. Its first $v_1 = 0.01\,g_1^2$, so its first step
# is $\text{lr}\cdot g_1 / (0.1\,|g_1|) = 10\,\text{lr}$ in every coordinate. That is
# torch's RMSprop too.
#
# Now both against `torch.optim` and against `myoptim_helpers.optim`, step by step, in
# float64 on the Rosenbrock valley: `follow` runs one of our functions from the
# surface's start, and `training.run` runs an optimizer class the same way.

# %%
def follow(step_fn, state, steps, lr):
    """Run `step_fn` on the Rosenbrock surface from its start; return the points, shape (steps, 2)."""
    surface = problems.get_surface("rosenbrock")
    p = torch.tensor(surface.start, dtype=torch.float64, requires_grad=True)
    points = []
    for t in range(1, steps + 1):
        p.grad = None
        surface(p).backward()
        with torch.no_grad():
            step_fn(p, p.grad, state, t, lr)
        points.append(p.detach().clone())
    return torch.stack(points)

# %%
zeros = torch.zeros(2, dtype=torch.float64)
for name, step_fn, state in [("Adagrad", adagrad_step, {"sum": zeros.clone()}),
                             ("RMSprop", rmsprop_step, {"square_avg": zeros.clone()})]:
    ours = follow(step_fn, state, steps=50, lr=0.01)
    torchs = training.run(getattr(torch.optim, name), "rosenbrock", 50, lr=0.01).positions[1:]
    package = training.run(getattr(optim, name), "rosenbrock", 50, lr=0.01).positions[1:]
    print(f"{name:8s} 50 steps:  max |ours − torch| = {(ours - torchs).abs().max():.1e}   "
          f"max |myoptim_helpers − torch| = {(package - torchs).abs().max():.1e}")

# %% [markdown]
# Zero, to the last bit of float64, at every one of the 50 steps.
#
# **Adam** (Kingma and Ba, 2015) takes RMSprop's denominator, puts momentum's average in the
# numerator, and bias-corrects both. With $g_t$ the gradient at step $t = 1, 2, \dots$:
#
# | line | formula | torch's state key |
# |---|---|---|
# | first moment | $m_t = \beta_1 m_{t-1} + (1-\beta_1)\, g_t$ | `exp_avg` |
# | second moment | $v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2$ | `exp_avg_sq` |
# | bias corrections | $\hat m_t = m_t / (1-\beta_1^t)$, $\ \hat v_t = v_t / (1-\beta_2^t)$ | (not stored) |
# | update | $\theta_t = \theta_{t-1} - \text{lr}\; \hat m_t / (\sqrt{\hat v_t} + \varepsilon)$ | |
#
# ### Exercise 04.2 · One Adam step from scratch
#
# Write `adam_step`: given the parameter, its gradient, the two moments before the step and
# the step number `step` (1 at the first step), **return** the new
# `(param, exp_avg, exp_avg_sq)` as new tensors, without changing the inputs. The checker runs
# your step next to `torch.optim.Adam` on parameters of its own (0-d to 2-D, float32 and
# float64, zero and large gradients, hyperparameters other than this notebook's, drawn from
# a fixed seed when you check) and names the first step and tensor that differ. Stuck? `hint("04.2")`, then `show_solution("04.2")`.

# %%
def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps):
    """Return (param, exp_avg, exp_avg_sq) after Adam's step number `step` (1, 2, ...)."""
    # BEGIN SOLUTION
    beta1, beta2 = betas
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad                # m_t
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad   # v_t
    m_hat = exp_avg / (1 - beta1**step)                           # m̂_t = m_t / (1 − β1^t)
    v_hat = exp_avg_sq / (1 - beta2**step)                        # v̂_t = v_t / (1 − β2^t)
    param = param - lr * m_hat / (v_hat.sqrt() + eps)             # θ_t = θ_{t−1} − lr · m̂_t / (√v̂_t + ε)
    return param, exp_avg, exp_avg_sq
    # END SOLUTION


check("04.2", adam_step)

# %% [markdown]
# Once you have tried, compare with the same step as `myoptim_helpers` writes it, for one
# tensor, in place (the docstring is the algorithm in the symbols of the code). The cell shows
# it once you have checked an answer of your own above:

# %%
if reveal("04.2"):
    print(inspect.getsource(optim.adam_update))

# %% [markdown]
# It computes the same formulas in **torch's order of operations**: the first moment as
# `exp_avg.lerp_(grad, 1 - beta1)`, i.e. $m + (1-\beta_1)(g - m)$, and `eps` added only after
# dividing by $\sqrt{1 - \beta_2^t}$. That order is why it matches torch to the last bit; a
# mathematically equal formula, like the one in 04.2, can differ by a rounding error
# (about $10^{-16}$ in float64), which is why the checker allows $10^{-12}$.

# %%
for flags in [{}, {"amsgrad": True}, {"weight_decay": 0.1}]:
    torchs = training.run(torch.optim.Adam, "rosenbrock", 50, lr=0.01, **flags).positions
    package = training.run(optim.Adam, "rosenbrock", 50, lr=0.01, **flags).positions
    print(f"Adam{flags}: max |myoptim_helpers − torch| over 50 steps = "
          f"{(package - torchs).abs().max():.1e}")

# %% [markdown]
# ### Predict: a loss a million times smaller
#
# You have Adam's update in front of you, and SGD's is $\text{lr} \times g$. Use them to
# predict before reading on: pick an answer, and the widget computes both first steps with torch.

# %%
from myoptim_helpers import widgets

widgets.predict("04.scale")

# %% [markdown]
# ## 3. Where `eps` sits
#
# In torch, `eps` is added to $\sqrt{\hat v_t}$, *after* the square root and *after* the bias
# correction. Other places are in use, all under the name "epsilon":
#
# - inside the square root, $\sqrt{\hat v_t + \varepsilon}$ (a common slip when writing Adam by hand);
# - before the bias correction, $(\sqrt{v_t} + \varepsilon)/\sqrt{1-\beta_2^t}$: the "efficient
#   version" at the end of the paper's §2, which Keras uses (with `epsilon=1e-7`).
#
# At the first step $\hat m_1 = g$ and $\hat v_1 = g^2$, so each placement gives a closed form
# for the first step. torch's own number comes from `torch.optim.Adam`:

# %%
lr, eps, beta2 = 1e-3, 1e-8, 0.999
print("gradient g   first step / lr:   torch (√v̂ + ε)   inside √(v̂ + ε)   before correction")
for g in (1.0, 1e-3, 1e-5, 1e-7, 1e-9):
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr, eps=eps)
    p.grad = torch.full_like(p, g)
    opt.step()
    torch_step = -p.item()
    inside = lr * g / (g * g + eps) ** 0.5
    before = lr * g / (g + eps / (1 - beta2) ** 0.5)
    print(f"{g:10.0e}   {torch_step / lr:31.4f}   {inside / lr:15.4f}   {before / lr:17.4f}")

# %% [markdown]
# With torch's placement the first step is `lr` for any gradient larger than `eps`: Adam
# ignores the gradient's scale. Inside the square root, `eps` acts like
# $\sqrt{\varepsilon} = 10^{-4}$, so every gradient smaller than about $10^{-4}$ gets a
# damped step. Before the correction it acts like $\varepsilon / \sqrt{1-\beta_2^t}$, 32 times
# larger at the first step, then shrinking towards $\varepsilon$.
#
# ## Common mistake: `eps` inside the square root
#
# Written by hand, `(v_hat + eps).sqrt()` looks harmless. Here it is live, on the ravine
# surface with its loss multiplied by $10^{-6}$ (as if the loss were measured in other
# units), so that the gradients are around $10^{-6}$:

# %%
def adam_eps_inside(p, g, state, t, lr, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
    state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
    m_hat = state["exp_avg"] / (1 - beta1**t)
    v_hat = state["exp_avg_sq"] / (1 - beta2**t)
    p -= lr * m_hat / (v_hat + eps).sqrt()          # the mistake: eps inside the root

# %%
ravine = problems.get_surface("ravine")
tiny = lambda xy: 1e-6 * ravine(xy)                  # same valley, gradients a million times smaller
for name, make in [("torch.optim.Adam", lambda p: torch.optim.Adam([p], lr=0.1)), ("eps inside", None)]:
    p = torch.tensor(ravine.start, dtype=torch.float64, requires_grad=True)
    opt = make(p) if make else None
    state = {"exp_avg": torch.zeros(2, dtype=torch.float64), "exp_avg_sq": torch.zeros(2, dtype=torch.float64)}
    for t in range(1, 101):
        p.grad = None
        tiny(p).backward()
        if opt:
            opt.step()
        else:
            with torch.no_grad():
                adam_eps_inside(p, p.grad, state, t, lr=0.1)
    print(f"{name:17s} after 100 steps: (x, y) = ({p[0].item():8.4f}, {p[1].item():8.4f})   "
          f"loss × 1e6 = {ravine(p.detach()).item():.4f}")

# %% [markdown]
# The symptom: torch's Adam gets close to the minimum (0, 0), as it does on the unscaled
# surface, while the version with `eps` inside the root is still far up the valley: $x$ has
# moved from its start −4 to −3.92.
# Nothing crashes; training is just slow, and only when the gradients are small. The fix:
# `v_hat.sqrt() + eps`.
#
# ## 4. AMSGrad: when Adam's average forgets too fast
#
# Reddi, Kale and Kumar (2018) built a problem on which Adam provably converges to the worst
# point (they let the learning rate decay like $1/\sqrt{t}$; a constant one behaves the same
# here). The loss changes every step: $f_t(x) = 3x$ when $t \bmod 3 = 1$ and $f_t(x) = -x$
# otherwise, with $x$ kept in $[-1, 1]$. Over three steps the losses add up to
# $3x - x - x = x$, so the best point is $x = -1$.
#
# Adam normalises each gradient by its recent size. With $\beta_1 = 0$ and a short memory
# $\beta_2 = 1 / (1 + 3^2) = 0.1$, the rare gradient $3$ (pushing towards $-1$) and each frequent
# gradient $-1$ (pushing towards $+1$) all make steps of similar size: two out of three go the
# wrong way. `amsgrad=True` divides by the **largest** second moment seen so far: torch keeps
# the running maximum of the uncorrected $v_t$ in the state `max_exp_avg_sq` and bias-corrects
# it with the current $1 - \beta_2^t$ (Reddi et al.'s Algorithm 2 has no bias correction at
# all, so its maximum is the raw one). After the first large gradient the small ones only take
# steps about a third as long.

# %%
def online_problem(optimizer_class, amsgrad, steps=300):
    """Run Adam on Reddi et al.'s online problem; return x after every step."""
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = optimizer_class([x], lr=0.1, betas=(0.0, 1 / (1 + 3**2)), amsgrad=amsgrad)
    xs = []
    for t in range(1, steps + 1):
        opt.zero_grad()
        loss = 3 * x if t % 3 == 1 else -x        # gradient 3 once, then −1 twice
        loss.sum().backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(-1.0, 1.0)                   # the feasible set is [−1, 1]
        xs.append(x.item())
    return torch.tensor(xs, dtype=torch.float64)

# %%
runs = {amsgrad: online_problem(torch.optim.Adam, amsgrad) for amsgrad in (False, True)}
for amsgrad, xs in runs.items():
    package = online_problem(optim.Adam, amsgrad)
    print(f"amsgrad={amsgrad!s:5s}  x after 300 steps = {xs[-1]:+.4f}   "
          f"average loss per step over the last 30 = {xs[-30:].mean() / 3:+.4f}   "
          f"max |myoptim_helpers − torch| = {(package - xs).abs().max():.1e}")

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(range(1, 301), runs[False], label="Adam (amsgrad=False)")
ax.plot(range(1, 301), runs[True], label="AMSGrad (amsgrad=True)")
ax.axhline(-1, color="black", linestyle="--", linewidth=1, label="best point x = −1")
ax.set(xlabel="step", ylabel="x", title="Reddi et al.'s online problem")
ax.legend()
plt.show()

# %% [markdown]
# Adam climbs to $x = +1$, where the average loss is the largest; AMSGrad goes to $-1$.
# The trap needs rare, large gradients and a short memory $\beta_2$. Adam as Kingma and Ba
# published it takes no maximum, and torch's default, `amsgrad=False`, is that algorithm.
# Whether the maximum helps on a real problem is for a run on that problem to show.
#
# ## 5. Adam's step size, per parameter
#
# Adam's update is $-\alpha_t \odot \hat m_t$ with a step size per coordinate,
# $\alpha_t = \text{lr} / (\sqrt{\hat v_t} + \varepsilon)$: large where gradients have been
# small. `training.run` can record the state after every step; from `exp_avg_sq` we compute
# $\alpha_t$ on the ravine $0.1x^2 + 2y^2$, whose $y$ direction is 20 times steeper than its $x$.

# %%
lr, beta1, beta2, eps = 0.1, 0.9, 0.999, 1e-8
adam_run = training.run(torch.optim.Adam, "ravine", 60, lr=lr,
                        record_state=("exp_avg", "exp_avg_sq"))
t = torch.arange(1, len(adam_run) + 1, dtype=torch.float64).unsqueeze(1)    # steps 1 … 60
m_hat = adam_run.state["exp_avg"] / (1 - beta1**t)
v_hat = adam_run.state["exp_avg_sq"] / (1 - beta2**t)
alpha = lr / (v_hat.sqrt() + eps)                                           # α_t per coordinate
error = (adam_run.updates + alpha * m_hat).abs().max()
print(f"recorded update = −α_t · m̂_t at every step (to 1e-15): {bool(error < 1e-15)}")
for k in (1, 10, 30, 60):
    print(f"step {k:2d}:  α_x = {alpha[k - 1, 0]:8.4f}   α_y = {alpha[k - 1, 1]:8.4f}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
left.plot(t, alpha[:, 0], label=r"$\alpha_t$ for x (flat direction)")
left.plot(t, alpha[:, 1], label=r"$\alpha_t$ for y (steep direction)")
left.axhline(lr, color="black", linestyle="--", linewidth=1, label="SGD: lr = 0.1 for both")
left.set(xlabel="step", ylabel=r"step size $\alpha_t$ (log scale)", yscale="log",
         title=r"Adam's step size per coordinate, $\mathrm{lr}/(\sqrt{\hat v_t}+\varepsilon)$")
left.legend(fontsize="small")
plotting.plot_state(adam_run, "exp_avg_sq", ax=right)
plt.show()

# %% [markdown]
# The steep coordinate $y$ has the larger gradients (8 against −0.8 at the start), so its
# $\hat v$ is larger and its step size 10 times smaller; the flat coordinate $x$ gets the
# larger one. SGD uses one `lr` for both and must keep it small enough for the steep
# direction. Both step sizes grow over the run: as the point settles, the gradients shrink,
# and Adam divides by their shrinking size. On the right, the state `exp_avg_sq` as torch
# stores it, uncorrected: it starts at $(1 - \beta_2)\,g_1^2$ (0.064 for $y$, whose $g_1^2$
# is 64) and levels off far below the squared gradients, because every step adds only
# $0.001\,g_t^2$; $\hat v_t$ divides by $1 - \beta_2^t$, still only 0.058 at step 60.
#
# ## 6. Switching SGD to Adam: the learning rates they need
#
# SGD's step is $\text{lr} \times g$, so the usable `lr` depends on the size of the gradients
# (on the ravine, SGD diverges once $\text{lr} > 2/4$, where 4 is the steep direction's
# curvature). Adam's step is about `lr` whatever the gradient, so its `lr` is a distance per
# step. The same numbers mean different things:

# %%
sgd_runs = {f"SGD lr={lr}": training.run(torch.optim.SGD, "ravine", 50, lr=lr) for lr in (0.05, 0.45, 0.52)}
adam_runs = {f"Adam lr={lr}": training.run(torch.optim.Adam, "ravine", 50, lr=lr) for lr in (0.05, 0.45, 3.0)}
for name, run in {**sgd_runs, **adam_runs}.items():
    print(f"{name:14s} loss after 50 steps {run.final_loss:10.4g}")

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
plotting.plot_trajectories(sgd_runs, ax=left)
for line in left.get_lines():
    if line.get_label() == "SGD lr=0.52":     # its zigzags fill a band at x ≈ 0: draw it faint, underneath
        line.set(alpha=0.45, zorder=2)
left.legend(loc="upper right", fontsize="small", framealpha=0.85)
x_end, y_end = sgd_runs["SGD lr=0.45"].final_position
left.annotate(f"lr=0.45 ends at ({x_end:.2f}, {y_end:.2f})", (x_end, y_end), xytext=(0.8, -1.6),
              fontsize="small", arrowprops={"arrowstyle": "->"}, zorder=6,
              bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85})
plotting.plot_trajectories(adam_runs, ax=right)
left.set_title("SGD on the ravine: 50 steps")
right.set_title("Adam on the ravine: 50 steps")
plt.show()

# %% [markdown]
# SGD with 0.05 drops into the valley floor, then crawls along the flat $x$ direction. With
# 0.45 it zigzags across the steep $y$ direction but arrives; with 0.52 each zigzag is longer
# than the last: above $2/4$ SGD diverges. Adam starts along the same diagonal for every `lr`
# (its first step is $-\text{lr}$ times the sign of the gradient in each coordinate), and `lr`
# sets how far each step goes: 0.05 is still on its way, 0.45 arrives after a loop, and 3
# overshoots in wide loops yet still ends near the minimum.
#
# The same on a small model: a cubic fitted to 50 noisy points (`problems.polynomial_data`)
# by a linear layer on the features $x, x^2, x^3$, trained full-batch for 100 epochs with
# `training.fit`:

# %%
data = problems.polynomial_data(n_train=50, n_val=100, seed=0)
make_model = lambda: nn.Sequential(problems.PolynomialFeatures(3), nn.Linear(3, 1))
fits = {}
for name, cls in [("SGD", torch.optim.SGD), ("Adam", torch.optim.Adam)]:
    for lr in (0.03, 0.3, 3.0):
        fits[f"{name} lr={lr}"] = training.fit(make_model, cls, data, 100, lr=lr, progress=False)
for name, fit in fits.items():
    status = f"diverged in epoch {fit.diverged_at}" if fit.diverged else f"{fit.final_train_loss:.4f}"
    print(f"{name:14s} training loss after 100 epochs: {status}")

# %%
fig, ax = plt.subplots(figsize=(7, 4))
plotting.plot_fit({k: fits[k] for k in ("SGD lr=0.3", "Adam lr=0.03", "Adam lr=0.3")}, ax=ax)
ax.set_title("Cubic fit: SGD at its best lr vs Adam")
plt.show()

# %% [markdown]
# SGD does best at 0.3, diverges at 3, and even at 0.3 has not reached the noise
# level of the data (0.04, the variance of the noise added to it) after 100 epochs. Adam
# reaches it with every `lr` from 0.03 to 3: a range 100 times wide. Still, switching
# optimizers means searching for the learning rate again, by factors of 3 to 10.
#
# ## Common mistake: "Adam is adaptive, so any learning rate works"
#
# Adam adapts the step size to the gradient's *scale*, not to the *distance* to travel. On
# Beale's surface, 200 steps from its start with a small and a large learning rate:

# %%
beale_runs = {f"Adam lr={lr}": training.run(torch.optim.Adam, "beale", 200, lr=lr,
                                             record_state=("exp_avg_sq",)) for lr in (0.001, 5.0)}
for name, run in beale_runs.items():
    lr = run.lrs[0].item()
    first, last = (run.updates[k].abs().max(dim=1).values.mean() / lr for k in (slice(0, 50), slice(-50, None)))
    print(f"{name:14s} loss after 200 steps {run.final_loss:9.3g}   mean step / lr: "
          f"first 50 steps {first:.3f}, last 50 {last:.5f}   max exp_avg_sq {run.state['exp_avg_sq'].max():.3g}")

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
plotting.plot_trajectories(beale_runs, ax=left)
# lr=0.001 moves about 0.2 in 200 steps, hidden under the start marker: zoom in on it
inset = left.inset_axes([0.37, 0.08, 0.22, 0.27])
path = beale_runs["Adam lr=0.001"].positions
inset.plot(path[:, 0], path[:, 1], ".-", color="C0", markersize=2, linewidth=1)
inset.plot(path[0, 0], path[0, 1], "o", markerfacecolor="white", markeredgecolor="black")
inset.set_title("lr=0.001, zoomed in", fontsize="x-small")
inset.tick_params(labelsize="x-small")
inset.margins(0.15)
plotting.plot_losses(beale_runs, ax=right)
left.set_title("Beale: 200 steps from (1, 1.5)")
right.set_title("Beale: loss per step")
plt.show()

# %% [markdown]
# - **Too small** (0.001, Adam's default): each step moves a coordinate by about `lr`
#   (Kingma and Ba, §2.1: that is the typical case; their worst-case bound with the default
#   betas is $\text{lr}\cdot(1-\beta_1)/\sqrt{1-\beta_2} \approx 3.2\cdot\text{lr}$, reached
#   only when one large gradient follows many tiny ones), so 200 steps cover about 0.2, and
#   the minimum is 2.2 away.
#   The loss falls at every step; training stalls far from the goal.
# - **Too large** (5): the first steps throw the point far out, where Beale's gradients are
#   huge (the function grows like $y^6$). `exp_avg_sq` remembers them for about
#   $1/(1-\beta_2) = 1000$ steps, so afterwards every step is thousands of times shorter than
#   `lr`: Adam crawls, and stalls too.
#
# Between the two lies a range where the steps shrink by themselves near the minimum. They
# shrink because the two memories differ: $\hat m_t$ (about $1/(1-\beta_1) = 10$ steps) has
# already followed the gradients down, while $\hat v_t$ (about 1000 steps) still holds the
# earlier, larger ones, so $\hat m_t/\sqrt{\hat v_t}$ falls. How wide is that range? A grid by
# factors of about 3, from Adam's default up:

# %%
grid = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
final = [training.run(torch.optim.Adam, "beale", 200, lr=lr).final_loss for lr in grid]
print("lr                    " + "".join(f"{lr:>9g}" for lr in grid))
print("loss after 200 steps  " + "".join(f"{loss:9.1e}" for loss in final))

# %% [markdown]
# Narrower than a factor of 10. A search by factors of 10 from the default (0.001, 0.01, 0.1,
# 1) never gets below $4\cdot10^{-3}$: 0.1 is still on its way, and 1 overshoots the minimum
# and is still coming back. Only 0.3, between them, reaches $1.4\cdot10^{-6}$. (3 ends fairly
# low too, but between 1 and 5, both bad: a good value next to bad ones is luck of the
# landscape, not a safe choice.) Search by factors of about 3, and look at the loss curve, not
# only at its last value.
#
# ### Exercise 04.3 · Predict, then reveal: a gradient after a long silence
#
# §2.1's worst case, a large gradient after many tiny ones, happens in real training. The
# embedding row of a rare word gets a gradient of 0 (not `None`) from every batch without the
# word, and Adam counts those steps: `step` grows while `exp_avg` and `exp_avg_sq` stay 0.
# Then the word appears. **Guess first**: with torch's defaults, how far does its row move if
# the word first appears at step 10? At step 10 000? About `lr`, $3.2\cdot$`lr`, or else?
#
# Then turn the guess into a formula: write `step_after_zero_grads(grad, step, lr, betas, eps)`,
# the size $|\Delta\theta|$ of Adam's update at step number `step` when every earlier gradient
# was 0 and this one is `grad` (a tensor: return a tensor of its shape and dtype). No loop is
# needed, the moments hold a single term each. The checker runs `torch.optim.Adam` for real on
# gradients of its own (zero, tiny and large; float32 and float64), steps, `lr`, `betas` and
# `eps`, and names the mistake it recognises. Stuck? `hint("04.3")`, then `show_solution("04.3")`.

# %%
def step_after_zero_grads(grad, step, lr, betas, eps):
    """Return |Δθ| of Adam's step number `step` when every earlier gradient was 0."""
    # BEGIN SOLUTION
    beta1, beta2 = betas
    m_hat = (1 - beta1) * grad / (1 - beta1**step)            # m_t = (1 − β1)·g, one term
    v_hat = (1 - beta2) * grad * grad / (1 - beta2**step)     # v_t = (1 − β2)·g²
    return lr * m_hat.abs() / (v_hat.sqrt() + eps)            # |Δθ| = lr·|m̂| / (√v̂ + ε)
    # END SOLUTION


check("04.3", step_after_zero_grads)

# %% [markdown]
# The reveal: `torch.optim.Adam` for real, one coordinate per word. Row $i$'s word first
# appears at step $k_i$ (gradient 1 there, 0 at every step before), for $k_i$ from 1 to 10 000.
# The two cells show it once you have checked an answer of your own (right or wrong) above:

# %%
first_seen = torch.logspace(0, 4, 41, dtype=torch.float64).round().unique()   # k = 1 … 10 000
rows = torch.zeros(len(first_seen), dtype=torch.float64, requires_grad=True)
opt = torch.optim.Adam([rows], lr=1e-3)                      # torch's defaults
arrives = {int(k): (first_seen == k).double() for k in first_seen}
no_word = torch.zeros_like(rows)
moved = torch.zeros_like(rows)
for t in range(1, int(first_seen.max()) + 1):
    rows.grad = arrives.get(t, no_word)          # 0, not None: Adam counts the step
    opt.step()
    if t in arrives:                             # that row was still at 0 before this step
        moved += arrives[t] * rows.detach().abs()
ratio = moved / 1e-3
if reveal("04.3"):   # the numbers, once you have committed to an answer above
    for k in (1, 2, 10, 100, 1000, 10000):
        print(f"first seen at step {k:5d}:  |Δθ| = {ratio[first_seen == k].item():.3f} · lr")

# %%
if attempted("04.3"):   # (the cell above says what to do first)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.semilogx(first_seen, ratio, "o-", markersize=3, label="torch.optim.Adam, measured")
    ax.axhline(1, color="black", linestyle=":", linewidth=1, label="lr: a first step, and the typical case")
    ax.axhline(0.1 / 0.001**0.5, color="black", linestyle="--", linewidth=1,
               label=r"§2.1's worst case, $\mathrm{lr}\,(1-\beta_1)/\sqrt{1-\beta_2}$")
    ax.set(xlabel="step at which the word first appears", ylabel=r"$|\Delta\theta|$ at that step / lr",
           title="A gradient after a long silence (Adam's defaults)")
    ax.legend(fontsize="small")
    plt.show()

# %% [markdown]
# At step 1 the corrections cancel and the row moves `lr`, as every first step does. After
# $k-1$ zeros the moments hold one term each, $m_k = (1-\beta_1)\,g$ and $v_k = (1-\beta_2)\,g^2$, so
#
# $$\frac{|\Delta\theta_k|}{\text{lr}} = \frac{1-\beta_1}{1-\beta_1^k}\,\sqrt{\frac{1-\beta_2^k}{1-\beta_2}} \qquad (|g| \gg \varepsilon).$$
#
# Read it as two averages that count the silent steps as data. $\hat m_k$ (a memory of about
# 10 steps) soon averages nine zeros and one $g$: about $0.1\,g$ after a few tens of steps.
# $\hat v_k$ (about 1000 steps) averages $k$ values of which one is $g^2$: about $g^2/k$ while
# $k \ll 1000$. So the step first dips (0.484·lr at step 10), is back near `lr` at step 100,
# and nears the worst case $3.2\cdot$`lr` only after thousands of silent steps, once
# $\beta_2^k$ is negligible. In a long run, a rare word's row jumps 3 times as far as a typical
# step (about `lr`) when its word finally appears. It is the Beale run's other side: there,
# large gradients held in $\hat v_t$ made every later step short; here, a memory of zeros
# makes one step long.

# %% [markdown]
# ## 7. Beyond bowls: a saddle and several minima
#
# Every surface so far had one minimum. Networks' losses have saddle points, where the
# gradient is 0 but the surface curves down in some direction, and many minima. The package
# has two such surfaces. `saddle` is $x^2 - y^2$, started at $(-2, 0.01)$, a hair off the ridge
# line; `bumpy` is a shallow bowl plus a cosine ripple, with five local minima. The same three
# optimizers on both, at the same lr:

# %%
configs = {"SGD, lr=0.05": (torch.optim.SGD, {"lr": 0.05}),
           "SGD, lr=0.05, momentum=0.9": (torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
           "Adam, lr=0.05": (torch.optim.Adam, {"lr": 0.05})}
saddle_runs = {name: training.run(cls, "saddle", 40, **h) for name, (cls, h) in configs.items()}
bumpy_runs = {name: training.run(cls, "bumpy", 200, **h) for name, (cls, h) in configs.items()}
for name in configs:
    y = saddle_runs[name].positions[:, 1]
    x_end, y_end = bumpy_runs[name].final_position
    print(f"{name:27s} saddle: y after 10 steps {y[10]:.3f}, after 40 {y[40]:+.2f}   "
          f"bumpy: ends at ({x_end:+.2f}, {y_end:+.2f}), loss {bumpy_runs[name].final_loss:+.3f}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
plotting.plot_trajectories(saddle_runs, ax=left)
left.set_title("x² − y²: 40 steps from (−2, 0.01)")
plotting.plot_trajectories(bumpy_runs, ax=right)
for line in right.get_lines():       # all three paths run along x = y: nest them, widest underneath
    width = {"SGD, lr=0.05": 10, "Adam, lr=0.05": 5}.get(line.get_label())
    if width:
        line.set(linewidth=width, alpha=0.55 if width == 10 else 0.8, marker="", zorder=3 - width / 20)
right.legend(loc="upper center", fontsize="small", framealpha=0.85)
for text, run, text_at in [("SGD and Adam end", "Adam, lr=0.05", (-1.2, -2.7)),
                           ("momentum ends", "SGD, lr=0.05, momentum=0.9", (0.5, -0.9))]:
    x_end, y_end = bumpy_runs[run].final_position
    right.annotate(f"{text} at ({x_end:.2f}, {y_end:.2f})", (x_end, y_end), xytext=text_at,
                   fontsize="small", arrowprops={"arrowstyle": "->"}, zorder=6,
                   bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85})
right.set_title("bumpy: 200 steps from (−2.5, −2.5)")
plt.show()

# %% [markdown]
# **The saddle.** Near $(0, 0)$ the gradient $(2x, -2y)$ is tiny, and along $y$ it only grows
# with $y$ itself: plain SGD multiplies $y$ by $1 + 2\,\text{lr} = 1.1$ per step, so from 0.01 it
# needs about 50 steps to leave, and it first crawls towards the saddle. Momentum adds up the
# growing $y$ gradients and leaves in about 20 steps. Adam divides by the gradient's size: a
# step of about `lr` in $y$ from the first step on, however small the slope, so it turns away
# at once. Started exactly on the ridge line ($y = 0$) none of them leaves, since the gradient
# has no $y$ component at all; in a network, minibatch noise plays the role of the 0.01.
#
# **The minima.** On `bumpy` a run ends in the minimum whose basin it is in when its steps
# become small. SGD and Adam take small steps and stop in the nearest minimum, near
# $(-1.78, -1.79)$, the worst of the five. Momentum arrives at that minimum with speed, rolls
# over the ridge and settles in the global one. What decides is the start (which basin) and
# the speed the optimizer carries across ridges (lr, momentum), not which minimum is better.
# The explorer below always starts from the surface's own start; try other learning rates,
# momentum values and optimizers there (`bumpy` is in its surface menu) and see which minimum
# each run ends in.

# %% [markdown]
# ## 8. Explore: Adam's betas
#
# Move the sliders: `beta1 = 0` turns off momentum (RMSprop with bias correction); a
# `beta1` near 0.99 gives long, curving overshoots; a small `beta2` makes the step size
# follow every change of the gradient. Change the surface too, or switch the optimizer to
# SGD to compare.

# %%
from myoptim_helpers import widgets

widgets.trajectory_explorer("beale", "Adam", lr=0.5, betas=(0.9, 0.999), steps=200)

# %% [markdown]
# ## Recap
#
# - An EMA $m_t = \beta m_{t-1} + (1-\beta) x_t$ started at 0 is biased by the factor
#   $1-\beta^t$; Adam divides both moments by it (`exp_avg`, `exp_avg_sq` are stored uncorrected).
# - Adagrad divides by $\sqrt{\sum g^2}$ (state `sum`), RMSprop by $\sqrt{\text{EMA of } g^2}$
#   (`square_avg`, no bias correction), Adam by $\sqrt{\hat v_t} + \varepsilon$ and steps along $\hat m_t$.
# - torch adds `eps` after the square root and the bias correction; inside the root it acts
#   like $\sqrt{\varepsilon}$. Equal formulas in another order differ by rounding only.
# - `amsgrad=True` divides by the running maximum `max_exp_avg_sq`.
# - Adam's step per coordinate is about `lr`, whatever the gradient's scale: its learning rate
#   must be searched again when switching from SGD (by factors of about 3), and a bad one still
#   stalls or bounces.
# - The first step is `lr` in every coordinate. After $k-1$ zero gradients a gradient moves
#   $\text{lr}\,\frac{1-\beta_1}{1-\beta_1^k}\sqrt{\frac{1-\beta_2^k}{1-\beta_2}}$: less than `lr` at first, and
#   §2.1's worst case $\text{lr}\,(1-\beta_1)/\sqrt{1-\beta_2} \approx 3.2\cdot$`lr` only after thousands of steps.
# - Near a saddle plain SGD crawls (the escaping direction grows by only $1 + \text{lr}\cdot|\lambda|$
#   per step); momentum and Adam leave fast. With several minima, the start's basin and the
#   speed carried over ridges decide where a run ends, not the minimum's depth.
#
# ## Next
#
# [05 · Weight decay](05_weight_decay.ipynb): why `Adam(weight_decay=...)` is not AdamW, and
# how real training code decides which parameters to decay.
