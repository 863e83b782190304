# ---
# summary: The step real code runs: gradient clipping, autocast + GradScaler on CPU, accumulation with schedules, EMA and SWA, full checkpoints, and a doctor that names what is wrong in a loop.
# ---

# %% [markdown]
# # 09 · The production training step
#
# {{badges}}
#
# A real training step is more than `zero_grad → backward → step`. It clips the gradients,
# runs the forward pass in low precision, accumulates micro-batches, keeps an average of the
# weights and writes checkpoints from which a run can go on as if it had never stopped. Each
# part has one place in the step, and in the wrong place each one fails **silently**. This
# lesson builds the step in the order real code runs it, checks every part against torch, and
# ends with a doctor that watches your loop and says what is wrong.
#
# ## You will learn
# - exploding gradients, and `clip_grad_norm_` / `clip_grad_value_` rebuilt from scratch
# - where clipping goes, and why the global norm keeps the direction of the step
# - mixed precision on CPU: `torch.autocast` with bfloat16, float16 with `torch.amp.GradScaler`,
#   the order scale → backward → `unscale_` → clip → `scaler.step` → `update`, a skipped step
# - accumulation with a scheduler and clipping that equals the big-batch loop
# - an EMA of the weights (equal to `AveragedModel`), SWA with `SWALR` and `update_bn`
# - a full checkpoint that resumes with identical losses, and three resumes that do not
# - `myoptim_helpers.doctor.watch`: a loop checked through hooks, without changing it
#
# ## You should already know
# - the order of `zero_grad`, `backward`, `step` and gradient accumulation ([02](02_zero_grad_and_step.ipynb))
# - Adam's state ([04](04_adam.ipynb)) and `state_dict` ([06](06_custom_optimizers.ipynb))
# - schedulers, `OneCycleLR` and resuming them ([07](07_lr_schedulers.ipynb)); a real network
#   trained on minibatches ([08](08_real_network.ipynb))

# %%
# {{colab_setup}}
import inspect
import io
import math

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from myoptim_helpers import doctor, expect_error, problems, production
from myoptim_helpers.exercises import check, hint, reveal, show_solution

_ = torch.manual_seed(0)  # same numbers on every run (`_ =` hides the returned generator)
torch.set_num_threads(1)  # models this small run faster on one thread than on two that wait for each other


# %% [markdown]
# ## 1. Exploding gradients
#
# A deep stack of linear layers whose weights are a little too large: each layer multiplies
# the signal, and the gradient on the way back, by about 1.4. After 12 layers the gradient
# is hundreds of times larger than the loss suggests, and a learning rate that would suit the
# loss throws the weights far away. (Everything in this section is float64, so the printed
# numbers are the same on every CPU.)

# %%
def deep_net(seed=0, depth=12, width=16, std=0.35):
    torch.manual_seed(seed)
    layers = [nn.Linear(width, width) for _ in range(depth)]
    for layer in layers:
        nn.init.normal_(layer.weight, std=std)           # 0.35 × √16 = 1.4 per layer
    return nn.Sequential(*layers).double()


g = torch.Generator().manual_seed(1)
x_deep = 0.02 * torch.randn(64, 16, generator=g, dtype=torch.float64)
y_deep = torch.randn(64, 16, generator=g, dtype=torch.float64)
net = deep_net()
loss = F.mse_loss(net(x_deep), y_deep)
loss.backward()
print(f"at the start: loss {loss.item():.3g}, gradient norm "
      f"{torch.cat([p.grad.flatten() for p in net.parameters()]).norm().item():.3g}")

# %% [markdown]
# Train it with SGD (lr = 0.01), once as it is and once with `clip_grad_norm_(max_norm=1)`
# between `backward()` and `step()`. `clip_grad_norm_` returns the norm *before* clipping,
# which we record for both runs:

# %%
def train_deep(max_norm=math.inf, steps=30, lr=0.01):
    net = deep_net()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    losses, norms = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.mse_loss(net(x_deep), y_deep)
        losses.append(loss.item())
        if not math.isfinite(loss.item()):
            break
        loss.backward()
        norms.append(production.clip_grad_norm_(net.parameters(), max_norm).item())  # after backward, before step
        optimizer.step()
    return losses, norms


