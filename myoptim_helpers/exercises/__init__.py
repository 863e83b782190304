"""Exercise checkers, hints and reference solutions for every lesson.

In a notebook::

    from myoptim_helpers.exercises import check, hint, show_solution
    check("03.2", my_sgd_step)     # prints ✓ / ✗ / ○ and specific feedback; never raises
    hint("03.2")                   # first hint; hint("03.2", 2) for the second
    show_solution("03.2")          # prints the reference solution's source

Key "NN.k" loads ``myoptim_helpers.exercises.lessonNN`` on first use. Lesson modules
register graders with :func:`exercise` and the helpers in ``_core`` (safe calls, feedback,
global-state hygiene) and ``_engine`` (configurations drawn at check time, tables of known
mistakes, the policies for unrequested options and answer types); see those modules'
docstrings and ``notebooks/_source/README.md``. Importing this package loads torch only:
no matplotlib, no ipywidgets.
"""

from ._core import (  # noqa: F401  # noqa: F401
    CALL_SECONDS,
    CHECK_SECONDS,
    CORRECT,
    ERROR,
    INCORRECT,
    NOT_ATTEMPTED,
    PRINT_LIMIT,
    Exercise,
    Feedback,
    LearnerTimeout,
    Mismatch,
    Reject,
    as_plain,
    call,
    check,
    correct,
    error,
    exercise,
    exercises_of,
    expect_callable,
    expect_close,
    expect_finite,
    expect_number,
    expect_same_steps,
    expect_tensor,
    expect_type,
    fail,
    first_mismatch,
    fmt,
    grade,
    hint,
    incorrect,
    is_stub,
    not_attempted,
    numbers_in,
    preserved_global_state,
    private_copy,
    reveals,
    seeded,
    show_solution,
    stub_reason,
    time_limit,
    tolerance,
)
from ._core import __all__ as _core_all
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
from ._engine import __all__ as _engine_all

__all__ = [*_core_all, *_engine_all]
