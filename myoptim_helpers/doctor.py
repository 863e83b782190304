"""A training-loop doctor: watch a loop through hooks and name what is wrong, in plain words.

::

    from myoptim_helpers import doctor

    with doctor.watch(model, optimizer, scheduler=scheduler, scaler=scaler):
        for x, y in batches:          # your loop, unchanged
            ...

On exit it prints one line per problem found, with the line of your code to change, or
that it found none. ``watch`` yields a :class:`Report` (``report.problems``, ``report.kinds``)
for code that wants the findings as data (``verbose=False`` prints nothing).

What it watches, and how (nothing in the loop is replaced, and everything is undone on exit):

- every parameter of ``model``: a gradient hook sees each backward pass arrive, and a
  post-accumulate hook sees it finish;
- ``optimizer.step``: torch's step pre- and post-hooks;
- ``optimizer.zero_grad``, ``model.zero_grad``, ``scheduler.step``, ``scaler.unscale_``
  and ``scaler.step``: wrapped on the instance, to know when they run;
- ``loss.backward()`` and in-place changes of gradients (clipping): a ``TorchFunctionMode``,
  which sees every torch call made inside the ``with`` block.

Its rule is that of a good linter: **no false alarms**. It reports only what it has seen
happen (a parameter moved although it had no gradient, a gradient that was clipped after
the step that used it), never a guess from style. More than one ``backward()`` per
``optimizer.step()`` is read as gradient accumulation. It watches one optimizer.
"""

from __future__ import annotations

import contextlib
import linecache
import math
import os
import sys
from dataclasses import dataclass, field

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["KINDS", "Problem", "Report", "watch"]

#: Every problem the doctor knows, by kind, with the advice it gives.
KINDS = {
    "grads_not_cleared": "gradients are never cleared, so each backward() adds to the gradients of all earlier steps",
    "zero_grad_before_step": "zero_grad() runs between backward() and step(), so step() finds no "
    "gradients and the parameters do not move",
    "step_before_backward": "step() runs before backward(), so it uses the gradients of the previous batch (or none)",
    "params_not_in_optimizer": "parameters receive gradients but are not in the optimizer, so they never change",
    "frozen_params_moved": "frozen parameters are still in the optimizer and keep moving: their "
    "gradients are zero tensors, not None, so weight decay and momentum "
    "still act on them",
    "scheduler_before_optimizer": "scheduler.step() runs before the first optimizer.step(), so the "
    "first value of the schedule is skipped",
    "clip_after_step": "the gradients are clipped after optimizer.step(), when the step that "
    "used them is already done: the clipping has no effect",
    "clip_before_unscale": "the gradients are clipped while still multiplied by the GradScaler's "
    "scale, so max_norm is compared with scale × the norm",
    "loss_not_divided": "under gradient accumulation the loss is not divided by the number of "
    "micro-batches, so the summed gradient is that many times too large",
    "lr_diverges": "the loss diverges: the learning rate is too large",
}

_ADVICE = {
    "grads_not_cleared": "call optimizer.zero_grad() once per optimizer step (before backward() or after step())",
    "zero_grad_before_step": "move zero_grad() before backward(), or after step()",
    "step_before_backward": "call loss.backward() before optimizer.step()",
    "params_not_in_optimizer": "build the optimizer with model.parameters()",
    "frozen_params_moved": "leave zero_grad()'s default set_to_none=True, or keep frozen "
    "parameters out of the optimizer",
    "scheduler_before_optimizer": "call scheduler.step() after optimizer.step()",
    "clip_after_step": "clip between backward() and optimizer.step()",
    "clip_before_unscale": "call scaler.unscale_(optimizer) before clipping",
    "loss_not_divided": "divide the loss by the number of micro-batches before backward()",
    "lr_diverges": "lower the learning rate (try 10 times smaller)",
}

_IN_PLACE_IGNORED = {"zero_", "requires_grad_", "detach_", "retain_grad", "share_memory_"}
_IN_PLACE_OPERATORS = {"__iadd__", "__isub__", "__imul__", "__itruediv__", "__idiv__", "__ipow__"}
_DIVERGED = 100.0  # a loss 100 times its first value is divergence, not minibatch noise


@dataclass
class Problem:
    """One problem: its ``kind`` (a key of :data:`KINDS`), the plain-words ``message``,
    the line of the learner's code it points to (``where``, may be empty) and how often it was seen."""

    kind: str
    message: str
    where: str = ""
    count: int = 1
    last_step: int = field(default=-1, repr=False, compare=False)

    def __str__(self):
        at = f" {self.where}:" if self.where else ""
        times = f" (in {self.count} steps)" if self.count > 1 else ""
        return f"✗{at} {self.message}{times}."


