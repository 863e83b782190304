"""The grading engine: time budget, blame, misuse, state restored, printing capped, and the
declarative side (configurations, mistakes, options and type policies).

Expected messages are written out by hand; nothing here is computed by the code under test.
"""

import contextlib
import sys
import time
import types

import pytest
import torch
from learner_classes import SGD, KwargsSGD, SGDWithDrift

from myoptim_helpers import exercises as ex
from myoptim_helpers.exercises import _calling, _isolation, _registry

LESSON = "91"


def loops_forever(p, g, lr):
    while True:
        pass


def loops_catching_exceptions(p, g, lr):
    while True:
        with contextlib.suppress(Exception):
            time.sleep(0.01)


def exits(p, g, lr):
    sys.exit(3)


def raises_base(p, g, lr):
    raise GeneratorExit("closed")


def prints_a_lot(p, g, lr):
    print("x" * 10_000)
    return p - lr * g


def patches_sgd(p, g, lr):
    torch.optim.SGD.step = lambda self, closure=None: None
    return p - lr * g


def changes_global_state(p, g, lr):
    torch.set_default_dtype(torch.float64)
    torch.set_anomaly_enabled(True)
    torch.Tensor.my_helper = lambda self: self
    _calling.CALL_SECONDS = 1e9
    return p - lr * g


def reference(p, g, lr):
    return p - lr * g


def _spec():
    def build(draw, i):
        shape, dtype = draw.shape(), draw.dtype()
        return ex.config(
            f"shape {shape}, {dtype}",
            shape=shape,
            dtype=dtype,
            lr=draw.uniform(0.01, 0.5),
            kind=("normal", "zero", "negative", "large")[i % 4],
        )

    def one(cfg, gen_seed):
        d = ex.Draw(gen_seed)
        return d.tensor(cfg["shape"], cfg["dtype"]), d.tensor(cfg["shape"], cfg["dtype"], cfg["kind"])

    def run(invoke, cfg):
        p, g = one(cfg, 1)
        return [invoke(p, g, cfg["lr"])]

    return ex.Spec(
        configs=lambda: ex.draw_configs(f"{LESSON}.1", build, 8),
        reference=lambda cfg: [reference(*one(cfg, 1), cfg["lr"])],
        run=run,
        mistakes=[
            ex.Mistake("sign", lambda p, g, lr: p + lr * g, "the sign of the step is flipped."),
            ex.Mistake("lr fixed", lambda p, g, lr: p - 0.1 * g, "use the `lr` argument."),
        ],
        otherwise="p - lr * g.",
        success="matches in all {n} configurations.",
    )


def _lesson():
    module = types.ModuleType(f"myoptim_helpers.exercises.lesson{LESSON}")
    spec = _spec()

    @ex.exercise(f"{LESSON}.1", title="A step", solution=reference)
    def grade_step(step):
        return ex.grade_spec(spec, step)

    @ex.exercise(f"{LESSON}.2", title="Runs learner code directly")
    def grade_direct(fn):
        fn()  # no call(): what it raises must still be blamed on the learner
        return ex.correct("ok")

    @ex.exercise(f"{LESSON}.3", title="A prediction", prediction=lambda: (1.84,))
    def grade_prediction(w):
        value = ex.expect_number(w, "w")
        if abs(value - 1.84) > 1e-6:
            return ex.incorrect(f"w: got {value:g}, expected 1.84.")  # leaks: must be withheld
        return ex.correct("1.84 it is.")

    @ex.exercise(f"{LESSON}.4", title="A number")
    def grade_number(x):
        ex.expect_number(x, "x")
        return ex.correct("ok")

    for obj in (grade_step, grade_direct, grade_prediction, grade_number):
        setattr(module, obj.key.replace(".", "_"), obj)
    return module


@pytest.fixture(autouse=True)
def fake_lesson(monkeypatch):
    monkeypatch.setitem(sys.modules, f"myoptim_helpers.exercises.lesson{LESSON}", _lesson())


@pytest.fixture
def short_budget(monkeypatch):
    monkeypatch.setattr(_calling, "CALL_SECONDS", 0.3)


# --------------------------------------------------------------------------- blame and budget