(plain, plain_norms), (clipped, clipped_norms) = train_deep(), train_deep(max_norm=1.0)
print("without clipping, loss:", [f"{v:.3g}" for v in plain])
print(f"with clipping:    loss {clipped[0]:.3g} -> {clipped[-1]:.3g} after {len(clipped)} steps")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
ax1.semilogy(plain_norms, "o-", label="no clipping")
ax1.semilogy(clipped_norms, label="clip_grad_norm_(max_norm=1)")
ax1.set(xlabel="step", ylabel="gradient norm before clipping (log)", title="the gradient norm")
ax1.legend()
ax2.semilogy([v if math.isfinite(v) else float("nan") for v in plain], "o-", label="no clipping")
ax2.semilogy(clipped, label="clip_grad_norm_(max_norm=1)")
ax2.set(xlabel="step", ylabel="training loss (log)", title="SGD, lr = 0.01")
ax2.legend()
plt.show()

# %% [markdown]
# Without clipping the first step, of length lr × 619, overshoots; the next gradient is
# larger still, and in three steps the loss is `nan`. With clipping every step has length at
# most `lr × max_norm`, and the loss goes down.
#
# ## 2. `clip_grad_norm_` and `clip_grad_value_` from scratch
#
# `clip_grad_norm_` computes one norm over **all** gradients (the norm of the per-tensor
# norms) and scales every gradient by the same factor $\min(\text{max\_norm} / (\|g\| + 10^{-6}), 1)$.
# It returns the norm *before* clipping, which is worth logging. Ours, in
# `myoptim_helpers/production.py`:

# %%
print(inspect.getsource(production.clip_grad_norm_))

# %% [markdown]
# Ours against torch's, on the deep net's gradients, with several norms and flags:

# %%
def deep_grads():
    net = deep_net()
    F.mse_loss(net(x_deep), y_deep).backward()
    return list(net.parameters())


for norm_type in (2.0, 1.0, math.inf):
    ours, theirs = deep_grads(), deep_grads()
    total_ours = production.clip_grad_norm_(ours, 1.0, norm_type=norm_type)
    total_torch = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type, foreach=False)
    same = torch.equal(total_ours, total_torch) and all(
        torch.equal(p.grad, q.grad) for p, q in zip(ours, theirs))
    print(f"norm_type={norm_type}: total norm {total_ours.item():.4g}, ours == torch's (bit for bit): {same}")
ours, theirs = deep_grads(), deep_grads()
production.clip_grad_value_(ours, 0.01)
torch.nn.utils.clip_grad_value_(theirs, 0.01, foreach=False)
print("clip_grad_value_: ours == torch's:", all(torch.equal(p.grad, q.grad) for p, q in zip(ours, theirs)))

# %% [markdown]
# A gradient with an `inf` or `nan` has a non-finite norm. By default the gradients are then
# multiplied by `max_norm / inf = 0` (or `nan`); `error_if_nonfinite=True` stops instead,
# with torch's message:

# %%
params = deep_grads()
params[0].grad[0, 0] = math.inf
with expect_error(RuntimeError):
    production.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
print("without the flag the norm is", production.clip_grad_norm_(params, 1.0).item())

# %% [markdown]
# ### Global norm, per-parameter norm, per value
#
# One factor for all gradients keeps the **direction** of the step. Clipping each tensor by
# its own norm, or each entry by value, changes it. The cosine between the clipped and the
# original gradient (1 = same direction):

# %%
def cosine_after(clip):
    params = deep_grads()
    before = torch.cat([p.grad.flatten() for p in params])
    clip(params)
    after = torch.cat([p.grad.flatten() for p in params])
    return F.cosine_similarity(before, after, dim=0).item()


print(f"global norm, clip_grad_norm_(params, 1): {cosine_after(lambda ps: production.clip_grad_norm_(ps, 1.0)):.4f}")
print(f"each tensor by its own norm:             "
      f"{cosine_after(lambda ps: [production.clip_grad_norm_(p, 1.0) for p in ps]):.4f}")
print(f"each value, clip_grad_value_(params, 1): {cosine_after(lambda ps: production.clip_grad_value_(ps, 1.0)):.4f}")