@dataclass
class Report:
    """What :func:`watch` saw: the problems, and how many steps and backward passes it watched."""

    problems: list = field(default_factory=list)
    steps: int = 0
    backwards: int = 0

    @property
    def kinds(self) -> list:
        """The kinds of the problems found, in the order they were first seen."""
        return [p.kind for p in self.problems]

    def add(self, kind: str, where: str = "", detail: str = "", step: int | None = None) -> None:
        """Record a problem; seen again in the same optimizer ``step``, it counts once."""
        for problem in self.problems:
            if problem.kind == kind:
                if step is None or problem.last_step != step:
                    problem.count += 1
                    problem.last_step = -1 if step is None else step
                return
        message = KINDS[kind] + (f" ({detail})" if detail else "") + ": " + _ADVICE[kind]
        self.problems.append(Problem(kind, message, where, last_step=-1 if step is None else step))

    def __str__(self):
        watched = (
            f"{self.steps} optimizer step{'s' * (self.steps != 1)}, {self.backwards} "
            f"backward pass{'es' * (self.backwards != 1)}"
        )
        if not self.problems:
            return f"doctor: no problem found ({watched} watched)."
        head = f"doctor: {len(self.problems)} problem{'s' * (len(self.problems) > 1)} found ({watched} watched):"
        return "\n".join([head] + [f"  {p}" for p in self.problems])


# --------------------------------------------------------------------------- where in the learner's code

_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_TORCH = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
_STDLIB = os.path.dirname(os.path.abspath(contextlib.__file__)) + os.sep


