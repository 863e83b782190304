"""L-BFGS: a quasi-Newton method that builds curvature from the last few steps.

Newton's method steps along ``-H^{-1} g``, with ``H`` the Hessian: on a
quadratic it jumps to the minimum at once, but ``H`` has ``n^2`` entries.
BFGS builds an approximation of ``H^{-1}`` from what the steps taught it: each
step ``s = x_{k+1} - x_k`` and change of gradient ``y = g_{k+1} - g_k`` says
that the curvature along ``s`` is ``y . s / s . s``. *Limited-memory* BFGS
(Nocedal, 1980; Liu & Nocedal, 1989) keeps only the last ``history_size`` pairs
``(y, s)`` and applies the approximation to the gradient in two loops over them
(``lbfgs_direction``), never forming a matrix.

Unlike the other optimizers, ``step(closure)`` runs a whole inner optimisation:
up to ``max_iter`` iterations, each re-evaluating the loss through the closure.
Without a line search each iteration steps by ``lr``; with
``line_search_fn="strong_wolfe"`` it searches along the direction for a step
that satisfies the strong Wolfe conditions (enough decrease, and a slope that
has flattened), by bracketing and cubic interpolation (``strong_wolfe``).
All parameters are handled as one flat vector, so there is only one parameter
group, and complex parameters count as pairs of reals.
"""

import torch

from ._base import as_scalar

__all__ = ["LBFGS", "cubic_interpolate", "lbfgs_direction", "strong_wolfe"]