BLAME_CASES = [
    # (answer, status, fragment)
    (reference, "correct", "matches in all 8 configurations."),
    (exits, "error", "`exits` raised SystemExit: 3"),
    (raises_base, "error", "`raises_base` raised GeneratorExit: closed"),
    (lambda p, g, lr: p + lr * g, "incorrect", "the sign of the step is flipped."),
    (lambda p, g, lr: p - 0.1 * g, "incorrect", "use the `lr` argument."),
    (lambda p, g, lr: p - lr * g * 1.5, "incorrect", "p - lr * g."),
    (lambda p, g, lr: (p - lr * g).double(), "incorrect", "with shape"),
]


@pytest.mark.parametrize("answer, status, fragment", BLAME_CASES)
def test_blame(answer, status, fragment):
    feedback = ex.grade(f"{LESSON}.1", answer)
    assert (feedback.status, fragment in feedback.message) == (status, True), str(feedback)


@pytest.mark.parametrize("answer", [loops_forever, loops_catching_exceptions])
def test_a_function_that_never_returns_ends_the_check(answer, short_budget):
    start = time.monotonic()
    feedback = ex.grade(f"{LESSON}.1", answer)
    assert time.monotonic() - start < 5
    assert feedback.status == "error"
    assert f"`{answer.__name__}` did not return within 0.3 s: does it loop forever?" in feedback.message


def test_the_whole_check_has_a_budget_too(monkeypatch):
    monkeypatch.setattr(_registry, "CHECK_SECONDS", 0.3)
    feedback = ex.grade(f"{LESSON}.2", lambda: loops_forever(0, 0, 0))
    assert feedback.status == "error"
    assert "did not return within 0.3 s: does it loop forever?" in feedback.message


def test_learner_code_run_directly_by_a_grader_is_blamed_on_the_learner():
    def own_code():
        raise SystemExit("bye")

    feedback = ex.grade(f"{LESSON}.2", own_code)
    assert feedback.status == "error"
    assert feedback.message.startswith("your code raised SystemExit: bye (line "), feedback.message
    assert "checker itself failed" not in feedback.message


def test_keyboard_interrupt_still_interrupts():
    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ex.grade(f"{LESSON}.2", interrupted)


def test_time_limit_nests_and_degrades_without_alarm(monkeypatch):
    with (
        ex.time_limit(5, "outer"),
        pytest.raises(ex.LearnerTimeout, match="inner did not return within 0.2 s"),
        ex.time_limit(0.2, "inner"),
    ):
        while True:
            pass
    monkeypatch.setattr(_isolation, "_alarm_available", lambda: False)
    with ex.time_limit(0.01, "no alarm"):
        time.sleep(0.05)  # nothing fires: unlimited, not broken


# --------------------------------------------------------------------------- misuse

MISUSE_CASES = [
    (
        lambda: ex.grade(f"{LESSON}.1", step=reference),
        'check takes the answers by position, not by name: check("91.1", step), without `step=`.',
    ),
    (lambda: ex.grade(), 'check needs the exercise key first: check("03.2", your_answer).'),
    (lambda: ex.grade(reference, reference), "the first argument (function) is not an exercise key"),
    (lambda: ex.grade(f"{LESSON}.4", 3e38), "x = 3e+38 is too large to be a useful answer"),
    (lambda: ex.grade(f"{LESSON}.4", 10**400), "x is too large to be a useful answer."),
    (lambda: ex.grade(f"{LESSON}.3", 10**400), "w is too large to be a useful answer."),
    (lambda: ex.grade(f"{LESSON}.4", [1.0, 2.0]), "x should be a number, got a list."),
]


@pytest.mark.parametrize("action, fragment", MISUSE_CASES)
def test_misuse_gets_one_line(action, fragment):
    feedback = action()
    assert fragment in feedback.message and "\n" not in feedback.message, str(feedback)
    assert "checker itself failed" not in feedback.message


def test_check_with_keywords_prints_one_line(capsys):
    ex.check(f"{LESSON}.1", step=reference)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("✗ 91.1 error: check takes the answers by position")


# --------------------------------------------------------------------------- state and printing


def test_learner_printing_is_capped(capsys):
    feedback = ex.grade(f"{LESSON}.1", prints_a_lot)
    out = capsys.readouterr().out
    assert feedback.status == "correct"
    assert out.count("x") == _isolation.PRINT_LIMIT
    assert "it printed more than 2000 characters" in out


def test_a_patch_of_torch_is_named_and_undone():
    step = torch.optim.SGD.step
    feedback = ex.grade(f"{LESSON}.1", patches_sgd)
    assert feedback.status == "incorrect"
    assert "`patches_sgd` changed torch.optim.SGD.step" in feedback.message, feedback.message
    assert torch.optim.SGD.step is step


def test_everything_a_learner_changes_is_restored_after_the_check():
    before = (torch.get_default_dtype(), torch.is_anomaly_enabled(), _calling.CALL_SECONDS)
    feedback = ex.grade(f"{LESSON}.1", changes_global_state)
    assert (torch.get_default_dtype(), torch.is_anomaly_enabled(), _calling.CALL_SECONDS) == before
    assert not hasattr(torch.Tensor, "my_helper")
    assert feedback.status == "incorrect" and "changed" in feedback.message


def test_state_changed_by_code_a_grader_runs_directly_is_restored():
    def dirty():
        torch.set_default_device("meta")
        torch.optim.Optimizer.zero_grad = lambda self, set_to_none=True: None
        torch.manual_seed(99)

    zero_grad = torch.optim.Optimizer.zero_grad
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    ex.grade(f"{LESSON}.2", dirty)
    assert torch.get_default_device() == torch.device("cpu")
    assert torch.optim.Optimizer.zero_grad is zero_grad
    assert torch.equal(torch.rand(2), expected)


# --------------------------------------------------------------------------- the declarative side


def test_configurations_are_reproducible_and_varied():
    spec = _spec()
    first, second = spec.configs(), spec.configs()
    assert first == second
    shapes = {cfg["shape"] for cfg in first}
    assert () in shapes and len(shapes) >= 3
    assert {cfg["dtype"] for cfg in first} == {torch.float32, torch.float64}


def test_the_same_answer_gets_the_same_verdict():
    def answer(p, g, lr):  # wrong on 0-dim only
        return p - lr * g * (1 + (p.dim() == 0))

    verdicts = {str(ex.grade(f"{LESSON}.1", answer)) for _ in range(3)}
    assert len(verdicts) == 1 and "shape ()" in verdicts.pop()


def test_a_mistake_can_be_asked_to_explain_every_configuration():
    """Two mistakes that coincide where the answer first differs: by default the first row is
    named; with match_every_config only the one that explains the answer everywhere."""
    configs = lambda: tuple(ex.config(f"n={n}", n=n) for n in (2, 3, 4))  # noqa: E731
    mistakes = [ex.Mistake("squared", lambda n: n * n, "squared."), ex.Mistake("doubled", lambda n: 2 * n, "doubled.")]
    spec = dict(configs=configs, reference=lambda cfg: [float(cfg["n"] + 1)], mistakes=mistakes, otherwise="other.")
    run = lambda invoke, cfg: [float(invoke(cfg["n"]))]  # noqa: E731

    def doubled(n):
        return 2 * n

    with pytest.raises(ex.Reject) as first_row:
        ex.grade_spec(ex.Spec(run=run, **spec), doubled)
    with pytest.raises(ex.Reject) as everywhere:
        ex.grade_spec(ex.Spec(run=run, match_every_config=True, **spec), doubled)
    assert first_row.value.feedback.message.endswith("squared.")  # 2 * 2 == 2 ** 2 at n=2
    assert everywhere.value.feedback.message.endswith("doubled.")


def test_flag_grid_gives_every_pair():
    grid = ex.flag_grid(nesterov=(False, True), maximize=(False, True))
    assert [tuple(g.values()) for g in grid] == [(False, False), (False, True), (True, False), (True, True)]


def test_draw_tensor_kinds():
    d = ex.Draw(0)
    assert torch.equal(d.tensor((2, 3), kind="zero"), torch.zeros(2, 3, dtype=torch.float64))
    assert bool((d.tensor((4,), kind="negative") < 0).all())
    assert d.tensor((), torch.float32).dtype == torch.float32
    mixed = d.tensor((5,), kind="mixed")
    assert mixed[0] == 0


SGD_DEFAULTS = ex.torch_defaults(torch.optim.SGD)