# %% [markdown]
# ## Common mistake: clipping after `step()`
#
# `step()` reads the gradients; clipping them afterwards changes numbers nobody reads again
# (the next `zero_grad()` throws them away). The run is exactly the unclipped one. The doctor
# of this lesson, `doctor.watch`, sees it happen: it hooks into the model and the optimizer,
# runs your loop unchanged, and names the line to move.

# %%
net = deep_net()
optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
with doctor.watch(net, optimizer):
    for _ in range(3):
        optimizer.zero_grad()
        F.mse_loss(net(x_deep), y_deep).backward()
        optimizer.step()
        torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)   # ✗ too late

# %% [markdown]
# ## 3. Mixed precision on CPU
#
# `torch.autocast` runs chosen operations (matrix products, convolutions) in a 16-bit float
# and keeps the rest (losses, sums, softmax) in float32. The parameters stay float32. On CPU
# the natural 16-bit type is **bfloat16**: float32's range with only 8 bits of mantissa.
# We train a small classifier on two noisy moons.

# %%
moons = problems.two_moons(n=512, noise=0.25, seed=0)
x_moons, y_moons = moons


def moons_net(seed=0, dtype=torch.float32, batch_norm=False):
    torch.manual_seed(seed)
    norm = [nn.BatchNorm1d(32)] if batch_norm else []
    return nn.Sequential(nn.Linear(2, 32), *norm, nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.Linear(32, 2)).to(dtype)


net = moons_net()
with torch.autocast("cpu", dtype=torch.bfloat16):
    logits = net(x_moons)
    loss_bf16 = F.cross_entropy(logits, y_moons)
loss_fp32 = F.cross_entropy(net(x_moons), y_moons)
print("logits:", logits.dtype, " loss:", loss_bf16.dtype, " weights:", net[0].weight.dtype)
print("bfloat16 loss within 2% of the float32 loss:", abs(loss_bf16.item() / loss_fp32.item() - 1) < 0.02)

# %% [markdown]
# bfloat16 has float32's exponent, so gradients neither overflow nor underflow: no scaler is
# needed. **float16** has more mantissa (10 bits) but a tiny range: above 65504 is `inf`, and
# below about 6e-8 is 0. Small gradients vanish. The fix is to multiply the loss by a large
# *scale* before `backward()`, so the gradients are large enough for float16, and to divide
# them again before the step. `torch.amp.GradScaler` does that, and more:
#
# | call | what it does |
# |---|---|
# | `scaler.scale(loss).backward()` | gradients of `loss × scale` |
# | `scaler.unscale_(optimizer)` | divides the gradients by `scale`, notes whether any is inf/NaN |
# | `clip_grad_norm_(...)` | clips the **true** gradients (after `unscale_`!) |
# | `scaler.step(optimizer)` | `optimizer.step()`, **skipped** if inf/NaN were found |
# | `scaler.update()` | after a skip: scale × `backoff_factor` (0.5); after `growth_interval` good steps: × `growth_factor` (2) |
#
# Here is the scale of a run that starts too high (2²⁴): float16's backward overflows, the
# step is skipped and the scale halves, until the gradients fit; then it doubles after 5 good
# steps, and backs off again when that overflows.

# %%
def amp_run(steps=24, init_scale=2.0 ** 24, growth_interval=5):
    net = moons_net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=growth_interval)
    scales, skipped = [], []
    for step in range(steps):
        before = net[0].weight.detach().clone()
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(net(x_moons[:64]), y_moons[:64])
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        production.clip_grad_norm_(net.parameters(), max_norm=1.0)
        scales.append(scaler.get_scale())
        scaler.step(optimizer)
        scaler.update()
        skipped.append(torch.equal(before, net[0].weight))   # the weights did not move
    return scales, skipped


scales, skipped = amp_run()
print("log2(scale):", [int(math.log2(s)) for s in scales])
print("skipped at steps:", [i for i, s in enumerate(skipped) if s])

# %%
fig, ax = plt.subplots(figsize=(8, 3.4))
ax.step(range(len(scales)), [math.log2(s) for s in scales], where="post", label="log2(scale)")
ax.plot([i for i, s in enumerate(skipped) if s], [math.log2(scales[i]) for i, s in enumerate(skipped) if s],
        "rx", markersize=9, label="step skipped (inf/NaN gradient)")
ax.set(xlabel="step", ylabel="log2(loss scale)", title="GradScaler backs off, then grows")
ax.legend()
plt.show()

# %% [markdown]
# A skipped step is not an error: it costs one batch, and the scaler has found a scale at
# which float16 holds the gradients. (A run that skips *every* step has another problem: a
# loss that is itself inf or NaN.)
#
# ### Low precision and small numbers
#
# Two hyperparameters behave differently in 16 bits. An `eps` of 1e-8 does not exist in
# float16, and a small update vanishes next to a weight of 1 in bfloat16 (whose spacing near
# 1 is 2⁻⁷ ≈ 0.008). That is why optimizers keep their weights and state in float32, and why
# autocast leaves them there:

# %%
print("1e-8 in float16:", torch.tensor(1e-8, dtype=torch.float16).item())
for dtype in (torch.bfloat16, torch.float16, torch.float32):
    w = torch.tensor(1.0, dtype=dtype)
    print(f"{str(dtype):15s} 1 + 1e-3 == 1: {(w + 1e-3 == w).item()},   1 + 1e-5 == 1: {(w + 1e-5 == w).item()}")

# %% [markdown]
# ## Common mistake: clipping before `unscale_`
#
# Without `unscale_`, `clip_grad_norm_` sees the gradients times the scale (2¹⁶ by default):
# their norm is always far above `max_norm`, so every step is clipped hard, by a factor that
# changes whenever the scale changes. The doctor knows the scaler's calls:

# %%
net = moons_net()
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
scaler = torch.amp.GradScaler("cpu")
with doctor.watch(net, optimizer, scaler=scaler):
    for _ in range(3):
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(net(x_moons[:64]), y_moons[:64])
        scaler.scale(loss).backward()
        production.clip_grad_norm_(net.parameters(), max_norm=1.0)   # ✗ the grads are still scaled
        scaler.step(optimizer)
        scaler.update()

# %% [markdown]
# ## 4. Accumulation × scheduler × clipping
#
# Accumulating `K` micro-batches gives one optimizer step. Everything that belongs to the
# step happens **once per optimizer step**: clipping, `scheduler.step()`, `zero_grad()`. And
# every length a scheduler knows (`total_steps` of `OneCycleLR`, `T_max`, `step_size`) counts
# optimizer steps, not micro-batches. Done so, the loop is the big-batch loop, to float64
# rounding (as in lesson 02):

# %%
def big_batch_run(batches, steps, max_norm=0.5):
    net = moons_net(dtype=torch.float64)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=steps)
    for x, y in batches:
        optimizer.zero_grad()
        F.cross_entropy(net(x), y).backward()
        production.clip_grad_norm_(net.parameters(), max_norm)
        optimizer.step()
        scheduler.step()
    return net

# %%
def accumulated_run(batches, steps, K, max_norm=0.5):
    net = moons_net(dtype=torch.float64)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=steps)  # optimizer steps
    for x, y in batches:
        for x_micro, y_micro in zip(x.chunk(K), y.chunk(K)):
            loss = F.cross_entropy(net(x_micro), y_micro) / K     # each micro-batch counts 1/K
            loss.backward()                                       # adds to .grad
        production.clip_grad_norm_(net.parameters(), max_norm)   # once, on the summed gradient
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    return net


x64, y64 = x_moons.double(), y_moons
batches = list(zip(x64.split(64), y64.split(64)))   # 8 batches of 64 = 8 optimizer steps
big, small = big_batch_run(batches, steps=8), accumulated_run(batches, steps=8, K=4)
gap = max((p - q).abs().max().item() for p, q in zip(big.parameters(), small.parameters()))
print("4 micro-batches of 16 == one batch of 64, after 8 steps (|gap| < 1e-12):", gap < 1e-12)

# %% [markdown]
# ## Common mistake: `total_steps` counted in micro-batches
#
# Give `OneCycleLR` the number of micro-batches and step it once per optimizer step, and the
# schedule is stretched four times: the run ends still warming up, at the peak lr, instead of
# annealing. Step it every micro-batch instead, and it runs out of steps and raises:

# %%
def lr_trace(total_steps, steps=8):
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=total_steps)
    trace = []
    for _ in range(steps):
        trace.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return trace


fig, ax = plt.subplots(figsize=(7, 3.3))
ax.plot(lr_trace(8), "o-", label="total_steps = 8 optimizer steps ✓")
ax.plot(lr_trace(32), "s--", label="total_steps = 32 micro-batches ✗")
ax.set(xlabel="optimizer step", ylabel="learning rate", title="OneCycleLR under 4× accumulation")
ax.legend()
plt.show()
with expect_error(ValueError):
    lr_trace(8, steps=32)   # stepped per micro-batch

# %% [markdown]
# ## 5. The doctor
#
# `doctor.watch(model, optimizer, scheduler=None, scaler=None)` watches a loop through hooks:
# gradient hooks on every parameter, torch's step hooks on the optimizer, and a
# `TorchFunctionMode` that sees `loss.backward()` and in-place changes of gradients. It does
# not change a number. It knows ten mistakes:

# %%
for kind, text in doctor.KINDS.items():
    print(f"{kind:27s} {text}")

# %% [markdown]
# Its rule is that of a good linter: a correct loop gets **no** warning. Here is the full
# production step (float16 autocast, GradScaler, accumulation, clipping, a scheduler)
# under the doctor:

# %%
net = moons_net()
optimizer = torch.optim.AdamW(net.parameters(), lr=0.01)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.02, total_steps=4)
scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8)
K = 4
with doctor.watch(net, optimizer, scheduler, scaler):
    for i, (x, y) in enumerate(zip(x_moons.split(32), y_moons.split(32))):
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(net(x), y) / K
        scaler.scale(loss).backward()
        if (i + 1) % K == 0:
            scaler.unscale_(optimizer)
            production.clip_grad_norm_(net.parameters(), max_norm=1.0)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            optimizer.zero_grad()

# %% [markdown]
# ## Common mistake: the loss not divided under accumulation
#
# Forget the `/ K` and each optimizer step gets `K` times the mean gradient: the same as a
# `K` times larger learning rate, which clipping then partly hides. The doctor reads the
# backward pass's root, sees no division, and says which line:

# %%
net = moons_net()
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
with doctor.watch(net, optimizer):
    for i, (x, y) in enumerate(zip(x_moons.split(32), y_moons.split(32))):
        loss = F.cross_entropy(net(x), y)          # ✗ no / K
        loss.backward()
        if (i + 1) % K == 0:
            optimizer.step()
            optimizer.zero_grad()

# %% [markdown]
# ### 09.1 The production step
#
# Write `production_step(model, optimizer, scaler, micro_batches, max_norm)`: **one**
# optimizer step from the list `micro_batches` of `(x, y)` pairs, with the loss
# `F.cross_entropy`, the forward pass under `torch.autocast("cpu", dtype=torch.float16)`,
# the loss of each micro-batch divided by their number, the gradients unscaled and clipped to
# `max_norm` (global norm), the step through the scaler, its `update()`, and the gradients
# cleared at the end. Return the total norm that clipping returned. The checker runs it on
# models, optimizers, scales and batch counts of its own, next to torch's reference, and names
# the step that is out of order.

# %%
def production_step(model, optimizer, scaler, micro_batches, max_norm):
    # BEGIN SOLUTION
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    return total_norm
    # END SOLUTION


check("09.1", production_step)

# %% [markdown]
# ## 6. Weight averaging: EMA and SWA
#
# With a large learning rate and small batches the weights jump around the minimum. Their
# **average** over the last steps sits closer to it. An exponential moving average (EMA)
# keeps, after every step,
# $W^{\text{EMA}} \leftarrow \text{decay} \cdot W^{\text{EMA}} + (1 - \text{decay}) \cdot W$.
# torch has it as `AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))`; ours is
# `production.EMA` (you write its update in exercise 09.2 below), checked against torch's here:

# %%
from torch.optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn, update_bn

net = moons_net(dtype=torch.float64)
optimizer = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.9)
ours = production.EMA(net, decay=0.95)
theirs = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.95))
for x, y in zip(x64.split(16), y64.split(16)):
    optimizer.zero_grad()
    F.cross_entropy(net(x), y).backward()
    optimizer.step()
    ours.update_parameters(net)
    theirs.update_parameters(net)
a, b = ours.state_dict(), theirs.state_dict()
print("same state-dict keys:", list(a) == list(b), "| every tensor equal:", all(torch.equal(a[k], b[k]) for k in a))

# %% [markdown]
# Does it help? A noisy run (lr 0.2 with momentum 0.9, batches of 16, on moons whose points
# scatter with noise 0.25), and the validation loss of the model and of its EMA after each epoch:

# %%
x_train, y_train, x_val, y_val = x64[:384], y64[:384], x64[384:], y64[384:]


def noisy_run(epochs=8, seed=0):
    torch.manual_seed(seed)
    net = moons_net(dtype=torch.float64)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.9)
    ema = production.EMA(net, decay=0.95)
    curves = {"model": [], "EMA (decay 0.95)": []}
    for _ in range(epochs):
        for batch in torch.randperm(len(x_train)).split(16):
            optimizer.zero_grad()
            F.cross_entropy(net(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
            ema.update_parameters(net)
        with torch.no_grad():
            curves["model"].append(F.cross_entropy(net(x_val), y_val).item())
            curves["EMA (decay 0.95)"].append(F.cross_entropy(ema(x_val), y_val).item())
    return curves


curves = noisy_run()
print({name: f"{min(c[3:]):.3f} … {max(c[3:]):.3f}" for name, c in curves.items()}, "(epochs 4-8)")

# %%
fig, ax = plt.subplots(figsize=(7, 3.4))
for name, curve in curves.items():
    ax.plot(range(1, len(curve) + 1), curve, "o-", label=name)
ax.set(xlabel="epoch", ylabel="validation loss", title="the EMA smooths a noisy run")
ax.legend()
plt.show()

# %% [markdown]
# ### SWA: a plain average with a constant learning rate
#
# Stochastic weight averaging (Izmailov et al., 2018) trains normally, then switches to a
# constant (or cyclic) learning rate with `SWALR` and averages the weights once per epoch
# with equal weights (`AveragedModel` without `multi_avg_fn`). The average was never
# *trained*, so a BatchNorm layer's running statistics belong to none of the averaged models:
# `update_bn` recomputes them with one pass over the training data.

# %%
torch.manual_seed(0)
net = moons_net(dtype=torch.float64, batch_norm=True)
optimizer = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.9)
swa_model, swa_scheduler = AveragedModel(net), SWALR(optimizer, swa_lr=0.05, anneal_epochs=2)
for epoch in range(10):
    net.train()
    for batch in torch.randperm(len(x_train)).split(16):
        optimizer.zero_grad()
        F.cross_entropy(net(x_train[batch]), y_train[batch]).backward()
        optimizer.step()
    if epoch >= 5:                                     # the SWA phase: average once per epoch
        swa_model.update_parameters(net)
        swa_scheduler.step()
update_bn([x_train[i:i + 64] for i in range(0, len(x_train), 64)], swa_model)
net.eval()
swa_model.eval()
with torch.no_grad():
    print(f"validation loss: last model {F.cross_entropy(net(x_val), y_val).item():.3f}, "
          f"SWA average of {swa_model.n_averaged.item()} epochs {F.cross_entropy(swa_model(x_val), y_val).item():.3f}")

# %% [markdown]
# ### 09.2 An EMA update
#
# Write `ema_update(averaged, current, decay)`: for two equally long lists of tensors (those
# of `averaged` may be parameters that require grad), move
# every tensor of `averaged` **in place** toward the matching one of `current`, as
# `get_ema_multi_avg_fn(decay)` does (`averaged = decay · averaged + (1 − decay) · current`).
# Leave `current` unchanged; return nothing. The checker compares with torch's function on
# tensors of its own (shapes, dtypes and decays you have not seen).

# %%
def ema_update(averaged, current, decay):
    # BEGIN SOLUTION
    with torch.no_grad():
        for a, c in zip(averaged, current):
            a.mul_(decay).add_(c, alpha=1 - decay)
    # END SOLUTION


check("09.2", ema_update)

# %% [markdown]
# Once you have checked an answer of your own, compare it with `production.EMA`'s update, which
# also copies the weights at the first call and the buffers (such as batch norm's statistics)
# at every call:

# %%
if reveal("09.2"):
    print(inspect.getsource(production.EMA.update_parameters))

# %% [markdown]
# ## 7. A full checkpoint
#
# To go on *exactly*, a run needs more than the weights: the optimizer's state (momentum,
# Adam's moments, the step count), the scheduler's position, the scaler's scale and its
# growth tracker, the EMA, **the random generators** (which batch comes next, which units
# dropout drops) and the epoch. `production.save_checkpoint` writes all of it with
# `torch.save`; `torch.load(..., weights_only=True)` reads it back without running any pickled
# code (the only safe way to open a file you did not write).

# %%
def build(seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(2, 32), nn.Dropout(0.2), nn.ReLU(), nn.Linear(32, 2)).double()
    optimizer = torch.optim.AdamW(net.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, total_steps=6 * 6)
    scaler = torch.amp.GradScaler("cpu", enabled=False)   # float64 here; its state is saved all the same
    return net, optimizer, scheduler, scaler, production.EMA(net, decay=0.9)


def train_epoch(net, optimizer, scheduler, scaler, ema):
    losses = []
    for batch in torch.randperm(len(x_train))[:384].split(64):   # shuffled: uses the RNG
        optimizer.zero_grad()
        loss = F.cross_entropy(net(x_train[batch]), y_train[batch])   # dropout: uses the RNG
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        ema.update_parameters(net)
        losses.append(loss.item())
    return losses

# %%
parts = build()
uninterrupted = [loss for _ in range(6) for loss in train_epoch(*parts)]

parts = build()
first_half = [loss for _ in range(3) for loss in train_epoch(*parts)]
buffer = io.BytesIO()   # a file on disk would do the same: torch.save(checkpoint, "run.pt")
net, optimizer, scheduler, scaler, ema = parts
saved = production.save_checkpoint(buffer, model=net, optimizer=optimizer, scheduler=scheduler,
                                   scaler=scaler, ema=ema, epoch=3)
print("the checkpoint holds:", list(saved))

# %%
torch.manual_seed(123)                 # a new process: other weights, another RNG state
parts = build(seed=7)
net, optimizer, scheduler, scaler, ema = parts
buffer.seek(0)
start = production.load_checkpoint(buffer, model=net, optimizer=optimizer, scheduler=scheduler,
                                   scaler=scaler, ema=ema, map_location="cpu")
resumed = first_half + [loss for _ in range(start, 6) for loss in train_epoch(*parts)]
print(f"resumed at epoch {start}: losses identical to the uninterrupted run: {resumed == uninterrupted}")

# %% [markdown]
# `map_location="cpu"` puts every tensor on the CPU, whatever device it was saved from (a
# checkpoint written on a GPU machine opens on a laptop; `map_location={"cuda:1": "cuda:0"}`
# moves between GPUs).
#
# ## Common mistake: three resumes that look fine
#
# Each broken resume below leaves out one thing. None raises, none warns, and the loss goes on
# looking reasonable; only the comparison with the uninterrupted run shows it:

# %%
def broken_resume(leave_out):
    torch.manual_seed(123)
    net, optimizer, scheduler, scaler, ema = parts = build(seed=7)
    checkpoint = torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
    net.load_state_dict(checkpoint["model"])
    if leave_out != "optimizer state":
        optimizer.load_state_dict(checkpoint["optimizer"])
    if leave_out != "scheduler state":       # else: the scheduler rebuilt from scratch
        scheduler.load_state_dict(checkpoint["scheduler"])
    scaler.load_state_dict(checkpoint["scaler"])
    ema.load_state_dict(checkpoint["ema"])
    if leave_out != "RNG state":
        production.set_rng_state(checkpoint["rng"])
    losses = first_half + [loss for _ in range(3, 6) for loss in train_epoch(*parts)]
    return next(i for i, (a, b) in enumerate(zip(losses, uninterrupted)) if a != b)


for leave_out in ("scheduler state", "RNG state", "optimizer state"):
    print(f"without the {leave_out:15s}: the losses leave the uninterrupted run at batch "
          f"{broken_resume(leave_out)} (the resume is at batch 18)")

# %% [markdown]
# - The **RNG** left as it is: the first batch after the resume is another batch (and
#   dropout drops other units): the loss differs at once, at batch 18.
# - The **scheduler** rebuilt from scratch: it starts its warm-up again. The first step after
#   the resume still uses the right lr (the optimizer's state holds it), but the next lr the
#   scheduler writes is a warm-up one, so batch 20 differs.
# - The **optimizer state** dropped: AdamW's moments start from zero and its step count from
#   1, so its first step after the resume is a full-size, bias-corrected step: batch 19 differs.
#
# And the `last_epoch` pitfall from lesson 07: a scheduler built with `last_epoch=k` to
# "resume" expects each param group to hold `initial_lr`, which only a scheduler writes:

# %%
fresh = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
with expect_error(KeyError):
    torch.optim.lr_scheduler.StepLR(fresh, step_size=2, last_epoch=4)

# %% [markdown]
# Build the scheduler normally and load its `state_dict` instead: it holds `last_epoch`, and
# the optimizer's state dict holds each group's `initial_lr`.
#
# ### 09.3 Resume everything
#
# Write `resume(checkpoint, model, optimizer, scheduler, scaler, ema)`: the `checkpoint` is a
# dict as `production.save_checkpoint` writes it (already loaded with `torch.load`), the
# objects are freshly built. Restore every one of them, and the RNG state, and return the
# epoch to start from. The checker trains runs with dropout and shuffling of its own (other
# optimizers, schedulers and dtypes too), stops them at different epochs, resumes them with
# your function and compares every loss after the resume.

# %%
def resume(checkpoint, model, optimizer, scheduler, scaler, ema):
    # BEGIN SOLUTION
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    scaler.load_state_dict(checkpoint["scaler"])
    ema.load_state_dict(checkpoint["ema"])
    torch.set_rng_state(checkpoint["rng"]["torch"])
    return checkpoint["epoch"]
    # END SOLUTION


check("09.3", resume)

# %% [markdown]
# ## Use the doctor on your own loop
#
# Wrap any loop of the series (or your own) in `doctor.watch` and read what it says. Try it on
# the loops of [02](02_zero_grad_and_step.ipynb): forget `zero_grad()`, or call it between
# `backward()` and `step()`. Stuck on an exercise? `hint("09.1")`, `show_solution("09.1")`.

# %%
net = moons_net()
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
with doctor.watch(net, optimizer) as report:
    for x, y in zip(x_moons.split(64), y_moons.split(64)):
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()                      # ✗ where is zero_grad()?

# %% [markdown]
# ## Recap
#
# - The step, in order: `zero_grad` · forward under `autocast` · `scaler.scale(loss / K).backward()`
#   (K times) · `scaler.unscale_` · `clip_grad_norm_` · `scaler.step` · `scaler.update` ·
#   `scheduler.step` · EMA update.
# - `clip_grad_norm_` scales all gradients by one factor (the direction is kept) and returns
#   the norm before clipping; `clip_grad_value_` clamps each entry. Clip after `backward`,
#   before `step`, after `unscale_`, once per optimizer step.
# - bfloat16 autocast needs no scaler; float16 needs `GradScaler`, which skips steps with
#   inf/NaN gradients, halves its scale after a skip and doubles it after `growth_interval`
#   good steps. Weights and optimizer state stay float32.
# - Under accumulation, divide the loss by K and count scheduler lengths in optimizer steps:
#   the run is then the big-batch run.
# - EMA: `decay · W_ema + (1 − decay) · W` after every step; SWA: an equal average with
#   `SWALR`, then `update_bn`.
# - A checkpoint that resumes exactly holds model, optimizer, scheduler, scaler, EMA, RNG
#   states and epoch; load it with `weights_only=True`.
# - `doctor.watch(model, optimizer, scheduler, scaler)` names ten loop mistakes, with the
#   line to change, and stays silent on a correct loop.
#
# ## Next
#
# [10 · Modern optimizers](10_modern_optimizers.ipynb): the family tree of update rules as
# diffs, Muon, Adafactor and schedule-free AdamW.
