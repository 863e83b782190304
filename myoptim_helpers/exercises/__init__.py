"""Exercise checkers, hints and reference solutions for every lesson.

In a notebook::

    from myoptim_helpers.exercises import check, hint, show_solution
    check("03.2", my_sgd_step)     # prints ✓ / ✗ / ○ and specific feedback; never raises
    hint("03.2")                   # first hint; hint("03.2", 2) for the second
    show_solution("03.2")          # prints the reference solution's source

Key "NN.k" loads ``myoptim_helpers.exercises.lessonNN`` on first use. A lesson module
registers its graders with :func:`exercise` and builds them from one module per idea:

- ``_registry``: registration, :func:`grade` and the notebook calls above; a prediction's
  expected number is never shown;
- ``_feedback``: the verdicts (:func:`correct`, :func:`incorrect`, :func:`fail`, ...);
- ``_stubs``: an answer still ``...`` is "not attempted yet";
- ``_isolation``: global state restored, time limits, capped printing, :func:`seeded`;
- ``_calling``: :func:`call` runs learner code and says where and whose fault a failure is;
- ``_assertions``: checks on values (``expect_*``, :func:`tolerance`, :func:`fmt`);
- ``_steps``: where a run first differs from torch's (:func:`first_mismatch`);
- ``_engine``: configurations drawn at check time, tables of known mistakes, the policies
  for unrequested options and answer types; ``_optimizer_runs``: the harness that runs a
  learner's optimizer next to torch's.

See those modules' docstrings and ``notebooks/_source/README.md``. Importing this package
loads torch only: no matplotlib, no ipywidgets.
"""

# The names each module lists in its __all__, re-exported: the package is the public face.
from . import _assertions, _calling, _engine, _feedback, _isolation, _registry, _steps, _stubs
from ._assertions import (  # noqa: F401
    as_plain,
    expect_callable,
    expect_close,
    expect_finite,
    expect_number,
    expect_tensor,
    expect_type,
    fmt,
    got_expected,
    tolerance,
)
from ._calling import CALL_SECONDS, call, expect_own_work, package_reference  # noqa: F401
from ._engine import (  # noqa: F401
    NEUTRAL_OPTIONS,
    Config,
    Draw,
    Mistake,
    Spec,
    config,
    draw_configs,
    expect_instance,
    expect_optimizer,
    expect_options,
    flag_grid,
    grade_spec,
    matching_mistake,
    run_answer,
    seed_of,
    torch_defaults,
)
from ._feedback import (  # noqa: F401
    CORRECT,
    ERROR,
    INCORRECT,
    NOT_ATTEMPTED,
    Feedback,
    Reject,
    correct,
    error,
    fail,
    incorrect,
    not_attempted,
)
from ._isolation import PRINT_LIMIT, LearnerTimeout, preserved_global_state, private_copy, seeded, time_limit  # noqa: F401
from ._registry import (  # noqa: F401
    CHECK_SECONDS,
    Exercise,
    attempted,
    check,
    exercise,
    exercises_of,
    grade,
    hint,
    numbers_in,
    reveal,
    reveals,
    show_solution,
)
from ._steps import Mismatch, expect_same_steps, first_mismatch  # noqa: F401
from ._stubs import is_stub, stub_reason  # noqa: F401

__all__ = [
    *_registry.__all__,
    *_feedback.__all__,
    *_stubs.__all__,
    *_isolation.__all__,
    *_calling.__all__,
    *_assertions.__all__,
    *_steps.__all__,
    *_engine.__all__,
]
