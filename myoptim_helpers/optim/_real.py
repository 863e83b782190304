"""Complex parameters as torch's optimizers see them: pairs of real numbers.

torch updates a complex tensor through ``torch.view_as_real``, a real view of
shape ``(..., 2)`` that shares its memory, so every elementwise rule treats the
real and the imaginary part as two independent coordinates. The update
functions of this package call ``real_views`` at the same point as torch.
"""

import torch

from ._base import as_real


def real_views(*tensors):
    """Return ``tensors`` with each complex one replaced by its ``view_as_real`` (None stays None)."""
    return tuple(None if t is None else as_real(t) for t in tensors)


def state_as_tensors(optimizer, *keys):
    """Turn state entries ``keys`` stored as plain numbers (old checkpoints) into 0-dim tensors, in place.

    torch's ``__setstate__`` does this for ``step`` and, per optimizer, for counters
    such as NAdam's ``mu_product`` or ASGD's ``eta`` and ``mu``. Like torch, it reads
    every key of a non-empty state, in order: another optimizer's state dict fails
    in ``load_state_dict`` with torch's ``KeyError`` for the first key it lacks.
    """
    dtype = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
    for group in optimizer.param_groups:
        for p in group["params"]:
            p_state = optimizer.state.get(p, {})
            for key in keys:
                if len(p_state) != 0 and not torch.is_tensor(p_state[key]):
                    p_state[key] = torch.tensor(float(p_state[key]), dtype=dtype)
