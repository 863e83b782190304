# ---
# summary: What an optimizer sees: parameters, frozen layers, late layers, param groups with a learning rate per layer.
# ---

# %% [markdown]
# # 01 · Parameters: what an optimizer sees
#
# {{badges}}
#
# An optimizer updates exactly the tensors it was handed, and only those that have a
# gradient. Nothing else: not a layer you added later, not a tensor the model forgot to
# register, not a frozen layer. This lesson shows each case with numbers.
#
# ## You will learn
# - what an `nn.Parameter` is, and how `parameters()` and `named_parameters()` find them
# - that `optimizer.step()` changes only parameters the optimizer holds **and** whose `.grad` is not `None`
# - how to freeze a layer with `requires_grad_(False)`
# - why a layer added after the optimizer was built never trains, and two fixes: `add_param_group` or rebuilding
# - the exhausted-generator pitfall of `params = model.parameters()`
# - param groups (a learning rate per layer) and several optimizers on one model
#
# ## You should already know
# - the training loop of [00 · Start here](00_start_here.ipynb): `zero_grad`, `backward`, `step`
# - how to build a model with `nn.Sequential` and `nn.Linear`

# %%
# {{colab_setup}}
import matplotlib.pyplot as plt
import torch
from torch import nn

import myoptim_helpers.optim as my_optim
from myoptim_helpers.exercises import check, hint, show_solution

_ = torch.manual_seed(0)  # (re-seeded before every random draw that matters)

# %% [markdown]
# Every demonstration uses the same small model and data, in float64 so that "unchanged"
# means exactly unchanged. `make_model()` gives the same weights every time (it seeds).

# %%
def make_model(n_linear=3, seed=0):
    """Linear(2, 8) → Tanh → … → Linear(8, 1), float64, the same weights for the same seed."""
    torch.manual_seed(seed)
    layers, width = [], 2
    for _ in range(n_linear - 1):
        layers += [nn.Linear(width, 8, dtype=torch.float64), nn.Tanh()]
        width = 8
    layers.append(nn.Linear(width, 1, dtype=torch.float64))
    return nn.Sequential(*layers)


torch.manual_seed(1)
x = torch.randn(16, 2, dtype=torch.float64)
y = torch.sin(x[:, :1]) * x[:, 1:]


def loss_fn(model):
    return nn.functional.mse_loss(model(x), y)

# %% [markdown]
# Two small tools: `snapshot` copies every parameter; `show_changes` prints how far each
# one moved since the snapshot.

# %%
def snapshot(model):
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def show_changes(model, before):
    for name, p in model.named_parameters():
        change = (p.detach() - before[name]).abs().max().item()
        print(f"{name:9s} max |change| = {change:.6f}")


def train_step(model, optimizer):
    optimizer.zero_grad()
    loss_fn(model).backward()
    optimizer.step()

# %% [markdown]
# ## 1. Parameters are tensors that a module registers
#
# Assigning an `nn.Parameter` (or a submodule such as `nn.Linear`) to an attribute of an
# `nn.Module` **registers** it. `model.parameters()` yields the registered tensors;
# `model.named_parameters()` yields `(name, tensor)` pairs, where the name is the attribute
# path. A plain tensor attribute is not registered. Below, `gain` is a parameter and
# `offset` is not.

# %%
class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.gain = nn.Parameter(torch.ones(1))  # registered: an optimizer can see it
        self.offset = torch.zeros(1)  # a plain tensor: invisible to parameters()

    def forward(self, x):
        return self.gain * self.linear(x) + self.offset


m = Scaled()
for name, p in m.named_parameters():
    print(f"{name:13s} shape={tuple(p.shape)}  requires_grad={p.requires_grad}")
print("offset among m.parameters()?", any(p is m.offset for p in m.parameters()))

# %% [markdown]
# `linear.weight`, `linear.bias` and `gain` are listed; `offset` is not, so
# `torch.optim.SGD(m.parameters())` would never update it. (For a tensor that belongs to
# the module, follows it in `.to(...)` and `state_dict()`, but is not trained, use
# `self.register_buffer("offset", torch.zeros(1))`.)
#
# For an `nn.Sequential` the names are the layer's index plus the attribute. Our model has
# Linear layers at indices 0, 2 and 4 (1 and 3 are the Tanh activations, which have no
# parameters):

# %%
model = make_model()
for name, p in model.named_parameters():
    print(f"{name:9s} shape={str(tuple(p.shape)):7s} numel={p.numel()}")
print("total:", sum(p.numel() for p in model.parameters()), "numbers in",
      len(list(model.parameters())), "tensors")

# %% [markdown]
# ## 2. An optimizer updates only what it holds
#
# Give SGD only the last layer's parameters, take one step, and look at every parameter:

# %%
model = make_model()
opt = torch.optim.SGD(model[4].parameters(), lr=0.1)
before = snapshot(model)
train_step(model, opt)
show_changes(model, before)
print("0.weight has a gradient:", model[0].weight.grad is not None)

# %% [markdown]
# Only `4.weight` and `4.bias` moved. `backward()` still computed gradients for layers 0
# and 2 (it does not know about the optimizer), but `step()` never looked at them.
#
# The optimizer holds **references** to the model's tensors, not copies. Its
# `param_groups` is a list of dicts; each has a `"params"` list and the hyperparameters:

# %%
group = opt.param_groups[0]
print("tensors held:", len(group["params"]))
print("the same tensor object as model[4].weight?", group["params"][0] is model[4].weight)
print({k: v for k, v in group.items() if k in ("lr", "momentum", "weight_decay")})

# %% [markdown]
# ### Exercise 01.1 · Train only the last layer
#
# Write `last_layer_optimizer(model)` that returns `torch.optim.SGD` with `lr=0.1` over the
# **last layer only** of any `nn.Sequential` (the checker also tries a shallower model). Do
# not change the model. Stuck? `hint("01.1")`, then `show_solution("01.1")`.

# %%
def last_layer_optimizer(model):
    # BEGIN SOLUTION
    return torch.optim.SGD(model[-1].parameters(), lr=0.1)
    # END SOLUTION


check("01.1", last_layer_optimizer)

# %% [markdown]
# ## 3. Frozen parameters: `requires_grad_(False)`
#
# A parameter with `requires_grad=False` takes no part in autograd: after `backward()` its
# `.grad` is still `None`. `step()` **skips** parameters whose `.grad` is `None`, so a
# frozen layer stays put even when the optimizer holds it:

# %%
model = make_model()
model[0].requires_grad_(False)  # freeze the first layer (weight and bias)
opt = torch.optim.SGD(model.parameters(), lr=0.1)  # still holds all six tensors
before = snapshot(model)
train_step(model, opt)
show_changes(model, before)
print("0.weight.grad:", model[0].weight.grad)

# %% [markdown]
# Freezing also saves work, because autograd does not compute the frozen layer's gradient.
# Whether to leave frozen tensors in the optimizer is a choice: if they are in it,
# unfreezing them later (`requires_grad_(True)`) makes them train at once; if you built the
# optimizer from `[p for p in model.parameters() if p.requires_grad]`, unfreezing alone
# does nothing until you add them with `add_param_group` (shown below).
#
# The picture: how far each tensor moved in 20 steps, for three set-ups.

# %%
def moved(make_optimizer, freeze_first=False, steps=20):
    """Train a fresh model; return {name: max |change|} for every parameter tensor."""
    model = make_model()
    model[0].requires_grad_(not freeze_first)
    opt = make_optimizer(model)
    before = snapshot(model)
    for _ in range(steps):
        train_step(model, opt)
    return {n: (p.detach() - before[n]).abs().max().item() for n, p in model.named_parameters()}


runs = {
    "SGD(model.parameters())": moved(lambda m: torch.optim.SGD(m.parameters(), lr=0.1)),
    "SGD(model[4].parameters())": moved(lambda m: torch.optim.SGD(m[4].parameters(), lr=0.1)),
    "layer 0 frozen, SGD(model.parameters())": moved(
        lambda m: torch.optim.SGD(m.parameters(), lr=0.1), freeze_first=True),
}

# %%
fig, ax = plt.subplots(figsize=(8, 3.5))
names = list(runs["SGD(model.parameters())"])
width = 0.8 / len(runs)
for k, (label, changes) in enumerate(runs.items()):
    ax.bar([i + k * width for i in range(len(names))], list(changes.values()), width, label=label)
ax.set_xticks([i + width for i in range(len(names))], names)
ax.set_xlabel("parameter tensor (name from named_parameters())")
ax.set_ylabel("max |change| after 20 steps")
ax.set_title("step() moves a tensor only if the optimizer holds it and it has a gradient")
ax.set_ylim(0, 1.5 * max(max(c.values()) for c in runs.values()))  # room for the legend
ax.legend(loc="upper left")
plt.show()

# %% [markdown]
# Orange bars exist only for layer 4; green bars are missing only for layer 0. Note that the
# green and blue bars of layers 2 and 4 differ: with layer 0 frozen, the other layers see a
# different network as training goes on, so they follow a different path.
#
# ### Exercise 01.2 · Which parameters change?
#
# Predict, without running it, which parameters one `train_step` changes in this set-up.
# Answer with a set of names, like `{"0.weight", "0.bias"}`.

# %%
model = make_model()
model[0].requires_grad_(False)
opt = torch.optim.SGD([*model[0].parameters(), *model[4].parameters()], lr=0.1)
# train_step(model, opt)   ← which tensors would this change?

# %%
# BEGIN SOLUTION
# STUB: changed = ...  # a set of names, e.g. {"0.weight", "0.bias"}
changed = {"4.weight", "4.bias"}
# END SOLUTION
check("01.2", changed)

# %% [markdown]
# ## Common mistake: freezing mid-training, with zeroed (not `None`) gradients
#
# A frozen tensor has no `.grad` only if it never had one, or if `zero_grad()` set it to
# `None` (`set_to_none=True`, the default since torch 2.0). Freeze a layer *after* some
# training and zero the gradients with `set_to_none=False`: the frozen layer keeps a `.grad`
# of zeros, so `step()` does **not** skip it. A zero gradient still moves a weight when the
# update has other terms: the momentum buffer filled by earlier steps, and weight decay.

# %%
def freeze_mid_training(set_to_none):
    """Train 5 steps, freeze layer 0, train 3 more; return (layer-0 .grad, max |change| of 0.weight)."""
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    for _ in range(5):
        train_step(model, opt)            # fills the momentum buffers
    model[0].requires_grad_(False)        # freeze layer 0 now
    before = model[0].weight.detach().clone()
    for _ in range(3):
        opt.zero_grad(set_to_none=set_to_none)
        loss_fn(model).backward()
        opt.step()
    return model[0].weight.grad, (model[0].weight.detach() - before).abs().max().item()


for set_to_none in (False, True):
    grad, change = freeze_mid_training(set_to_none)
    grad_text = "None" if grad is None else f"zeros of shape {tuple(grad.shape)}"
    print(f"set_to_none={set_to_none!s:5s}  0.weight.grad: {grad_text:22s}  "
          f"'frozen' 0.weight moved by {change:.3f} in 3 steps")

# %% [markdown]
# With `set_to_none=False` the "frozen" weight keeps moving, driven by momentum and weight
# decay; with `set_to_none=True` its `.grad` is `None` and `step()` leaves it alone. Lesson
# 02 shows what `set_to_none` does. To freeze for sure, also drop the tensors from the
# optimizer (or set `p.grad = None` yourself).

# %% [markdown]
# ## Common mistake: a layer added after the optimizer was built
#
# The optimizer copied the list of tensors **when it was built**. Replace the last layer
# afterwards (a new head for a new task, say) and train: the new head never moves.

# %%
model = make_model()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
train_step(model, opt)  # some training, so the optimizer has momentum state
model[4] = nn.Linear(8, 1, dtype=torch.float64)  # the new head
before = snapshot(model)
for _ in range(5):
    train_step(model, opt)
show_changes(model, before)
held = [p for g in opt.param_groups for p in g["params"]]
print("the optimizer holds the new head?", any(p is model[4].weight for p in held))

# %% [markdown]
# `4.weight` and `4.bias` did not move: the optimizer still holds the **old** head's
# tensors (which get no gradient any more, so they are skipped). Nothing warns you.
#
# **Fix 1: `add_param_group`.** It appends a group to the existing optimizer; keys you
# leave out come from the optimizer's defaults. The momentum buffers of the other
# parameters are kept.

# %%
opt.add_param_group({"params": model[4].parameters(), "lr": 0.05})
for i, g in enumerate(opt.param_groups):
    print(f"group {i}: {len(g['params'])} tensors, lr={g['lr']}, momentum={g['momentum']}")
before = snapshot(model)
for _ in range(5):
    train_step(model, opt)
show_changes(model, before)

# %% [markdown]
# Now the head trains, with its own learning rate (0.05) and the default momentum (0.9).
# Group 0 still holds the old head's two tensors: they get no gradient, so `step()` skips
# them, but the optimizer keeps them (and their momentum buffers) alive.
#
# **Fix 2: rebuild the optimizer** from `model.parameters()`. This is the clean choice
# before training starts. Mid-training it throws away the optimizer's state (momentum
# buffers, Adam's moment estimates), and the next steps behave like the first steps.

