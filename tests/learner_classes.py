"""Optimizer classes a learner might hand in, shared by the exercise tests: one named SGD
that is an Adam, an SGD whose step does something else, and a valid SGD subclass that takes
``*args, **kwargs``; and :func:`as_written`, a reference solution as a learner's cell defines it."""

import inspect

import torch


def as_written(code) -> dict:
    """The names ``code`` (source text, or a function whose source to take) defines, run in a
    namespace of their own, as a learner's cell defines them: the exercise modules' own
    references are refused by identity, a copy of their source is not."""
    namespace = {"__name__": "__main__", "torch": torch}
    exec(code if isinstance(code, str) else inspect.getsource(code), namespace)
    return namespace


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
