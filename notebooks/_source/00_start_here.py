# ---
# summary: How to run the series and its exercises; the whole training loop on y = 2x + 1, with SGD and then Adam.
# ---

# %% [markdown]
# # 00 · Start here
#
# {{badges}}
#
# This series teaches PyTorch's optimizers by building them: SGD, Adam and its
# ancestors, weight decay, your own optimizer and learning-rate schedules. Each one is
# written from scratch in `myoptim_helpers` and checked against `torch.optim` number for number.
# This first lesson shows the whole training loop on the smallest possible problem.
#
# ## You will learn
# - how to run the lessons in Colab, Binder or JupyterLab, and how the exercises are checked
# - the four lines of every training loop: `zero_grad`, forward, `backward`, `step`
# - how to swap SGD for Adam, and why Adam needs a different learning rate
#
# ## You should already know
# - Python, and a little PyTorch: tensors, `nn.Linear`, calling a model on a tensor
# - what a derivative is (no more maths than that)

# %%
# {{colab_setup}}
import matplotlib.pyplot as plt
import torch
from torch import nn

from myoptim_helpers.exercises import check, hint, show_solution

_ = torch.manual_seed(0)  # same numbers on every run (`_ =` hides the returned generator)

# %% [markdown]
# ## How to run these notebooks
#
# | Where | How | Notes |
# |---|---|---|
# | **Colab** | the *Open in Colab* badge at the top | the first code cell installs the helpers; torch is already there |
# | **Binder** | the *launch binder* badge | JupyterLab in the browser, nothing to install; the first start takes a few minutes |
# | **Your machine** | `make lab` in a clone of the repository | sets up `.venv` with the pinned versions and opens JupyterLab |
#
# Run the cells from top to bottom (**Shift+Enter**). Every lesson exists twice:
# `notebooks/NN_*.ipynb` with the exercises open, and `notebooks/solutions/NN_*.ipynb` solved.
#
# **Exercises.** Replace the `...` in an exercise cell with your code and run the cell:
# `check("00.1", ...)` at its end answers with ✓ or ✗ and says what is wrong.
# Stuck? `hint("00.1")` gives a hint (`hint("00.1", 2)` the next one) and
# `show_solution("00.1")` prints a solution.

# %%
hint("00.1")

# %% [markdown]
# ## The problem: fit y = 2x + 1
#
# Forty points on the line $y = 2x + 1$, with a little noise. We make them in code,
# with a fixed seed, so every run sees the same numbers.

# %%
torch.manual_seed(0)
x = torch.linspace(-2, 2, 40).unsqueeze(1)   # shape (40, 1): 40 samples, 1 feature
y = 2 * x + 1 + 0.1 * torch.randn_like(x)     # the line, plus noise with std 0.1
print("x:", tuple(x.shape), " y:", tuple(y.shape))
print(f"first point: x = {x[0, 0].item():.3f}, y = {y[0, 0].item():.3f}")

# %% [markdown]
# ## The training loop at a glance
#
# The model is `nn.Linear(1, 1)`: $\hat y = w x + b$, with two parameters, `weight` ($w$) and
# `bias` ($b$), that start at random values. The optimizer receives them when it is built.
# Then every epoch runs the same four lines:
#
# 1. `optimizer.zero_grad()`: forget the gradients of the previous step;
# 2. forward: `loss = loss_fn(model(x), y)`, the mean squared error;
# 3. `loss.backward()`: autograd stores $\partial\,\text{loss} / \partial p$ in `p.grad` for each parameter;
# 4. `optimizer.step()`: SGD updates $p \leftarrow p - \text{lr} \cdot \text{p.grad}$.

# %%
torch.manual_seed(1)
model = nn.Linear(1, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = nn.MSELoss()
print(f"start: w = {model.weight.item():.4f}, b = {model.bias.item():.4f}")

sgd_losses = []
for epoch in range(1, 21):
    optimizer.zero_grad()            # 1. forget the previous gradients
    loss = loss_fn(model(x), y)      # 2. forward: how wrong are we?
    loss.backward()                  # 3. backward: gradients into p.grad
    optimizer.step()                 # 4. update:   p <- p - lr * p.grad
    sgd_losses.append(loss.item())
    print(f"epoch {epoch:2d}  loss {loss.item():.4f}")

# %% [markdown]
# The loss falls from 5.2 to about 0.01: the noise we added has variance $0.1^2 = 0.01$,
# so no line can do much better. The parameters are close to the true $w = 2$, $b = 1$,
# and the model predicts $2 \cdot 5 + 1 = 11$ for $x = 5$:

# %%
print(f"learned: w = {model.weight.item():.3f}, b = {model.bias.item():.3f}")
with torch.no_grad():                    # no gradients needed to predict
    prediction = model(torch.tensor([[5.0]]))
print(f"prediction for x = 5: {prediction.item():.3f}")

# %%
fig, (ax_loss, ax_fit) = plt.subplots(1, 2, figsize=(10, 3.5))
ax_loss.plot(range(1, 21), sgd_losses, marker="o", label="SGD, lr=0.1")
ax_loss.set(xlabel="epoch", ylabel="training loss (MSE)", yscale="log", title="Loss per epoch")
ax_loss.legend()
ax_fit.scatter(x, y, s=12, label="data")
with torch.no_grad():
    ax_fit.plot(x, model(x), color="C1", label="fitted line")
ax_fit.plot(x, 2 * x + 1, "k--", linewidth=1, label="y = 2x + 1")
ax_fit.set(xlabel="x", ylabel="y", title="The fit after 20 epochs")
ax_fit.legend()
plt.show()

# %% [markdown]
# ## Same loop, another optimizer: Adam
#
# Only the line that builds the optimizer changes. To compare optimizers fairly we wrap
# the loop in a function that starts from the same initial model every time.

# %%
def fit_line(optimizer_class, lr, epochs):
    """Train a fresh nn.Linear(1, 1) (seed 1) on (x, y); return the loss of each epoch."""
    torch.manual_seed(1)
    model = nn.Linear(1, 1)
    optimizer = optimizer_class(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


runs = {"SGD, lr=0.1": fit_line(torch.optim.SGD, 0.1, 100),
        "Adam, lr=0.001 (its default)": fit_line(torch.optim.Adam, 0.001, 100)}
for name, losses in runs.items():
    print(f"{name:30s} loss after 20 epochs {losses[19]:8.4f}, after 100 {losses[-1]:.4f}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, losses in runs.items():
    ax.plot(range(1, 101), losses, label=name)
ax.set(xlabel="epoch", ylabel="training loss (MSE)", yscale="log", title="SGD vs Adam on y = 2x + 1")
ax.legend()
plt.show()

# %% [markdown]
# With its default lr=0.001, Adam has barely moved after 100 epochs, where SGD with
# lr=0.1 is done. The reason is what `lr` means:
#
# - **SGD** moves each parameter by `lr × gradient`: the step grows with the gradient.
# - **Adam** divides the gradient by a running estimate of its own size, so each parameter
#   moves by *about `lr`* per step, whatever the gradient's scale. To travel from $b = -0.44$
#   to $b = 1$ in steps of 0.001 takes over a thousand steps.
#
# So a learning rate tuned for one optimizer means little for another. Lesson 04 builds
# Adam and shows exactly where this comes from.

# %% [markdown]
# ## Common mistake: forgetting `zero_grad()`
#
# `loss.backward()` **adds** to `p.grad`; it does not overwrite it. Without
# `optimizer.zero_grad()` every step uses the sum of all gradients so far, and the
# training loop below never settles:

# %%
torch.manual_seed(1)
model = nn.Linear(1, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(1, 13):
    loss = loss_fn(model(x), y)      # no optimizer.zero_grad() before backward
    loss.backward()
    optimizer.step()
    print(f"epoch {epoch:2d}  loss {loss.item():.4f}  weight.grad {model.weight.grad.item():8.4f}")

# %% [markdown]
# The symptom: the loss goes down, then back up, and swings forever, while `weight.grad`
# swings between about −8.2 and +8.2 instead of shrinking towards 0 near the minimum: the
# sum of all past gradients keeps the weight oscillating around the minimum. The fix is the
# first line of the loop. (Accumulating on purpose is a real technique, *gradient
# accumulation*, covered in lesson 02.)
#
# ## Common mistake: reusing a learning rate across optimizers
#
# With lr=1.0, Adam's loss jumps around but stays bounded (in these 10 epochs it never
# climbs back above its first value, 5.2). SGD's steps are `lr × gradient`, and here they
# overshoot the minimum by more each epoch:

# %%
for name, optimizer_class in [("SGD", torch.optim.SGD), ("Adam", torch.optim.Adam)]:
    losses = fit_line(optimizer_class, 1.0, 10)
    print(f"{name:4s} lr=1.0: " + "  ".join(f"{loss:.3g}" for loss in losses))

# %% [markdown]
# ## Exercises
#
# ### 00.1 Attach SGD to a model
#
# Complete `make_optimizer(model)` so that it returns a `torch.optim.SGD` that updates
# **all the parameters of the `model` it is given**, with learning rate 0.1.

# %%
def make_optimizer(model):
    # BEGIN SOLUTION
    return torch.optim.SGD(model.parameters(), lr=0.1)
    # END SOLUTION


check("00.1", make_optimizer)

# %% [markdown]
# ### 00.2 One training step
#
# Complete `train_step` so that it performs **one** step of the training loop on the
# objects it is given and returns the loss as a Python float (`loss.item()`). The checker
# runs it four times next to torch and compares the parameters after every step.

# %%
def train_step(model, optimizer, loss_fn, x, y):
    # BEGIN SOLUTION
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()
    # END SOLUTION


check("00.2", train_step)

# %% [markdown]
# ### 00.3 Switch to Adam: pick its learning rate
#
# Choose `adam_lr` so that `fit_line(torch.optim.Adam, adam_lr, 100)` ends with a loss
# below 0.02. Try a few values with `fit_line` first; the checker runs the same training.

# %%
# BEGIN SOLUTION
# STUB: adam_lr = ...
adam_lr = 0.1
# END SOLUTION
check("00.3", adam_lr)

# %% [markdown]
# ## The lessons
#
# | Lesson | What you build |
# |---|---|
# | [01 · Parameters](01_parameters.ipynb) | what an optimizer sees: parameters, frozen layers, param groups |
# | [02 · zero_grad, backward, step](02_zero_grad_and_step.ipynb) | what each line of the loop does to `p.grad` and the parameters |
# | [03 · SGD](03_sgd.ipynb) | SGD with momentum, dampening and Nesterov, from scratch |
# | [04 · Adam](04_adam.ipynb) | Adagrad, RMSprop, then Adam with bias correction |
# | [05 · Weight decay](05_weight_decay.ipynb) | L2 penalty vs decoupled weight decay: Adam vs AdamW |
# | [06 · Custom optimizers](06_custom_optimizers.ipynb) | your own `torch.optim.Optimizer` subclass |
# | [07 · Learning-rate schedulers](07_lr_schedulers.ipynb) | step, cosine, warm-up, one-cycle, plateau |
#
# ## Recap
#
# - `torch.optim.SGD(model.parameters(), lr=0.1)`: an optimizer holds the tensors it updates.
# - Every step: `optimizer.zero_grad()`, `loss = loss_fn(model(x), y)`, `loss.backward()`,
#   `optimizer.step()`.
# - `backward()` adds to `p.grad`: forgetting `zero_grad()` makes training swing.
# - Swapping optimizers is one line, but the learning rate must be chosen again: SGD's step
#   is `lr × gradient`, Adam's is about `lr`.
# - `check`, `hint` and `show_solution` are there for every exercise.
#
# ## Next
#
# [01 · Parameters](01_parameters.ipynb): what exactly does `model.parameters()` hand
# to the optimizer, and what happens to the tensors it leaves out?