# %%
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
held = [p for g in opt.param_groups for p in g["params"]]
print("holds the new head?", any(p is model[4].weight for p in held),
      "| momentum buffers:", len(opt.state))

# %% [markdown]
# ### Exercise 01.3 · Add a late layer to the optimizer
#
# Write `add_new_head(optimizer, head)` that makes an existing SGD optimizer (momentum 0.9)
# train the new layer `head` with `lr=0.01`, keeping its existing groups and state. The
# checker trains a model, replaces its head, and calls your function.

# %%
def add_new_head(optimizer, head):
    # BEGIN SOLUTION
    optimizer.add_param_group({"params": head.parameters(), "lr": 0.01})
    # END SOLUTION


check("01.3", add_new_head)

# %% [markdown]
# ## Common mistake: reusing a `parameters()` generator
#
# `model.parameters()` returns a **generator**: it yields each tensor once and is then
# empty. Count the parameters with it, then build an optimizer from it, and torch gets
# nothing:

# %%
from myoptim_helpers import expect_error  # prints the error in one line; the lesson runs on

model = make_model()
params = model.parameters()
print("tensors:", sum(1 for _ in params))  # consumes the generator
with expect_error(ValueError):
    opt = torch.optim.SGD(params, lr=0.1)  # ValueError: empty parameter list

# %% [markdown]
# That one is loud. Inside a param-group dict, the same mistake is **silent**: torch sees
# one group (the dict), and the group just has no tensors.

# %%
model = make_model()
params = model.parameters()
print("tensors:", sum(1 for _ in params))
opt = torch.optim.SGD([{"params": params}], lr=0.1)  # no error...
print("tensors in group 0:", len(opt.param_groups[0]["params"]))
before = snapshot(model)
train_step(model, opt)
changes = [(p - before[n]).abs().max().item() for n, p in model.named_parameters()]
print("largest change:", max(changes))

# %% [markdown]
# The loss is computed, `backward()` runs, `step()` runs, and nothing trains. The fix: turn
# the generator into a list once (`params = list(model.parameters())`), or call
# `model.parameters()` again where you need it.
#
# ## 4. Param groups: a learning rate per layer
#
# Pass a list of dicts instead of a list of tensors. Each dict is one **param group**: its
# `"params"`, and any hyperparameters that differ from the defaults. The keyword arguments
# are the defaults for every group. A common use: a pretrained body with a small learning
# rate and a new head with a larger one (exercise 01.4). Here, weight decay on the body
# only:

# %%
def print_groups(opt, model):
    names = {id(p): n for n, p in model.named_parameters()}
    for i, g in enumerate(opt.param_groups):
        held = ", ".join(names.get(id(p), "?") for p in g["params"])
        print(f"group {i}: lr={g['lr']:<5g} momentum={g['momentum']:<4g} "
              f"weight_decay={g['weight_decay']:<6g} [{held}]")


model = make_model()
opt = torch.optim.SGD(
    [
        {"params": model[:-1].parameters(), "weight_decay": 1e-4},  # body: layers 0 and 2
        {"params": model[-1].parameters()},  # head: the default weight_decay, 0
    ],
    lr=0.1, momentum=0.9,
)
print_groups(opt, model)

# %% [markdown]
# Group 0 overrides `weight_decay`; group 1 takes `weight_decay=0` from the defaults; both
# take `lr=0.1` and `momentum=0.9`. A group's hyperparameters are plain dict entries, read at every
# `step()`. Changing one changes the next step, and this is all a learning-rate scheduler
# does (lesson 07):

# %%
for g in opt.param_groups:
    g["lr"] *= 0.5
print_groups(opt, model)

# %% [markdown]
# Two more rules of `param_groups`:
# - a tensor may be in **one** group only; torch refuses the same tensor in two groups;
# - recent torch versions (this series pins 2.13) also accept `model.named_parameters()`;
#   each group then keeps the names in `"param_names"` (handy for printing; the update is
#   the same).

# %%
try:
    torch.optim.SGD([{"params": model.parameters()}, {"params": model[4].parameters()}], lr=0.1)
except ValueError as e:
    print("ValueError:", e)
named = torch.optim.SGD(model.named_parameters(), lr=0.1)
print("param_names:", named.param_groups[0]["param_names"])