def lbfgs_direction(flat_grad, old_dirs, old_stps, ro, H_diag, al):
    """Return the L-BFGS search direction ``-H g`` by the two-loop recursion; fills ``al`` in place.

    ``old_dirs`` are the gradient changes ``y``, ``old_stps`` the steps ``s``, ``ro`` the
    numbers ``1 / (y . s)``, newest last, and ``H_diag`` the initial scale ``y . s / y . y``
    of the newest pair. In this function's symbols::

        q = -g
        for i from newest to oldest:   al[i] = ro[i] * s[i] . q;   q = q - al[i] * y[i]
        r = H_diag * q
        for i from oldest to newest:   be = ro[i] * y[i] . r;      r = r + (al[i] - be) * s[i]
        return r
    """
    num_old = len(old_dirs)
    q = flat_grad.neg()
    for i in range(num_old - 1, -1, -1):
        al[i] = old_stps[i].dot(q) * ro[i]
        q.add_(old_dirs[i], alpha=-al[i])
    r = torch.mul(q, H_diag)
    for i in range(num_old):
        be_i = old_dirs[i].dot(r) * ro[i]
        r.add_(old_stps[i], alpha=al[i] - be_i)
    return r


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Return the minimiser of the cubic through ``(x1, f1)`` and ``(x2, f2)`` with slopes ``g1``, ``g2``.

    The minimiser is kept within ``bounds``.

    Where the cubic has no minimum the midpoint of the bounds is returned. (minFunc's
    ``polyinterp``, as in torch.)
    """
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = d2_square.sqrt()
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _new_bracket(t_prev, t, f_prev, f_new, g_prev, g_new, gtd_prev, gtd_new):
    """Return the bracket ``[t_prev, t]`` with its losses, gradients and slopes."""
    return {
        "t": [t_prev, t],
        "f": [f_prev, f_new],
        "g": [g_prev, g_new.clone(memory_format=torch.contiguous_format)],
        "gtd": [gtd_prev, gtd_new],
    }


def _record(bracket, i, t, f, g, gtd):
    """Store trial ``t`` (loss, flat gradient, slope) at position ``i`` of the bracket."""
    bracket["t"][i], bracket["f"][i], bracket["g"][i], bracket["gtd"][i] = t, f, g, gtd


def strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Return ``(loss, flat_grad, t, evaluations)`` at a step ``t`` along ``d`` meeting the strong Wolfe conditions.

    ``obj_func(x, t, d)`` returns the loss and flat gradient at ``x + t d``. The conditions
    are *sufficient decrease*, ``f(t) <= f + c1 t gtd``, and *curvature*,
    ``|f'(t)| <= -c2 gtd``. Phase 1 grows ``t`` by cubic extrapolation until a bracket
    ``[lo, hi]`` holds a point meeting them; phase 2 (zoom) shrinks the bracket by cubic
    interpolation, keeping each trial away from its ends. (minFunc's ``WolfeLineSearch``,
    as torch ports it: the same trials in the same order.)
    """
    d_norm = d.abs().max()
    g = g.clone(memory_format=torch.contiguous_format)
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:  # phase 1: bracket
        # torch's order of tests: no sufficient decrease, then the curvature condition, then an upward slope
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket = _new_bracket(t_prev, t, f_prev, f_new, g_prev, g_new, gtd_prev, gtd_new)
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket = {"t": [t], "f": [f_new], "g": [g_new]}
            done = True
            break
        if gtd_new >= 0:
            bracket = _new_bracket(t_prev, t, f_prev, f_new, g_prev, g_new, gtd_prev, gtd_new)
            break
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        t_prev, t = t, cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        f_prev, g_prev, gtd_prev = f_new, g_new.clone(memory_format=torch.contiguous_format), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket = {"t": [0, t], "f": [f, f_new], "g": [g, g_new]}
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket["f"][0] <= bracket["f"][-1] else (1, 0)
    while not done and ls_iter < max_ls:  # phase 2: zoom
        ts = bracket["t"]
        if abs(ts[1] - ts[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(ts[0], bracket["f"][0], bracket["gtd"][0], ts[1], bracket["f"][1], bracket["gtd"][1])
        # keep the trial at least 10% of the bracket away from its ends, unless the last one progressed
        eps = 0.1 * (max(ts) - min(ts))
        if min(max(ts) - t, t - min(ts)) < eps:
            if insuf_progress or t >= max(ts) or t <= min(ts):
                t = max(ts) - eps if abs(t - max(ts)) < abs(t - min(ts)) else min(ts) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket["f"][low_pos]:
            _record(bracket, high_pos, t, f_new, g_new.clone(memory_format=torch.contiguous_format), gtd_new)
            low_pos, high_pos = (0, 1) if bracket["f"][0] <= bracket["f"][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (ts[high_pos] - ts[low_pos]) >= 0:
                _record(
                    bracket,
                    high_pos,
                    ts[low_pos],
                    bracket["f"][low_pos],
                    bracket["g"][low_pos],
                    bracket["gtd"][low_pos],
                )
            _record(bracket, low_pos, t, f_new, g_new.clone(memory_format=torch.contiguous_format), gtd_new)
    return bracket["f"][low_pos], bracket["g"][low_pos], bracket["t"][low_pos], ls_func_evals


class LBFGS(torch.optim.Optimizer):
    r"""L-BFGS (Liu & Nocedal), with an optional strong-Wolfe line search.

    Exact to ``torch.optim.LBFGS`` (same signature, defaults, state, errors and numbers;
    torch's has no performance flags). ``step`` needs a closure that re-evaluates the
    model, and may call it many times. One parameter group only, as in torch. Sparse
    gradients are used as dense and complex parameters as pairs of reals, as in torch.

    Each of up to ``max_iter`` iterations of one ``step(closure)`` (see ``lbfgs_direction``)::

        y, s = g - g_prev, t_prev * d_prev;  keep (y, s) if y . s > 1e-10 (at most history_size pairs)
        d    = -H g                        (the two-loop recursion; d = -g on the very first iteration)
        t    = lr  (the very first iteration: min(1, 1 / |g|_1) * lr), or the strong-Wolfe step
        x    = x + t d
    and it stops early when ``max|g| <= tolerance_grad``, when the step or the change of loss
    is below ``tolerance_change``, or after ``max_eval`` evaluations of the closure.

    Args:
        params: an iterable of tensors (one group).
        lr (float or 1-element Tensor): step size, or the line search's first trial (default: 1).
        max_iter (int): iterations per ``step`` (default: 20).
        max_eval (int or None): closure evaluations per ``step`` (default: ``max_iter * 5 // 4``).
        tolerance_grad (float): stop when every gradient entry is this small (default: 1e-7).
        tolerance_change (float): stop when the step or the loss changes by less (default: 1e-9).
        history_size (int): how many ``(y, s)`` pairs are kept (default: 100).
        line_search_fn (str or None): ``"strong_wolfe"`` or None (default: None).

    State, all under the first parameter: ``func_evals``, ``n_iter``, ``d``, ``t``, ``old_dirs``,
    ``old_stps``, ``ro``, ``H_diag``, ``prev_flat_grad``, ``prev_loss`` and ``al``.

    Example:
        >>> import torch
        >>> xy = torch.tensor([-1.5, 2.0], requires_grad=True)
        >>> opt = LBFGS([xy], line_search_fn="strong_wolfe")
        >>> def closure():                          # Rosenbrock's valley, minimum at (1, 1)
        ...     opt.zero_grad()
        ...     loss = (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2
        ...     loss.backward()
        ...     return loss
        >>> for _ in range(3):
        ...     _ = opt.step(closure)
        >>> [round(v, 4) for v in xy.tolist()]
        [1.0, 1.0]

    References:
        Liu & Nocedal (1989), "On the limited memory BFGS method for large scale optimization",
        Mathematical Programming 45. https://doi.org/10.1007/BF01589116
        Nocedal & Wright (2006), "Numerical Optimization", 2nd ed., algorithms 3.5-3.6 (line search), 7.4 (two loops).
    """

    def __init__(
        self,
        params,
        lr=1,
        max_iter=20,
        max_eval=None,
        tolerance_grad=1e-7,
        tolerance_change=1e-9,
        history_size=100,
        line_search_fn=None,
    ):
        # Same checks, same order, same comparisons as torch.optim.LBFGS (so the same inputs fail).
        if isinstance(lr, torch.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {
            "lr": lr,
            "max_iter": max_iter,
            "max_eval": max_eval,
            "tolerance_grad": tolerance_grad,
            "tolerance_change": tolerance_change,
            "history_size": history_size,
            "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _gather_flat_grad(self):
        """Return every gradient as one flat real vector (zeros for a missing one, dense for a sparse one)."""
        views = []
        for p in self._params:
            if p.grad is None:
                view = p.new(p.numel()).zero_()
            elif p.grad.is_sparse:
                view = p.grad.to_dense().view(-1)
            else:
                view = p.grad.view(-1)
            views.append(torch.view_as_real(view).view(-1) if torch.is_complex(view) else view)
        return torch.cat(views, 0)

    def _add_grad(self, step_size, update):
        """Add ``step_size * update`` (a flat vector) to the parameters, in place."""
        offset = 0
        for p in self._params:
            p = torch.view_as_real(p) if torch.is_complex(p) else p
            p.add_(update[offset : offset + p.numel()].view_as(p), alpha=step_size)
            offset += p.numel()

    def _directional_evaluate(self, closure, x, t, d):
        """Return (loss, flat gradient) at ``x + t d``, then put the parameters back to ``x``."""
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        for p, pdata in zip(self._params, x, strict=True):
            p.copy_(pdata)
        return loss, flat_grad

    @torch.no_grad()
    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; return the loss of the *first* closure call.

        Args:
            closure (callable): re-evaluates the model, calls ``backward()`` and returns
                the loss; it runs with gradients enabled, as often as the iterations need.
        """
        closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        lr, max_iter, max_eval = as_scalar(group["lr"]), group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        opt_cond = flat_grad.abs().max() <= tolerance_grad
        if opt_cond:  # already optimal
            return orig_loss
        d, t, old_dirs, old_stps, ro, H_diag, prev_flat_grad, prev_loss = (
            state.get(k) for k in ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss")
        )
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, old_dirs, old_stps, ro, H_diag = flat_grad.neg(), [], [], [], 1
            else:
                y, s = flat_grad.sub(prev_flat_grad), d.mul(t)
                ys = y.dot(s)
                if ys > 1e-10:  # keep the pair only where the curvature is positive
                    if len(old_dirs) == group["history_size"]:  # forget the oldest pair
                        del old_dirs[0], old_stps[0], ro[0]
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                if "al" not in state:
                    state["al"] = [None] * group["history_size"]
                d = lbfgs_direction(flat_grad, old_dirs, old_stps, ro, H_diag, state["al"])
            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.clone(memory_format=torch.contiguous_format)
            else:
                prev_flat_grad.copy_(flat_grad)
            prev_loss = loss
            # the very first step is scaled down by the gradient's size: there is no curvature yet
            t = min(1.0, 1.0 / flat_grad.abs().sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:  # not a descent direction
                break
            ls_func_evals = 0
            if group["line_search_fn"] is not None:
                if group["line_search_fn"] != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = [p.clone(memory_format=torch.contiguous_format) for p in self._params]

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals
                )
                self._add_grad(t, d)
                opt_cond = flat_grad.abs().max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:  # re-evaluate, except after the last iteration
                    loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = flat_grad.abs().max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if d.mul(t).abs().max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break
        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag)
        state.update(prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss
