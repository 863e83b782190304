# ---
# summary: L2 penalty vs decoupled weight decay: the same for plain SGD, not for Adam (hence AdamW); overfitting cured on a polynomial; nanoGPT's decay and no-decay param groups.
# ---

# %% [markdown]
# # 05 · Weight decay: L2, decoupled, and AdamW
#
# {{badges}}
#
# Every optimizer in `torch.optim` takes a `weight_decay` argument, and it does not mean the
# same thing everywhere. In SGD and Adam it adds a penalty's gradient; in AdamW it shrinks
# the weights directly. This lesson shows, with numbers, when the two agree and when they
# do not, what decay does against overfitting, and how real training code picks which
# parameters to decay.
#
# ## You will learn
# - that `weight_decay=λ` in SGD and Adam adds $\lambda\theta$ to the gradient: the gradient of $\frac{\lambda}{2}\lVert\theta\rVert^2$
# - why L2 and decoupled decay coincide for plain SGD, but not with momentum and not for Adam
# - what AdamW does, in torch and in `myoptim_helpers`, and why it is not `Adam(weight_decay=...)`
# - how weight decay fights overfitting, in training and validation curves
# - how real training code leaves biases and norm weights out of the decay, with two param groups
#
# ## You should already know
# - param groups: a list of dicts, each with its own hyperparameters (lesson 01)
# - SGD with momentum (lesson 03) and Adam's moments and bias correction (lesson 04)

# %%
# {{colab_setup}}
import copy

import matplotlib.pyplot as plt
import torch
from torch import nn

from myoptim_helpers import optim, plotting, problems, training
from myoptim_helpers.exercises import check, hint, show_solution

_ = torch.manual_seed(0)  # `_ =` keeps the returned generator out of the output

# %% [markdown]
# ## 1. L2 regularisation is a term in the gradient
#
# L2 regularisation adds a penalty on the size of the weights to the loss:
#
# $$\tilde L(\theta) = L(\theta) + \frac{\lambda}{2}\lVert\theta\rVert^2, \qquad
# \nabla\tilde L(\theta) = \nabla L(\theta) + \lambda\,\theta .$$
#
# That gradient is exactly what `weight_decay=λ` gives in torch's SGD: its update adds
# `weight_decay * param` to the gradient (`grad = grad.add(param, alpha=weight_decay)`).
# To see it, we train a line $y = wx + b$ on 32 points twice, once with
# `SGD(weight_decay=0.1)` and once with the penalty written into the loss.
# `train_line` records $(w, b)$ after every step; its `decoupled` argument is for section 2.

# %%
x, y = problems.linear_data(32, dtype=torch.float64)