def _learner_line() -> str:
    """'line 7 (`optimizer.step()`)' for the innermost frame outside torch, the stdlib and this package."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        library = not filename.startswith("<") and os.path.abspath(filename).startswith((_HERE, _TORCH, _STDLIB))
        if not library and not filename.startswith("<frozen"):
            break
        frame = frame.f_back
    if frame is None:
        return ""
    filename, lineno = frame.f_code.co_filename, frame.f_lineno
    func = frame.f_code.co_name
    # In a notebook every cell may share one file name: the cache then holds the running
    # cell, the right text only for its top level or for a function it defines itself.
    shared = (
        filename == os.environ.get("IPYKERNEL_CELL_NAME")
        and func != "<module>"
        and f"def {func}(" not in linecache.getline(filename, frame.f_code.co_firstlineno)
    )
    text = "" if shared else linecache.getline(filename, lineno).strip()
    in_func = f" in `{func}`" if func not in ("<module>", "<lambda>") else ""
    place = "line" if filename.startswith("<") or "ipykernel_" in filename else f"{os.path.basename(filename)} line"
    return f"{place} {lineno}{in_func}" + (f" `{text}`" if text else "")


def _loss_factor(loss: torch.Tensor) -> float:
    """The product of the constants the loss was multiplied by or divided by at the end
    (``loss / 4`` gives 0.25, ``scaler.scale(loss / 4)`` gives 0.25 × scale)."""
    factor, node = 1.0, loss.grad_fn
    while node is not None and type(node).__name__ in ("MulBackward0", "DivBackward0"):
        inputs = [fn for fn, _ in node.next_functions]
        if len(inputs) != 2 or (inputs[0] is None) == (inputs[1] is None):
            break
        constant = node._saved_other if inputs[1] is None else node._saved_self
        if constant is None or constant.numel() != 1:
            break
        value = float(constant)
        if type(node).__name__ == "DivBackward0":
            if inputs[0] is None or value == 0:
                break  # c / loss is not a scaling
            value = 1 / value
        factor *= value
        node = inputs[0] if inputs[1] is None else inputs[1]
    return factor


# torch's id of the running backward pass (private): with it, a gradient hook can count backward
# passes, also those started by torch.autograd.backward, which the TorchFunctionMode does not see
_graph_task_id = getattr(torch._C, "_current_graph_task_id", None)


class _Watcher(TorchFunctionMode):
    """Holds the hooks and the bookkeeping; one per ``watch`` block."""

    def __init__(self, model, optimizer, scheduler, scaler, report):
        super().__init__()
        self.model, self.optimizer, self.scheduler, self.scaler = model, optimizer, scheduler, scaler
        self.report = report
        self.names = {id(p): name for name, p in model.named_parameters()}
        self.watched = list(model.parameters())
        opt_params = [p for group in optimizer.param_groups for p in group["params"]]
        self.watched += [p for p in opt_params if id(p) not in self.names]
        for p in opt_params:
            self.names.setdefault(id(p), f"optimizer parameter {len(self.names)}")
        self.in_optimizer = {id(p) for p in opt_params}
        self.inside = 0  # > 0 while a library call we wrap runs (its grad edits are fine)
        self.phase = "start"  # start | backward | step | cleared
        self.backwards_since_step = 0
        self.factors: list = []  # the loss factor of each backward since the last step
        self.received: set = set()  # ids of params that got a gradient since the last step
        self.consumed: set = set()  # ids of params whose gradient a step has used
        self.edited_after_backward = ""  # learner line that edited grads since the last backward
        self.last_zero_grad = ""
        self.first_loss = None
        self.scaler_stepped = False
        self.graph_task = None
        self.handles: list = []
        self.patched: list = []
        self.before: dict = {}

    # ---------------------------------------------------------------- setting up and undoing

    def install(self):
        for p in self.watched:
            if p.requires_grad:
                self.handles.append(p.register_hook(self._make_grad_hook(p)))
                self.handles.append(p.register_post_accumulate_grad_hook(self._accumulated))
        self.handles.append(self.optimizer.register_step_pre_hook(self._pre_step))
        self.handles.append(self.optimizer.register_step_post_hook(self._post_step))
        self._wrap(self.optimizer, "zero_grad", self._on_zero_grad)
        self._wrap(self.model, "zero_grad", self._on_zero_grad)
        if self.scheduler is not None:
            self._wrap(self.scheduler, "step", self._on_scheduler_step)
        if self.scaler is not None:
            self._wrap(self.scaler, "unscale_", self._on_unscale)
            self._wrap(self.scaler, "step", self._on_scaler_step, self._after_scaler_step)

    def uninstall(self):
        for handle in self.handles:
            handle.remove()
        for obj, name, had, old in reversed(self.patched):
            if had:
                setattr(obj, name, old)
            else:
                delattr(obj, name)

    def _wrap(self, obj, name, before, after=None):
        had = name in vars(obj)
        original = getattr(obj, name)

        def wrapper(*args, **kwargs):
            before()
            self.inside += 1
            try:
                result = original(*args, **kwargs)
            finally:
                self.inside -= 1
            if after is not None:
                after()
            return result

        self.patched.append((obj, name, had, vars(obj).get(name)))
        setattr(obj, name, wrapper)

    # ---------------------------------------------------------------- events

    def _add(self, kind, where="", detail=""):
        self.report.add(kind, where, detail, step=self.report.steps)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name == "backward" and args and isinstance(args[0], torch.Tensor):
            self._on_backward(args[0])
        elif (
            not self.inside
            and args
            and name not in _IN_PLACE_IGNORED
            and ((name.endswith("_") and not name.startswith("__")) or name in _IN_PLACE_OPERATORS)
        ):
            self._on_in_place(args[0])
        return func(*args, **kwargs)

    def _grads(self) -> dict:
        return {id(p.grad): p for p in self.watched if p.grad is not None}

    def _on_in_place(self, target):
        targets = target if isinstance(target, (list, tuple)) else [target]
        if not all(isinstance(t, torch.Tensor) for t in targets):
            return
        grads = self._grads()
        if not any(id(t) in grads for t in targets):
            return
        where = _learner_line()
        if self.phase == "step":
            self._add("clip_after_step", where)
        elif self.phase == "backward":
            self.edited_after_backward = where
            if self.scaler is not None and self.scaler.is_enabled():
                self._add("clip_before_unscale", where)

    def _count_backward(self):
        self.report.backwards += 1
        self.backwards_since_step += 1
        self.phase = "backward"
        self.edited_after_backward = ""

    def _on_backward(self, loss):
        if _graph_task_id is None:
            self._count_backward()
        factor = _loss_factor(loss)
        if self.scaler is not None and self.scaler.is_enabled():
            factor /= self.scaler.get_scale()
        self.factors.append((factor, _learner_line()))
        if loss.numel() == 1 and factor != 0:
            value = float(loss.detach()) / factor
            if self.first_loss is None:
                self.first_loss = value
            elif not math.isfinite(value) or (self.first_loss > 0 and value > _DIVERGED * self.first_loss):
                self._add("lr_diverges", _learner_line(), f"from {self.first_loss:.3g} to {value:.3g}")
        self.phase = "backward"
        self.edited_after_backward = ""

    def _make_grad_hook(self, p):
        def hook(grad):
            # before this backward's gradient is added: is the old one still there?
            if id(p) in self.consumed and p.grad is not None and bool(p.grad.any()):
                self._add("grads_not_cleared", self.last_step_line)
            self.consumed.discard(id(p))
            task = _graph_task_id() if _graph_task_id is not None else None
            if task is not None and task != self.graph_task:  # the first gradient of a new backward pass
                self.graph_task = task
                self._count_backward()

        return hook

    def _accumulated(self, p):
        self.received.add(id(p))

    def _on_zero_grad(self):
        if not self.inside:
            self.last_zero_grad = _learner_line()
            self.phase = "cleared"

    def _on_unscale(self):
        if not self.inside:
            self.phase = "unscaled"

    def _on_scaler_step(self):
        self.scaler_stepped = True
        self.steps_before_scaler_step = self.report.steps
        if self.phase == "backward":
            self.phase = "unscaled"  # scaler.step unscales first; nothing to report

    def _after_scaler_step(self):
        if self.steps_before_scaler_step == self.report.steps:
            self._end_step()  # skipped on inf/NaN gradients: the micro-batches start over all the same

    def _on_scheduler_step(self):
        if self.inside:
            return
        plateau = isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
        if self.report.steps == 0 and not self.scaler_stepped and not plateau:
            self._add("scheduler_before_optimizer", _learner_line())

    def _pre_step(self, optimizer, args, kwargs):
        self.last_step_line = _learner_line()
        self.inside += 1  # the optimizer's own in-place work is not the learner's
        closure = kwargs.get("closure", args[1] if len(args) > 1 else None)  # args[0] is the optimizer
        if closure is not None:
            return  # a closure runs backward inside step(): nothing to check in between
        where = self.last_step_line
        has_grad = [p for p in self.watched if id(p) in self.in_optimizer and p.grad is not None and bool(p.grad.any())]
        if self.backwards_since_step == 0 and not self.received:
            self._add("step_before_backward", where)
        elif not has_grad and self.phase == "cleared" and "step_before_backward" not in self.report.kinds:
            self._add("zero_grad_before_step", self.last_zero_grad)
        stray = [
            self.names[id(p)]
            for p in self.watched
            if id(p) not in self.in_optimizer and p.grad is not None and bool(p.grad.any())
        ]
        if stray:
            self._add("params_not_in_optimizer", where, ", ".join(stray))
        k = self.backwards_since_step
        if k >= 2 and not self.edited_after_backward:
            loud = [line for factor, line in self.factors if abs(factor) * k > 1 + 1e-6]
            if loud:
                self._add("loss_not_divided", loud[0], f"{k} backward() calls per step")
        self.before = {
            id(p): p.detach().clone()
            for p in self.watched
            if id(p) in self.in_optimizer and p.grad is not None and id(p) not in self.received
        }

    def _post_step(self, optimizer, args, kwargs):
        self.inside -= 1
        self.report.steps += 1
        moved = [
            self.names[id(p)]
            for p in self.watched
            if id(p) in self.before and not torch.equal(p.detach(), self.before[id(p)])
        ]
        if moved:
            self._add("frozen_params_moved", self.last_step_line, ", ".join(moved))
        if any(not bool(torch.isfinite(p).all()) for p in self.watched if id(p) in self.in_optimizer):
            self._add("lr_diverges", self.last_step_line, "the parameters became inf or NaN")
        self.before = {}
        self.consumed = {id(p) for p in self.watched if p.grad is not None and id(p) in self.in_optimizer}
        self._end_step()

    def _end_step(self):
        self.received = set()
        self.backwards_since_step = 0
        self.factors = []
        self.phase = "step"


@contextlib.contextmanager
def watch(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler=None, scaler=None, *, verbose: bool = True
):
    """Watch the training loop run inside the ``with`` block; yield a :class:`Report`.

    ``model`` and ``optimizer`` are the loop's; pass ``scheduler`` and ``scaler`` (a
    ``torch.amp.GradScaler``) if it uses them. On exit the hooks are removed and, with
    ``verbose``, the report is printed. An exception in the loop is not swallowed.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"watch() needs the model (a torch.nn.Module), got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"watch() needs the optimizer (a torch.optim.Optimizer), got {type(optimizer).__name__}")
    report = Report()
    watcher = _Watcher(model, optimizer, scheduler, scaler, report)
    watcher.last_step_line = ""
    watcher.install()
    try:
        with watcher:
            yield report
    finally:
        watcher.uninstall()
    # gradients clipped after the last step are seen only once the loop is over
    if verbose:
        print(report)