OPTION_CASES = [
    # (group, asked, message or None)
    ({"params": [], "lr": 0.1, "momentum": 0, "foreach": None}, {"lr": 0.1}, None),
    ({"params": [], "lr": torch.tensor(0.1), "momentum": 0}, {"lr": 0.1}, None),
    (
        {"params": [], "lr": 0.1, "momentum": 0.9},
        {"lr": 0.1},
        "group 0 sets momentum=0.9, which the exercise did not ask for: leave it out (SGD's default is momentum=0).",
    ),
    (
        {"params": [], "lr": 0.1, "maximize": True},
        {"lr": 0.1},
        "group 0 sets maximize=True, which the exercise did not ask for",
    ),
    ({"params": [], "lr": 0.01}, {"lr": 0.1}, "group 0 has lr=0.01; the exercise asks for lr=0.1."),
    (
        {"params": [], "lr": 0.1, "betas": (0.9, 0.99)},
        {"lr": 0.1},
        "group 0 has an option 'betas' that SGD does not use",
    ),
    ({"params": []}, {"lr": 0.1}, "group 0 has no lr; the exercise asks for lr=0.1."),
]


@pytest.mark.parametrize("group, asked, message", OPTION_CASES)
def test_unrequested_options_are_named(group, asked, message):
    try:
        ex.expect_options(group, asked=asked, defaults=SGD_DEFAULTS, where="group 0", optimizer="SGD")
    except ex.Reject as rej:
        assert message is not None and message in rej.feedback.message, rej.feedback.message
    else:
        assert message is None


def _params():
    return [torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.zeros(2, 2))]


TYPE_CASES = [
    (lambda: torch.optim.SGD(_params(), lr=0.1, momentum=0.9), None),
    (lambda: KwargsSGD(_params(), lr=0.1), None),
    (
        lambda: SGD(_params(), lr=0.1),
        "the optimizer is a SGD (a subclass of torch.optim.Adam); expected a torch.optim.SGD.",
    ),
    (
        lambda: SGDWithDrift(_params(), lr=0.1),
        "its step() does not do what torch.optim.SGD's does (parameter 0 differs at step 1)",
    ),
    (lambda: torch.optim.SGD, "the optimizer is the class SGD itself"),
    (lambda: None, "the optimizer is None; expected a torch.optim.SGD."),
    (lambda: [1, 2], "the optimizer is a list; expected a torch.optim.SGD."),
]


@pytest.mark.parametrize("make, message", TYPE_CASES)
def test_answer_types_are_checked_by_class_and_behaviour(make, message):
    try:
        ex.expect_optimizer(make(), torch.optim.SGD, "the optimizer")
    except ex.Reject as rej:
        assert message is not None and message in rej.feedback.message, rej.feedback.message
    else:
        assert message is None


# --------------------------------------------------------------------------- predictions


def test_a_message_that_would_show_the_expected_number_is_withheld():
    feedback = ex.grade(f"{LESSON}.3", 1.5)
    assert feedback.status == "incorrect"
    assert "1.84" not in feedback.message and 'hint("91.3")' in feedback.message
    assert ex.grade(f"{LESSON}.3", 1.84).status == "correct"


REVEAL_CASES = [
    ("w: got 1.5, expected 1.84.", (1.84,), (1.5,), [1.84]),
    ("w = 1.5 moves the wrong way.", (1.84,), (1.5,), []),
    ("the buffer is −4.4 here", (1.84, -4.4), (1.84, 1.0), [-4.4]),
    ("w[0] = 1.4 is right", ([1.4, -1.4],), ([1.4, 2.0],), []),  # the learner's own right number
    ("after 1.4e+00 steps", (1.4,), (0.0,), [1.4]),
]


@pytest.mark.parametrize("message, expected, given, shown", REVEAL_CASES)
def test_reveals(message, expected, given, shown):
    assert ex.reveals(message, expected, given) == shown


def test_one_learner_call_cannot_change_the_modes_the_rest_of_the_check_runs_in():
    def switches_everything_off():
        torch.set_grad_enabled(False)
        torch.set_default_dtype(torch.float64)
        torch.set_default_device("meta")
        return 1

    assert ex.call(switches_everything_off) == 1
    assert torch.is_grad_enabled() and torch.get_default_dtype() == torch.float32
    assert torch.get_default_device() == torch.device("cpu")