def train_line(weight_decay=0.0, penalty=0.0, decoupled=0.0, momentum=0.0, lr=0.1, steps=20):
    """Train nn.Linear(1, 1) (seed 1) with SGD on (x, y); return (w, b) after every step."""
    torch.manual_seed(1)
    model = nn.Linear(1, 1, dtype=torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    points = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss = loss + penalty / 2 * sum((p**2).sum() for p in model.parameters())  # (λ/2)‖θ‖²
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(1 - lr * decoupled)                 # decoupled decay: θ ← (1 − lr·λ) θ
        opt.step()
        points.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    return torch.stack(points)

# %%
sgd_l2 = train_line(weight_decay=0.1)
sgd_penalty = train_line(penalty=0.1)
print(f"w, b after 20 steps, SGD(weight_decay=0.1):    {sgd_l2[-1, 0]:.6f}, {sgd_l2[-1, 1]:.6f}")
print(f"w, b after 20 steps, penalty 0.05·‖θ‖² in loss: {sgd_penalty[-1, 0]:.6f}, {sgd_penalty[-1, 1]:.6f}")
print(f"equal at all 20 steps to float64 rounding (max |difference| < 1e-14): "
      f"{bool((sgd_l2 - sgd_penalty).abs().max() < 1e-14)}")

# %% [markdown]
# The same numbers at every step, to the last bits: in SGD, `weight_decay` *is* L2
# regularisation. Adam's `weight_decay` works the same way, adding $\lambda\theta$ to the
# gradient before the moments
# (`grad = grad.add(param, alpha=weight_decay)` in `torch/optim/adam.py`).
#
# ## 2. Decoupled weight decay, and why SGD does not notice
#
# *Weight decay* in its original sense shrinks the weights directly, separately from the
# gradient step. Written the way torch writes it (with the decay multiplied by `lr`):
#
# $$\theta \leftarrow (1 - \text{lr}\cdot\lambda)\,\theta - \text{lr}\cdot g .$$
#
# For plain SGD with L2, $\theta - \text{lr}\,(g + \lambda\theta)$ is the same expression
# rearranged. Loshchilov and Hutter (2019), who named the difference, write the decay as
# $(1 - \eta_t\lambda')\,\theta$: multiplied by the schedule's multiplier $\eta_t$, but not
# by the base learning rate $\alpha$ (torch's `lr` is $\alpha\,\eta_t$). The two coincide for
# $\lambda' = \alpha\cdot\lambda$, that is, up to a rescaling of the coefficient (more on this
# scale in section 3). `train_line(decoupled=0.1)` does the shrink by hand before `opt.step()`:

# %%
sgd_decoupled = train_line(decoupled=0.1)
print(f"plain SGD, L2 vs decoupled:  equal at all 20 steps to float64 rounding (< 1e-14): "
      f"{bool((sgd_l2 - sgd_decoupled).abs().max() < 1e-14)}")
sgd_l2_momentum = train_line(weight_decay=0.1, momentum=0.9)
sgd_decoupled_momentum = train_line(decoupled=0.1, momentum=0.9)
difference = (sgd_l2_momentum - sgd_decoupled_momentum).abs().max(dim=1).values
for step in (1, 2, 5, 20):
    print(f"SGD with momentum 0.9, step {step:2d}:  max |L2 − decoupled| = {difference[step - 1]:.4f}")

# %% [markdown]
# Without momentum the two agree to rounding (the same formula computed in another order:
# the last bits may differ). With momentum they part at step 2: the L2 term $\lambda\theta$
# goes into the momentum buffer and keeps acting in later steps (up to $1/(1 - 0.9) = 10$
# times), while the decoupled shrink happens once per step and never enters the buffer. So
# `SGD(momentum=0.9, weight_decay=λ)` is L2 regularisation, not decoupled decay.
#
# ## 3. With Adam they differ: AdamW
#
# In `Adam(weight_decay=λ)` the term $\lambda\theta$ joins the gradient *before* the moments
# (section 1), and from there it goes through the rest of lesson 04's Adam step. AdamW
# (`torch.optim.AdamW`) applies the decoupled shrink $(1 - \text{lr}\cdot\lambda)\,\theta$
# first, then Adam's step with the loss gradient alone. **Predict, then run.** What does
# Adam's way do to weights whose gradients differ in size? Commit to an answer:

# %%
from myoptim_helpers import widgets

widgets.predict("05.decay")

# %% [markdown]
# ## Common mistake: `Adam(weight_decay=...)` when you meant AdamW
#
# Both run without a complaint, so the difference has to be measured. Below, four weights
# receive random gradients of four sizes (10, 1, 0.1, 0.01) for 100 steps; then one step is
# taken from that same state twice, with and without `weight_decay=0.1`. The difference is
# the decay that one step applied, divided by $\text{lr}\cdot\lambda\cdot\theta$ (AdamW's shrink):

# %%
scales = torch.tensor([10.0, 1.0, 0.1, 0.01], dtype=torch.float64)
lr, wd = 1e-3, 0.1


def decay_of_one_step(optimizer_class):
    """Warm up on noisy gradients of four sizes; return one step's decay / (lr·wd·θ)."""
    torch.manual_seed(0)
    p = torch.ones(4, dtype=torch.float64, requires_grad=True)
    opt = optimizer_class([p], lr=lr, weight_decay=0.0)
    for _ in range(100):
        p.grad = scales * torch.randn(4, dtype=torch.float64)
        opt.step()
    p.grad = scales * torch.randn(4, dtype=torch.float64)
    without, with_decay = copy.deepcopy(opt), copy.deepcopy(opt)   # same state, same gradient
    with_decay.param_groups[0]["weight_decay"] = wd
    without.step()
    with_decay.step()
    step_without, step_with = (o.param_groups[0]["params"][0].detach() for o in (without, with_decay))
    return (step_without - step_with) / (lr * wd * p.detach())

# %%
print("gradient size:          " + "".join(f"{s:>9g}" for s in scales.tolist()))
for cls in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW):
    ratios = decay_of_one_step(cls)
    print(f"{cls.__name__ + '(weight_decay=0.1)':24s}" + "".join(f"{r:9.4f}" for r in ratios.tolist()))

# %% [markdown]
# SGD and AdamW decay every weight by the same $\text{lr}\cdot\lambda\cdot\theta$ (ratio 1).
# Adam's L2 term is divided by $\sqrt{\hat v}$ like the rest of the gradient: a weight whose
# gradients are large is barely decayed, one whose gradients are small is decayed a lot.
# And more: these are *first-step* figures.
# On the step where decay is switched on, $\lambda\theta$ enters `exp_avg` with the weight
# $1 - \beta_1 = 0.1$ only. With decay on from the start, `exp_avg` holds the whole
# $\lambda\theta$ (its weights $(1-\beta_1)\beta_1^k$ add up to 1), and $\lambda\theta$ also
# enters `exp_avg_sq`. The steady state: the same warm-up with `weight_decay=0.1` throughout,
# and, alongside, the EMA of $\lambda\theta_k$ that `exp_avg` contains, whose share of the
# step is the decay:

# %%
def steady_decay():
    """Adam(weight_decay) on the same noisy gradients for 101 steps; return the L2 term's part
    of the last step / (lr·wd·θ). exp_avg is linear in its inputs, so its L2 part is the EMA
    of wd·θ_k, tracked here next to torch's state."""
    torch.manual_seed(0)
    p = torch.ones(4, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr, weight_decay=wd)
    (beta1, beta2), eps = opt.defaults["betas"], opt.defaults["eps"]
    decay_avg = torch.zeros(4, dtype=torch.float64)
    for t in range(1, 102):
        theta = p.detach().clone()                        # θ before the step
        decay_avg.mul_(beta1).add_(wd * theta, alpha=1 - beta1)
        p.grad = scales * torch.randn(4, dtype=torch.float64)
        opt.step()
    denom = (opt.state[p]["exp_avg_sq"] / (1 - beta2**t)).sqrt() + eps
    return lr * decay_avg / (1 - beta1**t) / denom / (lr * wd * theta)


print("gradient size:               " + "".join(f"{s:>9g}" for s in scales.tolist()))
print("Adam, decay on throughout    " + "".join(f"{r:9.2f}" for r in steady_decay().tolist()))

# %% [markdown]
# In the steady state the weight with gradients of size 10 gets about a tenth of the decay
# you asked for (0.10), the one of size 1 all of it (1.00), and the ones of size 0.1 and 0.01
# about 7 and 11 times more: for them $\lambda\theta \approx 0.1$ is as large as the gradient
# or larger, so it sets $\sqrt{\hat v}$ and caps the factor near $1/(\lambda\theta) = 10$.
# The first-step table understated the effect up to tenfold. Either way the
# decay you asked for reaches each weight in proportion to how *little* it is trained. This
# is why transformers are trained with AdamW.
#
# In torch, AdamW is `torch.optim.AdamW`, or `torch.optim.Adam(..., decoupled_weight_decay=True)`;
# in this package, `myoptim_helpers.optim.AdamW`. Mind the scale when reading papers: torch
# shrinks by $\text{lr}\cdot\lambda$ per step, while Loshchilov and Hutter's AdamW shrinks by
# $\eta_t\lambda$, with $\eta_t$ the schedule's multiplier and not Adam's base step size
# $\alpha$; their $\lambda$ is torch's `weight_decay` times $\alpha$. And mind the defaults:

# %%
p = torch.zeros(2, requires_grad=True)
print("default weight_decay: Adam", torch.optim.Adam([p]).defaults["weight_decay"],
      "  AdamW", torch.optim.AdamW([p]).defaults["weight_decay"])
reference = training.run(torch.optim.AdamW, "rosenbrock", 100, lr=0.01, weight_decay=0.1).positions
for name, run in [("torch.optim.Adam(decoupled_weight_decay=True)",
                   training.run(torch.optim.Adam, "rosenbrock", 100, lr=0.01, weight_decay=0.1,
                                decoupled_weight_decay=True)),
                  ("myoptim_helpers.optim.AdamW",
                   training.run(optim.AdamW, "rosenbrock", 100, lr=0.01, weight_decay=0.1)),
                  ("torch.optim.Adam (L2)",
                   training.run(torch.optim.Adam, "rosenbrock", 100, lr=0.01, weight_decay=0.1))]:
    print(f"{name:46s} vs torch.optim.AdamW, 100 steps: max |difference| = "
          f"{(run.positions - reference).abs().max():.1e}")

# %% [markdown]
# ### Exercise 05.1 · Predict one step: L2 vs decoupled decay
#
# A single weight $\theta = 2.0$ has loss gradient $g = -0.3$. Predict, with pen and paper
# (or a Python expression), the weight after **one** step of each optimizer with `lr=0.1`
# and `weight_decay=0.2` (default betas and eps; eps changes the result by about $10^{-8}$,
# ignore it). The checker runs torch. Stuck? `hint("05.1")`, then `show_solution("05.1")`.

# %%
# BEGIN SOLUTION
# STUB: theta_sgd = ...     # torch.optim.SGD(lr=0.1, weight_decay=0.2)
# STUB: theta_adam = ...    # torch.optim.Adam(lr=0.1, weight_decay=0.2)
# STUB: theta_adamw = ...   # torch.optim.AdamW(lr=0.1, weight_decay=0.2)
theta_sgd = 2.0 - 0.1 * (-0.3 + 0.2 * 2.0)           # L2 gradient g' = 0.1: 1.99
theta_adam = 2.0 - 0.1 * 1.0                          # first Adam step = lr · g'/|g'|: 1.9
theta_adamw = 2.0 * (1 - 0.1 * 0.2) - 0.1 * (-1.0)    # shrink, then lr · g/|g| upwards: 2.06
# END SOLUTION
check("05.1", theta_sgd, theta_adam, theta_adamw)

# %% [markdown]
# ### Exercise 05.2 · One AdamW step from scratch
#
# Extend lesson 04's Adam step with decoupled weight decay: given the parameter, its loss
# gradient, the moments, the step number (1 at the first step) and the hyperparameters,
# **return** the new `(param, exp_avg, exp_avg_sq)` without changing the inputs. The
# checker runs your step next to `torch.optim.AdamW` on parameters and hyperparameters of
# its own (0-d to 2-D, float32 and float64). Stuck? `hint("05.2")`, then `show_solution("05.2")`.

# %%
def adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay):
    """Return (param, exp_avg, exp_avg_sq) after AdamW's step number `step` (1, 2, ...)."""
    # BEGIN SOLUTION
    beta1, beta2 = betas
    param = param * (1 - lr * weight_decay)                        # θ ← (1 − lr·λ) θ, first
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad                 # m_t: the loss gradient only
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad    # v_t
    m_hat = exp_avg / (1 - beta1**step)
    v_hat = exp_avg_sq / (1 - beta2**step)
    param = param - lr * m_hat / (v_hat.sqrt() + eps)              # then Adam's step
    return param, exp_avg, exp_avg_sq
    # END SOLUTION


check("05.2", adamw_step)

# %% [markdown]
# ## 4. What decay does: overfitting on 12 points
#
# `problems.polynomial_data` gives 12 noisy training points of the cubic
# $y = 0.5 + x - 2x^3$ and 100 validation points. A degree-9 polynomial (a linear layer on
# $x, x^2, \dots, x^9$: 10 parameters for 12 points) can nearly pass through every training
# point, noise included. We train it for 1000 full-batch epochs with Adam, and with AdamW,
# which adds only the decay. We run it in float64 because Adam divides each gradient by its
# recent size: once the gradients are tiny, float32's rounding errors in them would steer
# full-size steps, and after 1000 epochs another CPU would print other digits.

# %%
data = problems.polynomial_data(n_train=12, n_val=100, seed=3, dtype=torch.float64)
make_model = lambda: nn.Sequential(problems.PolynomialFeatures(9), nn.Linear(9, 1, dtype=torch.float64))
fits = {"Adam (no decay)": training.fit(make_model, torch.optim.Adam, data, 1000, lr=0.05, progress=False),
        "AdamW weight_decay=0.5": training.fit(make_model, torch.optim.AdamW, data, 1000, lr=0.05,
                                               weight_decay=0.5, progress=False)}
for name, fit in fits.items():
    weights = fit.model[1].weight.detach()
    print(f"{name:23s} training loss {fit.final_train_loss:.3f}   validation loss {fit.final_val_loss:.3f} "
          f"({fit.final_val_loss / fit.val_losses.min():.1f}× its lowest, reached near epoch "
          f"{round(fit.best_epoch, -2)})   "
          f"‖w‖ = {weights.norm():.1f}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
plotting.plot_fit(fits, ax=left, legend=False)
left.legend(left.get_lines()[::2], fits, loc="upper left", fontsize="small")  # one entry per run, above the curves
left.set_title("Training (solid) and validation (dashed) loss")
x_train, y_train, x_val, y_val = data
grid = torch.linspace(-1, 1, 200, dtype=torch.float64).unsqueeze(1)
right.scatter(x_train, y_train, color="black", zorder=3, label="12 training points")
right.plot(grid, 0.5 + grid - 2 * grid**3, "k--", linewidth=1, label="truth: 0.5 + x − 2x³")
with torch.no_grad():
    for name, fit in fits.items():
        right.plot(grid, fit.model(grid), label=name)
right.set(xlabel="x", ylabel="y", ylim=(-1.0, 2.0), title="The fitted degree-9 polynomials")
right.legend(fontsize="small")
plt.show()

# %% [markdown]
# Without decay the training loss keeps falling, below the noise level of the data (0.04,
# the variance of the noise), while the validation loss turns round after about 100 epochs
# and ends at 25 times its best. The right panel shows where: right of the last training
# point ($x > 0.56$) nothing holds the undecayed polynomial, and it swings down. With decay
# the weights stay 5 times smaller, the curve follows the truth, and the validation loss
# stays near its best. Decay trades a little training loss for a simpler function.
#
# ## 5. Which parameters to decay: two param groups
#
# Weight decay pulls every decayed tensor towards 0. For weight matrices that limits how
# sharply the model can bend to the data. For the other parameters it only does harm: a
# bias pulled to 0 is an offset the layer can no longer choose, and a LayerNorm weight is
# a gain that starts at 1, so pulling it to 0 shrinks the layer's output. Real training
# code therefore gives biases and norm weights `weight_decay=0.0`. nanoGPT's
# `configure_optimizers` does it with one rule: **parameters with 2 or more dimensions are
# decayed** (weight matrices, embeddings), the rest are not. A tiny language model:

# %%
class TinyLM(nn.Module):
    """Embedding → LayerNorm → MLP → LayerNorm → linear head: the parameter kinds of a transformer."""

    def __init__(self, vocab=100, dim=32):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.norm2 = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward(self, tokens):
        """Return next-token logits of shape (batch, length, vocab)."""
        h = self.embed(tokens)
        h = h + self.mlp(self.norm1(h))
        return self.head(self.norm2(h))


torch.manual_seed(0)
lm = TinyLM()
for name, p in lm.named_parameters():
    print(f"{name:14s} shape {str(tuple(p.shape)):11s} dim {p.dim()}  {'decay' if p.dim() >= 2 else 'no decay'}")

# %%
def configure_optimizer(model, weight_decay, lr):
    """nanoGPT's rule: decay tensors with 2+ dimensions; biases and norm weights get none."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    print(f"decayed:     {len(decay)} tensors, {sum(p.numel() for p in decay):,} parameters")
    print(f"not decayed: {len(no_decay)} tensors, {sum(p.numel() for p in no_decay):,} parameters")
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95))


opt = configure_optimizer(lm, weight_decay=0.1, lr=6e-4)
print("weight_decay per group:", [group["weight_decay"] for group in opt.param_groups])

# %% [markdown]
# Six tensors, 288 of the 14,880 parameters (2%), are left undecayed: the rule changes
# little in count, and keeps decay away from exactly the parameters it would harm.
#
# ## Common mistake: a no-decay group without `"weight_decay": 0.0`
#
# A group that does not set a hyperparameter takes the optimizer's default, and AdamW's
# default `weight_decay` is 0.01, not 0:

# %%
decay = [p for p in lm.parameters() if p.dim() >= 2]
no_decay = [p for p in lm.parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay}], lr=6e-4)
print("weight_decay per group:", [group["weight_decay"] for group in opt.param_groups])

# %% [markdown]
# The symptom: nothing fails, and the biases and norm weights are decayed after all, with
# 0.01. Always write `"weight_decay": 0.0` in the no-decay group.
#
# ### Exercise 05.3 · Decay and no-decay param groups
#
# Complete `param_groups(model, weight_decay)` so that it returns the two param groups of
# nanoGPT's rule for **any** model: every trainable tensor with 2 or more dimensions in one
# group with the given `weight_decay`, every other one in the other with `weight_decay` 0.0;
# frozen tensors (`requires_grad=False`) in no group, and no other keys. The order of the two
# groups is yours: torch treats every group alike, and nothing below reads `param_groups[0]`
# (nanoGPT lists the decayed group first, as we do). The checker tries it on models with an
# embedding, a `Conv1d` (its weight is 3-D: out channels, in channels, width; a `Conv2d`'s is
# 4-D), LayerNorm, BatchNorm and frozen layers. Stuck? `hint("05.3")`, then `show_solution("05.3")`.

# %%
def param_groups(model, weight_decay):
    """Return the decay and the no-decay param group (in either order) for torch.optim.AdamW."""
    # BEGIN SOLUTION
    params = [p for p in model.parameters() if p.requires_grad]
    return [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    # END SOLUTION


check("05.3", param_groups)

# %% [markdown]
# ## 6. Weight decay is not dropout
#
# Both are called regularisers, and both are switched on with one argument, but they act on
# different things:
#
# | | weight decay | dropout (`nn.Dropout(p)`) |
# |---|---|---|
# | acts on | the **weights**, inside `optimizer.step()` | the **activations**, inside `forward` |
# | how | shrinks every decayed weight by the same factor, $1 - \text{lr}\cdot\lambda$ in AdamW | zeroes each activation with probability $p$, scales the rest by $1/(1-p)$ |
# | randomness | none: deterministic | a new random mask at every forward pass |
# | when | at every optimizer step | in training mode only; `model.eval()` makes it the identity |
#
# Both, live:

# %%
torch.manual_seed(0)
dropout = nn.Dropout(p=0.5)
h = torch.ones(8)
print("dropout, train mode, pass 1:", dropout(h).tolist())
print("dropout, train mode, pass 2:", dropout(h).tolist())
print("dropout, eval mode:         ", dropout.eval()(h).tolist())

w = torch.ones(4, requires_grad=True)
opt = torch.optim.AdamW([w], lr=0.1, weight_decay=0.1)
for _ in range(3):
    w.grad = torch.zeros(4)                # no gradient at all: only the decay acts
    opt.step()
    print("AdamW step with zero gradient:", [f"{v:.6f}" for v in w.tolist()], " (× 0.99 each step)")

# %% [markdown]
# Dropout's output changes from one pass to the next and is the identity at evaluation;
# the weights are untouched. Weight decay moves every weight, the same way at every step,
# even with no gradient at all. They combine, they do not replace each other.
#
# ## Recap
#
# - `weight_decay=λ` in `SGD`, `Adam`, `RMSprop`, `Adagrad` adds $\lambda\theta$ to the
#   gradient: L2 regularisation, the gradient of $\frac{\lambda}{2}\lVert\theta\rVert^2$.
# - Decoupled decay shrinks the weights directly: $\theta \leftarrow (1 - \text{lr}\cdot\lambda)\theta$
#   in torch. For plain SGD it equals L2; with momentum or Adam it does not.
# - `torch.optim.AdamW` (= `Adam(..., decoupled_weight_decay=True)`, default `weight_decay=0.01`)
#   decays every weight equally; `Adam(weight_decay)` decays weights with large gradients
#   far less.
# - Decay keeps weights small and curves smooth: the validation loss stays near its best.
# - Give tensors with 2+ dimensions `weight_decay`, and biases and norm weights
#   `"weight_decay": 0.0`, written out in their group.
#
# ## Next
#
# [06 · Custom optimizers](06_custom_optimizers.ipynb): write your own `torch.optim.Optimizer`
# subclass, with its state and param groups, and check it against torch.
