"""Optimizer classes a learner might hand in, shared by the exercise tests: one named SGD
that is an Adam, an SGD whose step does something else, and a valid SGD subclass that takes
``*args, **kwargs``."""

import torch


class SGD(torch.optim.Adam):  # the name says SGD; the class is Adam
    pass


class SGDWithDrift(torch.optim.SGD):
    """An SGD subclass whose step() also shrinks every parameter: not SGD any more."""

    def step(self, closure=None):
        super().step(closure)
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    p.mul_(0.999)


class KwargsSGD(torch.optim.SGD):
    """A valid SGD subclass whose __init__ passes everything on."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