# %% [markdown]
# ### Exercise 01.4 · A learning rate per layer
#
# Write `per_layer_sgd(model)` that returns `torch.optim.SGD` with `momentum=0.9`, where
# the **last** layer learns with `lr=0.1` and **every other** layer with `lr=0.01`. Every
# parameter must be in exactly one group.

# %%
def per_layer_sgd(model):
    # BEGIN SOLUTION
    return torch.optim.SGD(
        [
            {"params": model[:-1].parameters(), "lr": 0.01},
            {"params": model[-1].parameters()},
        ],
        lr=0.1,
        momentum=0.9,
    )
    # END SOLUTION


check("01.4", per_layer_sgd)

# %% [markdown]
# ## 5. Several optimizers on one model
#
# Nothing stops you from giving different parts of a model to different optimizers, for
# example SGD with momentum for the body and Adam for the head. Each keeps state only for
# its own tensors. Call `zero_grad()` and `step()` on **each** of them.

# %%
model = make_model()
opt_body = torch.optim.SGD(model[:-1].parameters(), lr=0.05, momentum=0.9)
opt_head = torch.optim.Adam(model[-1].parameters(), lr=0.01)
for step in range(1, 31):
    opt_body.zero_grad()
    opt_head.zero_grad()
    loss = loss_fn(model)
    loss.backward()
    opt_body.step()
    opt_head.step()
    if step % 10 == 0:
        print(f"step {step:2d}: loss {loss.item():.4f}")
print("body state keys:", sorted(opt_body.state[model[0].weight]))
print("head state keys:", sorted(opt_head.state[model[4].weight]))

# %% [markdown]
# ## 6. `torch.optim` and `myoptim_helpers.optim` hold the same things
#
# The optimizers of this series are `torch.optim.Optimizer` subclasses: `param_groups`,
# `state`, `add_param_group` and `zero_grad` are torch's own. Train two identical models,
# one with `torch.optim.SGD` and one with ours, with two param groups:

# %%
def two_groups(model):
    return [{"params": model[:-1].parameters(), "lr": 0.01}, {"params": model[-1].parameters()}]


model_t, model_m = make_model(), make_model()
opt_t = torch.optim.SGD(two_groups(model_t), lr=0.1, momentum=0.9, weight_decay=1e-3)
opt_m = my_optim.SGD(two_groups(model_m), lr=0.1, momentum=0.9, weight_decay=1e-3)
for _ in range(10):
    train_step(model_t, opt_t)
    train_step(model_m, opt_m)
diff = max((a - b).abs().max().item() for a, b in zip(model_t.parameters(), model_m.parameters()))
print(f"max |torch - ours| over all parameters after 10 steps: {diff:.1e}")
print("state keys, torch:", sorted(opt_t.state[model_t[0].weight]),
      "| ours:", sorted(opt_m.state[model_m[0].weight]))
print("group keys only torch has:", sorted(set(opt_t.param_groups[0]) - set(opt_m.param_groups[0])))

# %% [markdown]
# The same numbers to the last bit, and the same state. Torch's groups carry three more
# keys, `foreach`, `fused` and `differentiable`: they choose *how* torch executes the
# update (several tensors per kernel, one fused kernel, a graph through the step), not the
# update rule. Our optimizers leave them out to keep the update readable.
#
# ## Recap
# - `nn.Parameter`s (and submodules) assigned to a module are registered;
#   `parameters()` yields them, `named_parameters()` yields `(name, tensor)`. A plain
#   tensor attribute is not a parameter.
# - `optimizer.step()` updates a tensor only if the optimizer holds it **and** its `.grad`
#   is not `None`. A tensor frozen (`requires_grad_(False)`) before its first backward has
#   no `.grad`; one frozen mid-training keeps its old `.grad` unless `zero_grad()` sets it
#   to `None`, and with zeroed gradients momentum and weight decay still move it.
# - The optimizer fixes its list of tensors when it is built. A layer added later needs
#   `optimizer.add_param_group({...})` (keeps the state) or a rebuilt optimizer (loses it).
# - `model.parameters()` is a generator: use it once, or `list(...)` it.
# - `param_groups` is a list of dicts: `"params"` plus hyperparameters; keyword arguments
#   are the defaults; each tensor is in one group only; changing `group["lr"]` takes effect
#   at the next step.
# - Several optimizers can share a model; each needs its own `zero_grad()` and `step()`.
#
# ## Next
# [02 · zero_grad, backward, step](02_zero_grad_and_step.ipynb): what each call does to
# `.grad` and to the parameters, and what goes wrong in the wrong order.
