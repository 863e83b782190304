"""Every optimizer of ``torch.optim``, built from scratch, exact to ``torch.optim`` number for number.

Each algorithm lives in its own short file, split the way torch splits it:

- a pure *update function* holds the maths for one tensor
  (``sgd_update``, ``adam_update``, ``rmsprop_update``, ``adagrad_update``,
  ``nadam_update``, ``radam_update``, ``adamax_update``, ``adadelta_update``,
  ``asgd_update``, ``rprop_update``, ``adafactor_update``, ``muon_update``,
  ``sparse_adam_update``, ``schedulefree_adamw_update``; LBFGS's is ``lbfgs_direction``, with its line search
  ``strong_wolfe``); read it with ``inspect.getsource(adam_update)``;
- a ``torch.optim.Optimizer`` subclass does the bookkeeping: it validates the
  hyperparameters, loops over parameter groups, skips parameters without a
  gradient, creates the state and calls the update function.

The classes take torch's arguments and defaults, keep torch's state keys
(``step``, ``momentum_buffer``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``,
``square_avg``, ``grad_avg``, ``sum``, ``mu_product``, ``exp_inf``, ``acc_delta``, ``ax``,
``prev``, ``row_var``, ``col_var``, ...) and raise torch's errors, so a
``state_dict`` moves freely between these optimizers and torch's. They leave out
only torch's performance flags (``foreach``, ``fused``, ``capturable``,
``differentiable``).

Every input torch accepts is handled as torch handles it: complex parameters
are updated as pairs of reals (``torch.view_as_real``), ``SGD`` and ``Adagrad``
take sparse gradients (``nn.Embedding(..., sparse=True)``), and what torch
refuses (a sparse gradient for Adam, another optimizer's state dict) fails with
torch's exception and message.

>>> import torch
>>> from myoptim_helpers.optim import SGD
>>> w = torch.nn.Parameter(torch.tensor([3.0]))
>>> opt = SGD([w], lr=0.25)
>>> (w ** 2).sum().backward()
>>> opt.step()
>>> w.detach()                  # 3 - 0.25 * (2 * 3)
tensor([1.5000])
"""

from .adadelta import Adadelta, adadelta_update
from .adafactor import Adafactor, adafactor_update
from .adagrad import Adagrad, adagrad_update
from .adam import Adam, AdamW, adam_update
from .adamax import Adamax, adamax_update
from .asgd import ASGD, asgd_update
from .lbfgs import LBFGS, cubic_interpolate, lbfgs_direction, strong_wolfe
from .muon import Muon, adjust_lr, muon_update, zeropower_via_newtonschulz
from .nadam import NAdam, nadam_update
from .radam import RAdam, radam_update
from .rmsprop import RMSprop, rmsprop_update
from .rprop import Rprop, rprop_update
from .schedulefree import AdamWScheduleFree, schedulefree_adamw_update
from .sgd import SGD, sgd_update
from .sparse_adam import SparseAdam, sparse_adam_update

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "sgd_update",
    "adam_update",
    "rmsprop_update",
    "adagrad_update",
    "NAdam",
    "RAdam",
    "Adamax",
    "Adadelta",
    "ASGD",
    "Rprop",
    "nadam_update",
    "radam_update",
    "adamax_update",
    "adadelta_update",
    "asgd_update",
    "rprop_update",
    "Adafactor",
    "adafactor_update",
    "Muon",
    "muon_update",
    "zeropower_via_newtonschulz",
    "adjust_lr",
    "SparseAdam",
    "sparse_adam_update",
    "LBFGS",
    "lbfgs_direction",
    "strong_wolfe",
    "cubic_interpolate",
    "AdamWScheduleFree",
    "schedulefree_adamw_update",
]
