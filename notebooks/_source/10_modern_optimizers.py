# ---
# summary: The family tree of torch.optim as diffs of update rules; Muon's Newton-Schulz orthogonalisation against AdamW, Adafactor's factored memory, schedule-free AdamW instead of a schedule.
# ---

# %% [markdown]
# # 10 · Modern optimizers
#
# {{badges}}
#
# Every optimizer in `torch.optim` is a small change to an older one. This lesson reads
# them as a family tree, each child as the *diff* of its update rule from its parent, and
# then builds the three newest ideas: Muon (orthogonalised momentum), Adafactor (a second
# moment in a fraction of the memory) and schedule-free AdamW (no learning-rate schedule).
#
# ## You will learn
# - the family tree of `torch.optim`, read as diffs of the pure update functions
# - NAdam's momentum schedule, and what RAdam and Adamax change in Adam
# - Muon: the Newton-Schulz iteration that drives every singular value of the update towards 1,
#   and why it is only for 2-D hidden weights (two param groups, AdamW for the rest)
# - Adafactor's factored second moment, and its optimizer state in bytes per parameter
# - schedule-free AdamW: `train()`/`eval()` and a constant learning rate instead of a schedule
#
# ## You should already know
# - Adagrad, RMSprop, Adam and AMSGrad (lesson 04), AdamW (lesson 05)
# - Signum and Lion (lesson 06), learning-rate schedules (lesson 07)

# %%
# {{colab_setup}}
import ast
import difflib
import inspect
import textwrap

import matplotlib.pyplot as plt
import torch
from torch import nn

from myoptim_helpers import expect_error, optim, problems
from myoptim_helpers.exercises import check, hint, show_solution
from myoptim_helpers.exercises.lesson06 import lion_update, signum_update

_ = torch.manual_seed(0)  # `_ =` keeps the returned generator out of the output

# %% [markdown]
# ## 1. The family tree
#
# ```
# SGD ── momentum ── Nesterov                 (one function: sgd_update, flags)
#  │        └─ Signum ── Lion                  (sign methods, lesson 06)
#  │        └─ Muon                            (momentum, orthogonalised)
# Adagrad ── RMSprop ── Adam ─┬─ AdamW, AMSGrad (flags of adam_update)
#                             ├─ NAdam, RAdam, Adamax
#                             └─ Adafactor
# ```
#
# Each update function of `myoptim_helpers.optim` fits on a screen, so a child can be read
# as the lines it changes in its parent. `rule_diff` strips docstrings and comments and
# prints only the changed lines (`-` parent, `+` child).

# %%
def rule_lines(fn):
    """The body of ``fn`` without its docstring and comments, as lines."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    body = tree.body[0].body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]                       # drop the docstring
    return [line for stmt in body for line in ast.unparse(stmt).splitlines()]


def rule_diff(parent, child):
    """Print the lines ``child`` changes in ``parent`` (no context lines)."""
    print(f"--- {parent.__name__}\n+++ {child.__name__}")
    diff = difflib.unified_diff(rule_lines(parent), rule_lines(child), lineterm="", n=0)
    for line in list(diff)[2:]:
        if not line.startswith("@@"):
            print(line)


rule_diff(optim.adagrad_update, optim.rmsprop_update)

# %% [markdown]
# Adagrad divides by the root of a *sum* of squared gradients, RMSprop by the root of an
# *average* (with optional momentum and centring). Adam then adds the first moment and
# the bias correction:

# %%
rule_diff(optim.rmsprop_update, optim.adam_update)

# %% [markdown]
# AdamW and AMSGrad are not separate functions: they are the `decoupled_weight_decay` and
# `amsgrad` branches of `adam_update` above, and likewise momentum and Nesterov are flags of
# `sgd_update` (lesson 03). Signum and Lion (lesson 06) change the same two lines of a
# momentum method: the step is the *sign* of a mix of the buffer and the gradient.

# %%
rule_diff(signum_update, lion_update)

# %% [markdown]
# ## 2. NAdam: Nesterov momentum inside Adam
#
# NAdam (Dozat, 2016) mixes the current gradient, weighted by this step's momentum
# $\mu_t$, with the first moment weighted by the *next* step's $\mu_{t+1}$: a look ahead,
# as Nesterov's. torch does not use a constant $\mu = \beta_1$ but a schedule that starts
# near $\beta_1/2$ and rises towards $\beta_1$:
#
# $$\mu_t = \beta_1\left(1 - \tfrac12\, 0.96^{\,t\cdot \text{momentum\_decay}}\right)$$
#
# with `momentum_decay = 0.004` by default, and the product $\prod \mu_t$ (`mu_product` in
# the state) in place of Adam's $\beta_1^t$ in the bias correction.
#
# **Exercise 10.1.** Write `nadam_momentum(step, beta1, momentum_decay)` returning the pair
# `(mu, mu_next)` for `step` (counted from 1) and `step + 1`.

# %%
def nadam_momentum(step, beta1, momentum_decay):
    # BEGIN SOLUTION
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    return mu, mu_next
    # END SOLUTION


check("10.1", nadam_momentum)

# %% [markdown]
# Now the whole diff from Adam: the schedule, `mu_product`, and the two-part step. RAdam
# instead switches the adaptive step off while the variance estimate is unreliable (its
# `rho_t`), and Adamax replaces the root mean square by an infinity norm (`exp_inf`).

# %%
rule_diff(optim.adam_update, optim.nadam_update)

# %%
rule_diff(optim.adam_update, optim.adamax_update)

# %% [markdown]
# ## 3. Muon: orthogonalised momentum
#
# For a weight matrix, SGD-momentum's update $M$ is usually dominated by a few directions:
# its singular values span orders of magnitude. Muon (Jordan et al., 2024) steps along
# the *polar factor* of $M = U S V^\top$ instead, $O = U V^\top$: all singular values set
# to 1, so that every direction the update spans moves by the same amount.
#
# An SVD per step is slow, so Muon divides $M$ by its Frobenius norm (singular values in
# $[0, 1]$) and applies a few steps of the quintic **Newton-Schulz** iteration
#
# $$X \leftarrow aX + b\,(XX^\top)X + c\,(XX^\top)^2X,$$
#
# which maps every singular value $s$ to $a s + b s^3 + c s^5$ and leaves $U$, $V$ alone.
#
# **Exercise 10.2.** Write `newton_schulz_step(X, a, b, c)`: one step, for any 2-D `X`.

# %%
def newton_schulz_step(X, a, b, c):
    # BEGIN SOLUTION
    A = X @ X.T
    return a * X + (b * A + c * A @ A) @ X
    # END SOLUTION


check("10.2", newton_schulz_step)

# %% [markdown]
# Watch the singular values converge, in float64 (torch's Muon runs the iteration in
# bfloat16). Muon's coefficients `(3.4445, -4.7750, 2.0315)` rise steeply from 0 and land every
# singular value in roughly $[0.7, 1.2]$ in 5 steps; the cubic `(1.5, -0.5, 0)` converges
# to exactly 1, but needs many more steps for small singular values.

# %%
def ns_step(X, a, b, c):
    A = X @ X.T
    return a * X + (b * A + c * A @ A) @ X


g = torch.Generator().manual_seed(0)
U, _ = torch.linalg.qr(torch.randn(16, 16, generator=g, dtype=torch.float64))
V, _ = torch.linalg.qr(torch.randn(32, 16, generator=g, dtype=torch.float64))
M = U @ torch.diag(torch.logspace(0, -3, 16, dtype=torch.float64)) @ V.T   # s from 1 to 0.001
history = {}
for name, abc in {"Muon (3.4445, -4.775, 2.0315)": (3.4445, -4.7750, 2.0315), "cubic (1.5, -0.5, 0)": (1.5, -0.5, 0.0)}.items():
    X = M / M.norm()
    history[name] = [torch.linalg.svdvals(X)]
    for _ in range(10):
        X = ns_step(X, *abc)
        history[name].append(torch.linalg.svdvals(X))
    polar_gap = (X - U @ V.T).norm() / (U @ V.T).norm()
    print(f"{name:30s} after 5 steps s in [{history[name][5].min():.2f}, {history[name][5].max():.2f}];"
          f" after 10 steps [{history[name][10].min():.2f}, {history[name][10].max():.2f}], "
          f"relative distance to U V^T {polar_gap:.2f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
for ax, (name, svs) in zip(axes, history.items()):
    s = torch.stack(svs)
    for k in (0, 5, 10, 15):
        _ = ax.plot(s[:, k], marker=".", label=f"singular value {k + 1}")
    _ = ax.axhline(1.0, color="gray", linestyle=":", label="polar factor (1)")
    ax.set(title=name, xlabel="Newton-Schulz step", ylabel="singular value", yscale="log")
    ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# Muon's update is then SGD-momentum's buffer (an average, `lerp`), the Nesterov mix, the
# iteration, and a learning rate scaled by the matrix's shape:

# %%
print(inspect.getsource(optim.muon_update).split('"""')[2])

# %% [markdown]
# ## 4. Why only 2-D hidden weights
#
# Orthogonalising needs a matrix: a bias or a norm's scale is a vector, and its "polar
# factor" would be its sign, i.e. sign-SGD. Embeddings and the output layer are matrices,
# but their rows are tokens and classes, not directions of a hidden space, so the recipe
# trains them, and every vector, with AdamW. torch's Muon refuses anything but 2-D:

# %%
hidden = nn.Linear(8, 8)
with expect_error(ValueError, match="2D"):
    torch.optim.Muon(hidden.parameters(), lr=0.02)

# %% [markdown]
# So a real set-up has two optimizers (or two param groups of a combined one): Muon for
# the hidden matrices, AdamW for the rest. A small MLP on two moons, Muon against AdamW
# alone, in float64 with full batches, two learning rates each.

# %%
data = problems.two_moons(128, noise=0.15, seed=0, dtype=torch.float64)
test = problems.two_moons(256, noise=0.15, seed=1, dtype=torch.float64)


def make_mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                         nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2)).double()


def train(make_opts, steps=100):
    model = make_mlp()
    opts = make_opts(model)
    losses = []
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(data.x), data.y)
        for opt in opts:
            opt.zero_grad()
        loss.backward()
        for opt in opts:
            opt.step()
        losses.append(loss.item())
    accuracy = (model(test.x).argmax(1) == test.y).double().mean().item()
    return losses, accuracy

# %% [markdown]
# Muon needs a float64 iteration here (torch's runs in bfloat16, whose rounding depends on
# the CPU), so this is Muon from scratch: the momentum average, the Nesterov mix, the
# normalised Newton-Schulz iteration, `adjust_lr`'s shape scaling.

# %%
class Muon64(torch.optim.Optimizer):
    """Muon with the Newton-Schulz iteration in the parameter's dtype (float64 here)."""

    def __init__(self, params, lr=0.02, momentum=0.95, ns_steps=5):
        super().__init__(params, {"lr": lr, "momentum": momentum, "ns_steps": ns_steps})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
                buf.lerp_(p.grad, 1 - group["momentum"])
                X = p.grad.lerp(buf, group["momentum"])            # Nesterov
                X = X / X.norm().clamp(min=1e-7)
                for _ in range(group["ns_steps"]):
                    X = ns_step(X, 3.4445, -4.7750, 2.0315)
                p.add_(X, alpha=-group["lr"] * max(1, p.shape[0] / p.shape[1]) ** 0.5)

# %%
def muon_and_adamw(lr):
    def make(model):
        hidden = [model[2].weight, model[4].weight]                       # 2-D hidden matrices
        rest = [p for p in model.parameters() if all(p is not h for h in hidden)]
        return [Muon64(hidden, lr=lr), torch.optim.AdamW(rest, lr=0.01, weight_decay=0.0)]
    return make


threads = torch.get_num_threads()
torch.set_num_threads(1)          # 32x32 matrices: a second thread costs more than it saves
runs = {}
for lr in (0.01, 0.03):
    runs[f"AdamW lr={lr}"] = train(lambda m, lr=lr: [torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=0.0)])
for lr in (0.03, 0.1):
    runs[f"Muon lr={lr} + AdamW"] = train(muon_and_adamw(lr))
torch.set_num_threads(threads)
for name, (losses, acc) in runs.items():
    print(f"{name:22s} loss after 30 steps {losses[29]:.3f}, after 100 {losses[-1]:.3f}, test accuracy {acc:.1%}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for name in ("AdamW lr=0.03", "Muon lr=0.1 + AdamW"):
    _ = ax.plot(runs[name][0], label=name)
ax.set(xlabel="step", ylabel="training loss (cross-entropy)", yscale="log", title="Two moons, 32-unit MLP, float64")
ax.legend()
plt.show()

# %% [markdown]
# Read these numbers for what they are: one tiny network, one data set, full batches, two
# hidden 32x32 matrices. Here AdamW is ahead early, both fit the training set by step 100,
# and the test accuracies are the same. Muon's reported gains are for transformers with
# large hidden matrices and many steps; nothing at this scale shows them.
#
# ## 5. Adafactor: a second moment in rows and columns
#
# Adam keeps `exp_avg` and `exp_avg_sq`, two numbers per parameter. Adafactor (Shazeer &
# Stern, 2018) keeps no first moment and, for a matrix, only the row means and column means
# of $g^2$:
#
# $$r = \operatorname{mean}_j g_{ij}^2 \;(n\times 1),\qquad c = \operatorname{mean}_i g_{ij}^2 \;(1\times m),\qquad
# \hat v = \frac{r\,c}{\operatorname{mean}(r)}$$
#
# the best rank-1 fit to $g^2$: $n + m$ numbers instead of $nm$ (torch's state `row_var`,
# `col_var`, averaged over steps).
#
# **Exercise 10.3.** Write `adafactor_factors(grad)` returning `(row_var, col_var, v)` for a
# gradient of 2 or more dimensions (reduce the last two; keep the reduced dimensions).

# %%
def adafactor_factors(grad):
    # BEGIN SOLUTION
    sq = grad * grad
    row_var = sq.mean(dim=-1, keepdim=True)
    col_var = sq.mean(dim=-2, keepdim=True)
    v = row_var @ col_var / row_var.mean(dim=-2, keepdim=True)
    return row_var, col_var, v
    # END SOLUTION


check("10.3", adafactor_factors)

# %% [markdown]
# The memory, measured: the bytes of every tensor in the optimizer's state, per parameter,
# after one step on a float32 model with a 1024x1024 layer.

# %%
def state_bytes_per_param(make_opt):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(256, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
    opt = make_opt(model.parameters())
    model(torch.randn(4, 256)).sum().backward()
    opt.step()
    n = sum(p.numel() for p in model.parameters())
    state = sum(t.numel() * t.element_size() for s in opt.state.values() for t in s.values() if torch.is_tensor(t))
    return state / n


for name, make in {"Adam": torch.optim.Adam, "Adafactor": torch.optim.Adafactor, "ours Adafactor": optim.Adafactor}.items():
    print(f"{name:15s} {state_bytes_per_param(make):.3f} bytes of state per parameter")

# %% [markdown]
# Adam: 8 bytes (two float32 moments). Adafactor: a small fraction of a byte, because the
# matrices keep $n+m$ numbers each and only the biases keep a full `variance`.
#
# ## 6. Schedule-free AdamW: no schedule to choose
#
# A cosine schedule needs the length of the run in advance. Schedule-free AdamW (Defazio et
# al., 2024) keeps a constant learning rate on an iterate $z$, averages the $z$'s into $x$
# (the weights you evaluate) and takes the gradient at $y$, between the two. The parameter
# holds $y$ in `train()` mode and $x$ in `eval()` mode, so the optimizer must be switched
# with the model. `optim.AdamWScheduleFree` is built from scratch and tested at every step
# against the `schedulefree` package:

# %%
print(inspect.getsource(optim.schedulefree_adamw_update).split('"""')[2])

# %%
def run_curve(make, steps=150):
    torch.manual_seed(0)
    model = make_mlp()
    opt, sched = make(model)
    losses = []
    for _ in range(steps):
        if hasattr(opt, "train"):
            opt.train()
        loss = nn.functional.cross_entropy(model(data.x), data.y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        if hasattr(opt, "eval"):
            opt.eval()                      # evaluate at the average x
        with torch.no_grad():
            losses.append(nn.functional.cross_entropy(model(data.x), data.y).item())
    return losses


# %%
def adamw_cosine(model):
    opt = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.0)
    return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=150)


torch.set_num_threads(1)          # as above: small matrices run faster on one thread
curves = {"AdamW, constant lr": run_curve(lambda m: (torch.optim.AdamW(m.parameters(), lr=0.01, weight_decay=0.0), None)),
          "AdamW + cosine (T_max=150)": run_curve(adamw_cosine),
          "schedule-free AdamW": run_curve(lambda m: (optim.AdamWScheduleFree(m.parameters(), lr=0.01), None))}
torch.set_num_threads(threads)
for name, losses in curves.items():
    print(f"{name:28s} loss after 50 steps {losses[49]:.4f}, after 150 {losses[-1]:.4f}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, losses in curves.items():
    _ = ax.plot(losses, label=name)
ax.set(xlabel="step", ylabel="training loss (cross-entropy)", yscale="log", title="No schedule, no horizon")
ax.legend()
plt.show()

# %% [markdown]
# On this easy problem a constant learning rate is already good, and the cosine schedule
# slows the end; schedule-free AdamW starts slower (its average $x$ lags behind $z$) and ends
# lowest, with no horizon chosen in advance, so the run could be stopped or continued anywhere.
#
# ## Common mistake: evaluating schedule-free weights in train mode
#
# In `train()` mode the parameters hold $y$, the point where gradients are taken, not the
# average $x$ the method is about. Forgetting `opt.eval()` before evaluating (or saving a
# checkpoint) measures, or saves, other weights than the ones the method returns:

# %%
torch.manual_seed(0)
model = make_mlp()
opt = optim.AdamWScheduleFree(model.parameters(), lr=0.01)
opt.train()
for _ in range(40):
    loss = nn.functional.cross_entropy(model(data.x), data.y)
    opt.zero_grad()
    loss.backward()
    opt.step()
with torch.no_grad():
    at_y = nn.functional.cross_entropy(model(data.x), data.y).item()
    opt.eval()
    at_x = nn.functional.cross_entropy(model(data.x), data.y).item()
print(f"loss in train mode (y) {at_y:.4f}, after opt.eval() (x) {at_x:.4f}: two different models")

# %% [markdown]
# ## Recap
#
# - Every optimizer of `torch.optim` is a few changed lines of an older one: read the diff of
#   the update functions (Adagrad → RMSprop → Adam → NAdam/RAdam/Adamax, Signum → Lion).
# - NAdam's momentum follows $\mu_t = \beta_1(1 - \frac12 0.96^{t\cdot\text{momentum\_decay}})$.
# - Muon orthogonalises SGD-momentum's update with a Newton-Schulz iteration that maps each
#   singular value $s$ to $as + bs^3 + cs^5$; only for 2-D hidden weights, AdamW for the rest.
# - Adafactor keeps row and column means of $g^2$: a fraction of a byte of state per parameter
#   instead of Adam's 8.
# - Schedule-free AdamW needs no horizon; call `opt.train()` and `opt.eval()` with the model's.
#
# ## Next
#
# [11 · Optimizers at scale](11_optimizers_at_scale.ipynb): foreach and fused steps, optimizer
# state across processes, ZeRO and FSDP.
