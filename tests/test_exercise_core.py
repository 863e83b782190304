"""The exercise core: stubs, safe calls, feedback messages, registry and global-state hygiene.

Expected messages are written out by hand; nothing here is computed by the code under test.
"""

import inspect
import os
import random
import subprocess
import sys
import types

import pytest
import torch

from myoptim_helpers import exercises as ex
from myoptim_helpers.exercises import _isolation, _registry

LESSON = "98"  # a fake lesson registered by the fixture below


# --------------------------------------------------------------------------- learner code


def step_ok(p, g, lr):
    return p - lr * g


def step_dots(p, g, lr): ...


def step_pass(p, g, lr):
    pass


def step_doc(p, g, lr):
    """Return the updated parameter."""


def step_doc_dots(p, g, lr):
    """Return the updated parameter."""
    ...


def step_not_implemented(p, g, lr):
    raise NotImplementedError


def step_no_return(p, g, lr):
    p - lr * g


def step_returns_none(p, g, lr):
    return None


def step_in_place(p, g, lr):
    p -= lr * g
    return p


def step_modifies_grad(p, g, lr):
    g.mul_(lr)
    return p - g


def step_raises(p, g, lr):
    scale = lr * 2
    return p @ torch.ones(5, dtype=p.dtype) * scale


def step_wrong_sign(p, g, lr):
    return p + lr * g


def step_list(p, g, lr):
    return (p - lr * g).tolist()


def step_shape(p, g, lr):
    return (p - lr * g).unsqueeze(0)


def step_dtype(p, g, lr):
    return (p - lr * g).float()


def step_nan(p, g, lr):
    out = p - lr * g
    out[1] = float("nan")
    return out


def step_inf(p, g, lr):
    return (p - lr * g) / torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)


def step_draws_random(p, g, lr):
    return p - lr * g + 0 * torch.randn_like(p)


class StubOptimizer(torch.optim.Optimizer):
    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))

    def step(self, closure=None): ...


class DoneOptimizer(torch.optim.Optimizer):
    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))

    def step(self, closure=None):
        return None if closure is None else closure()


# --------------------------------------------------------------------------- fake lesson

P = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
G = torch.tensor([0.5, 0.25, -1.0], dtype=torch.float64)


def _reference(p, g, lr):
    return p - lr * g


def _make_lesson():
    module = types.ModuleType(f"myoptim_helpers.exercises.lesson{LESSON}")

    @ex.exercise(f"{LESSON}.1", title="One SGD step", solution=_reference, hints=["p - lr * g", "return a new tensor"])
    def grade_step(step):
        p, g = P.clone(), G.clone()
        got = ex.call(step, p, g, 0.1, returns=torch.Tensor)
        ex.expect_tensor(got, "the result", shape=(3,), dtype=torch.float64)
        ex.expect_same_steps([got], [_reference(p, g, 0.1)], diagnose=lambda m: "is the sign right?")
        return ex.correct("matches torch.")

    @ex.exercise(f"{LESSON}.2", title="A number", solution="answer = 0.5\n")
    def grade_number(answer):
        value = ex.expect_number(answer, "answer")
        ex.expect_close(value, 0.5, "answer", rtol=0, atol=1e-3)
        return ex.correct("0.5 it is.")

    @ex.exercise(f"{LESSON}.3", title="Dirty grader")
    def grade_dirty(answer):
        torch.set_default_dtype(torch.float64)
        torch.set_grad_enabled(False)
        torch.randn(10)
        random.random()
        return ex.correct("ok")

    @ex.exercise(f"{LESSON}.4", title="Buggy grader")
    def grade_buggy(answer):
        return answer.no_such_attribute

    @ex.exercise(f"{LESSON}.5", title="Grader that mutates the answer")
    def grade_mutating(tensor):
        tensor.add_(1)
        return ex.correct("ok")

    @ex.exercise(f"{LESSON}.6", title="An optimizer class")
    def grade_class(cls):
        return ex.correct("ok")

    @ex.exercise(f"{LESSON}.7", title="Returns a string")
    def grade_string(answer):
        return "correct"

    for obj in (grade_step, grade_number, grade_dirty, grade_buggy, grade_mutating, grade_class, grade_string):
        setattr(module, obj.key.replace(".", "_"), obj)
    return module


@pytest.fixture(autouse=True)
def fake_lesson(monkeypatch):
    monkeypatch.setitem(sys.modules, f"myoptim_helpers.exercises.lesson{LESSON}", _make_lesson())


def line_of(func, text):
    """The file line number of the line of ``func`` that contains ``text``."""
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, line in enumerate(lines) if text in line)


# --------------------------------------------------------------------------- tables

STUB_CASES = [
    # (answer, is a stub, why)
    (..., True, "Ellipsis"),
    ([1.0, ...], True, "a list still holding ..."),
    ({"lr": ...}, True, "a dict still holding ..."),
    (step_dots, True, "body is ..."),
    (step_pass, True, "body is pass"),
    (step_doc, True, "body is a docstring"),
    (step_doc_dots, True, "docstring and ..."),
    (step_not_implemented, True, "raise NotImplementedError"),
    (lambda p, g, lr: ..., True, "lambda returning ..."),
    (StubOptimizer, True, "a class whose step is ..."),
    (step_ok, False, "a real function"),
    (step_no_return, False, "forgets return: not a stub"),
    (step_returns_none, True, "only `return None`: the same bytecode as `pass`"),
    (DoneOptimizer, False, "a finished class"),
    (0.0, False, "zero"),
    (None, False, "None"),
    ([1.0, 2.0], False, "a full list"),
    (torch.zeros(2), False, "a tensor"),
]


@pytest.mark.parametrize("answer, stub, why", STUB_CASES, ids=[c[2] for c in STUB_CASES])
def test_stub_detection(answer, stub, why):
    assert ex.is_stub(answer) is stub


GRADE_CASES = [
    # (key, answers, status, message fragment)
    ("98.1", (step_ok,), "correct", "matches torch."),
    ("98.1", (...,), "not attempted", "`step` is still `...`"),
    ("98.1", (step_dots,), "not attempted", "`step_dots` still has an empty body"),
    ("98.1", (step_doc,), "not attempted", "`step_doc` still has an empty body"),
    ("98.1", (step_no_return,), "incorrect", "`step_no_return` returned None: did it forget to `return` its result?"),
    (
        "98.1",
        (step_in_place,),
        "incorrect",
        "`step_in_place` modified its argument `p` in place (the values of p changed)",
    ),
    (
        "98.1",
        (step_modifies_grad,),
        "incorrect",
        "`step_modifies_grad` modified its argument `g` in place (the values of g changed)",
    ),
    (
        "98.1",
        (step_raises,),
        "error",
        "`step_raises` raised RuntimeError: inconsistent tensor size, expected tensor [3] and "
        "src [5] to have the same number of elements",
    ),
    (
        "98.1",
        (step_wrong_sign,),
        "incorrect",
        "differs from torch already at step 1 (element [0]: got 1.05, expected 0.95): is the sign right?",
    ),
    ("98.1", (step_list,), "incorrect", "the value returned by `step_list` should be a Tensor, got list."),
    ("98.1", (step_shape,), "incorrect", "the result has shape (1, 3), expected (3,)."),
    ("98.1", (step_dtype,), "incorrect", "the result has dtype torch.float32, expected torch.float64."),
    ("98.1", (step_nan,), "incorrect", "the result contains NaN at index [1]."),
    ("98.1", (step_inf,), "incorrect", "the result contains inf at index [1]."),
    ("98.1", (3,), "incorrect", "your answer should be a function, got int."),
    ("98.1", (), "error", 'check("98.1", ...) takes 1 answer(s) (step); got 0.'),
    ("98.1", (step_ok, step_ok), "error", "takes 1 answer(s) (step); got 2."),
    ("98.2", (0.5,), "correct", "0.5 it is."),
    ("98.2", (torch.tensor(0.5004),), "correct", "0.5 it is."),
    ("98.2", (0.6,), "incorrect", "answer: got 0.6, expected 0.5."),
    ("98.2", ("0.5",), "incorrect", "answer should be a number, got str."),
    ("98.2", (True,), "incorrect", "answer should be a number, got bool."),
    ("98.2", (None,), "incorrect", "answer is None; expected a number."),
    ("98.2", (float("nan"),), "incorrect", "answer is nan; expected a finite number."),
    ("98.2", (torch.ones(2),), "incorrect", "answer should be a single number, got a tensor of shape (2,)."),
    ("98.4", (1,), "error", "the checker itself failed (AttributeError"),
    (
        "98.5",
        (torch.zeros(2),),
        "error",
        "the checker modified your answer (the values of tensor changed); please report this bug.",
    ),
    ("98.6", (StubOptimizer,), "not attempted", "`StubOptimizer.step` still has an empty body"),
    ("98.6", (DoneOptimizer,), "correct", "ok"),
    ("98.7", (1,), "error", "the checker returned str, not Feedback"),
    ("98.9", (1,), "error", 'there is no exercise 98.9. Lesson 98 has: "98.1" (One SGD step); "98.2" (A number);'),
    ("97.1", (1,), "error", "lesson 97 has no exercises."),
    ("3.1", (1,), "error", "'3.1' is not an exercise key: keys look like \"03.2\""),
    (31, (1,), "error", "31 is not an exercise key"),
]


@pytest.mark.parametrize(
    "key, answers, status, fragment", GRADE_CASES, ids=[f"{c[0]}-{c[3][:40]}" for c in GRADE_CASES]
)
def test_grade(key, answers, status, fragment):
    feedback = ex.grade(key, *answers)
    assert (feedback.status, fragment in feedback.message) == (status, True), feedback.message


def test_exception_names_the_learner_line():
    message = ex.grade("98.1", step_raises).message
    line = line_of(step_raises, "p @ torch.ones(5")
    assert (
        f"(line {line} of test_exercise_core.py in `step_raises`: "
        "`return p @ torch.ones(5, dtype=p.dtype) * scale`)" in message
    )
    assert "Traceback" not in message and "site-packages" not in message


def test_exception_in_a_shared_cell_file_is_not_quoted(monkeypatch):
    # With IPYKERNEL_CELL_NAME every cell has the same file name, so linecache may hold
    # another cell's text: the line number is given, the text is not.
    monkeypatch.setenv("IPYKERNEL_CELL_NAME", "<IPY-INPUT>")
    namespace = {"torch": torch}
    exec(compile("def cell_step(p, g, lr):\n    x = 1\n    return p / 0 + None\n", "<IPY-INPUT>", "exec"), namespace)
    message = ex.grade("98.1", namespace["cell_step"]).message
    assert message.endswith(
        "raised TypeError: unsupported operand type(s) for +: 'Tensor' "
        "and 'NoneType' (line 3 of your cell in `cell_step`)"
    ), message


def test_grading_leaves_global_state_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    random.seed(5)
    expected_random = random.random()
    random.seed(5)
    dtype, grad = torch.get_default_dtype(), torch.is_grad_enabled()
    assert ex.grade("98.3", 1).status == "correct"
    assert ex.grade("98.1", step_draws_random).status == "correct"
    assert torch.get_default_dtype() == dtype and torch.is_grad_enabled() == grad
    assert torch.equal(torch.rand(3), expected_next)
    assert random.random() == expected_random


def test_answers_are_not_modified_by_grading():
    answer = torch.tensor([0.5], requires_grad=True)
    before = answer.detach().clone()
    ex.grade("98.2", answer)
    assert torch.equal(answer.detach(), before) and answer.grad is None


MUTATION_CASES = [
    # (function, arguments, may_modify, expected fragment or None)
    (lambda t: t.add_(1), (torch.zeros(2),), (), "argument `t` in place (the values of t changed)"),
    (lambda xs: xs[1].zero_(), ([torch.ones(1), torch.ones(1)],), (), "(the values of xs[1] changed)"),
    (lambda d: d.__setitem__("lr", 2), ({"lr": 1},), (), "(d['lr'] changed from 1 to 2)"),
    (lambda m: m.weight.data.fill_(0), (torch.nn.Linear(2, 1),), (), "(the values of m.weight changed)"),
    (lambda m: m.weight.data.fill_(0), (torch.nn.Linear(2, 1),), ("m",), None),
    (lambda t: t + 1, (torch.zeros(2),), (), None),
]


@pytest.mark.parametrize("fn, args, may_modify, fragment", MUTATION_CASES)
def test_call_detects_in_place_changes(fn, args, may_modify, fragment):
    try:
        ex.call(fn, *args, may_modify=may_modify)
    except ex.Reject as rej:
        assert fragment is not None and fragment in rej.feedback.message, rej.feedback.message
        assert rej.feedback.status == "incorrect"
    else:
        assert fragment is None


def test_call_detects_optimizer_state_changes():
    p = torch.nn.Parameter(torch.ones(2))
    p.grad = torch.ones(2)
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    with pytest.raises(
        ex.Reject,
        match=r"argument `opt` in place "
        r"\(the values of opt.param_groups\[0\]\['params'\]\[0\] changed\)\. "
        r"Leave it as it was given",
    ):
        ex.call(lambda opt: opt.step(), opt)
    with pytest.raises(ex.Reject, match=r"\(opt.state\[0\]\['momentum_buffer'\] appeared\)"):
        ex.call(lambda opt: opt.state[p].update(momentum_buffer=torch.zeros(2)), torch.optim.SGD([p], lr=0.1))


MISMATCH_CASES = [
    # (got, expected, message)
    (
        [torch.tensor(1.0)] * 3 + [torch.tensor(0.8123)],
        [torch.tensor(1.0)] * 3 + [torch.tensor(0.81)],
        "matches torch for steps 1–3, differs at step 4 (got 0.8123, expected 0.81)",
    ),
    (
        [{"w": torch.tensor([1.0, 2.0])}] * 2,
        [{"w": torch.tensor([1.0, 2.0])}, {"w": torch.tensor([1.0, 2.5])}],
        "matches torch for step 1, differs at step 2 (param 'w'[1]: got 2, expected 2.5)",
    ),
    (
        [[torch.tensor(1.0), torch.tensor(0.3)]],
        [[torch.tensor(1.0), torch.tensor(0.2)]],
        "differs from torch already at step 1 (param 1: got 0.3, expected 0.2)",
    ),
    (
        [1.0, 2.0],
        [1.0, 2.0, 3.0],
        "matches torch for steps 1–2, differs at step 3 (your run has 2 steps, torch's has 3)",
    ),
    (
        [{"w": torch.ones(2)}],
        [{"w": torch.ones(3)}],
        "differs from torch already at step 1 (param 'w': shape (2,), expected (3,))",
    ),
    ([{}], [{"b": torch.ones(1)}], "differs from torch already at step 1 (param 'b': missing)"),
    ([torch.tensor(0.30000001)], [torch.tensor(0.3)], None),  # within float32 tolerance
    (
        [torch.tensor(0.3, dtype=torch.float64) + 1e-9],
        [torch.tensor(0.3, dtype=torch.float64)],
        "differs from torch already at step 1 (got 0.300000001, expected 0.3, a difference of 1.0e-09)",
    ),
    ([torch.tensor(0.3, dtype=torch.float64) + 1e-14], [torch.tensor(0.3, dtype=torch.float64)], None),
]


@pytest.mark.parametrize("got, expected, message", MISMATCH_CASES)
def test_first_mismatch(got, expected, message):
    mismatch = ex.first_mismatch(got, expected)
    assert (None if mismatch is None else str(mismatch)) == message


def test_expect_same_steps_adds_the_diagnosis():
    with pytest.raises(ex.Reject) as info:
        ex.expect_same_steps([1.0, 2.0], [1.0, 2.5], diagnose=lambda m: f"look at step {m.step}")
    assert info.value.feedback.message == (
        "matches torch for step 1, differs at step 2 (got 2, expected 2.5): look at step 2"
    )


FORMAT_CASES = [
    (ex.Feedback("correct", "well done.", "03.2"), "✓ 03.2 correct: well done."),
    (ex.Feedback("incorrect", "no.", "03.2"), "✗ 03.2 incorrect: no."),
    (ex.Feedback("error", "boom.", "03.2"), "✗ 03.2 error: boom."),
    (ex.Feedback("not attempted", "fill it in.", "03.2"), "○ 03.2 not attempted yet: fill it in."),
]


@pytest.mark.parametrize("feedback, text", FORMAT_CASES)
def test_feedback_text(feedback, text):
    assert str(feedback) == text


def test_feedback_rejects_unknown_status():
    with pytest.raises(ValueError, match="unknown feedback status 'great'"):
        ex.Feedback("great", "")


PRINT_CASES = [
    # (call, printed text)
    (lambda: ex.check("98.2", 0.5), "✓ 98.2 correct: 0.5 it is.\n"),
    (
        lambda: ex.check("98.2", ...),
        "○ 98.2 not attempted yet: `answer` is still `...`: replace it with your answer, then run this cell again.\n",
    ),
    (lambda: ex.hint("98.1"), 'Hint 1/2 for 98.1 (One SGD step): p - lr * g  (next: hint("98.1", 2))\n'),
    (
        lambda: ex.hint("98.1", 2),
        'Hint 2/2 for 98.1 (One SGD step): return a new tensor  (still stuck? show_solution("98.1"))\n',
    ),
    (lambda: ex.hint("98.1", 3), '98.1 has 2 hint(s): use hint("98.1", n) with n from 1 to 2.\n'),
    (lambda: ex.hint("98.2"), '98.2 has no hints; show_solution("98.2") prints the solution.\n'),
    (
        lambda: ex.hint("98.8"),
        "✗ 98.8 error: there is no exercise 98.8. Lesson 98 has: "
        '"98.1" (One SGD step); "98.2" (A number); "98.3" (Dirty grader); '
        '"98.4" (Buggy grader); "98.5" (Grader that mutates the answer); '
        '"98.6" (An optimizer class); "98.7" (Returns a string).\n',
    ),
    (
        lambda: ex.show_solution("98.1"),
        "# Solution to 98.1: One SGD step\ndef _reference(p, g, lr):\n    return p - lr * g\n",
    ),
    (lambda: ex.show_solution("98.2"), "# Solution to 98.2: A number\nanswer = 0.5\n"),
    (lambda: ex.show_solution("98.3"), "98.3 has no stored solution.\n"),
]


@pytest.mark.parametrize("action, text", PRINT_CASES)
def test_notebook_functions_print_and_return_none(action, text, capsys):
    assert action() is None
    assert capsys.readouterr().out == text


def test_a_broken_lesson_module_is_reported_not_raised(monkeypatch, capsys):
    def broken(name, *args, **kwargs):
        raise SyntaxError("invalid syntax (lesson94.py, line 3)")

    monkeypatch.setattr(_registry.importlib, "import_module", broken)
    assert ex.check("94.1", 1) is None
    assert capsys.readouterr().out == (
        "✗ 94.1 error: the checkers of lesson 94 could not be loaded (SyntaxError: invalid "
        "syntax (lesson94.py, line 3)); please report this.\n"
    )


def test_a_solution_without_source_is_reported_not_raised(monkeypatch, capsys):
    module = types.ModuleType("myoptim_helpers.exercises.lesson93")
    namespace = {}
    exec("def solution(x):\n    return x\n", namespace)
    module.a = ex.exercise("93.1", title="a", solution=namespace["solution"])(lambda x: ex.correct())
    monkeypatch.setitem(sys.modules, module.__name__, module)
    assert ex.show_solution("93.1") is None
    assert capsys.readouterr().out == "93.1 has no stored solution source.\n"


def test_registration_validates_its_arguments():
    with pytest.raises(ValueError, match="is not an exercise key"):
        ex.exercise("3.1", title="x")
    with pytest.raises(TypeError, match="hints must be a list of strings"):
        ex.exercise("03.1", title="x", hints="one string")


def test_a_key_registered_twice_is_reported(monkeypatch):
    module = types.ModuleType("myoptim_helpers.exercises.lesson96")
    module.a = ex.exercise("96.1", title="a")(lambda x: ex.correct())
    module.b = ex.exercise("96.1", title="b")(lambda x: ex.correct())
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with pytest.raises(ValueError, match="registers 96.1 twice"):
        ex.exercises_of("96")


def test_exercises_are_listed_in_numeric_order(monkeypatch):
    module = types.ModuleType("myoptim_helpers.exercises.lesson95")
    module.a = ex.exercise("95.10", title="ten")(lambda x: ex.correct())
    module.b = ex.exercise("95.2", title="two")(lambda x: ex.correct())
    monkeypatch.setitem(sys.modules, module.__name__, module)
    assert list(ex.exercises_of("95")) == ["95.2", "95.10"]


FMT_CASES = [(0.81234, None, "0.8123"), (2.0, 2.5, "2"), (0.300000001, 0.3, "0.300000001"), (1e-7, None, "1e-07")]


@pytest.mark.parametrize("value, other, text", FMT_CASES)
def test_fmt(value, other, text):
    assert ex.fmt(value, other) == text


def test_tolerances_are_the_parity_bar():
    assert ex.tolerance(torch.float64) == (1e-12, 1e-12)
    assert ex.tolerance(torch.float32) == (1e-5, 1e-5)


def test_seeded_restores_the_callers_rng():
    torch.manual_seed(7)
    expected = torch.rand(2)
    torch.manual_seed(7)
    with ex.seeded(0):
        inside = torch.rand(2)
    assert torch.equal(torch.rand(2), expected)
    torch.manual_seed(0)
    assert torch.equal(inside, torch.rand(2))


def test_private_copy_keeps_links():
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model2, opt2 = ex.private_copy(model, opt)
    assert opt2.param_groups[0]["params"][0] is model2.weight
    assert model2.weight is not model.weight


def test_import_is_light():
    code = (
        "import sys, myoptim_helpers.exercises, myoptim_helpers.exercises.lesson00; "
        "print(sorted(m for m in ('matplotlib', 'ipywidgets') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert out.stdout.strip() == "[]"


def test_the_package_exports_every_modules_public_names_once():
    from myoptim_helpers.exercises import _assertions, _calling, _engine, _feedback, _steps, _stubs

    modules = (_registry, _feedback, _stubs, _isolation, _calling, _assertions, _steps, _engine)
    assert len(ex.__all__) == len(set(ex.__all__))
    for module in modules:
        assert module.__doc__, f"{module.__name__} does not say its idea"
        for name in module.__all__:
            assert getattr(ex, name) is getattr(module, name), name


def test_public_names_are_documented():
    for name in ex.__all__:
        obj = getattr(ex, name)
        if callable(obj) and not isinstance(obj, str):
            assert inspect.getdoc(obj), f"{name} has no docstring"


def test_graders_run_with_gradients_even_when_the_notebook_switched_them_off():
    seen = []
    with torch.no_grad():
        with _isolation.preserved_global_state():
            seen.append(torch.is_grad_enabled())
        seen.append(torch.is_grad_enabled())
    assert seen == [True, False]


def test_an_array_of_strings_modified_in_place_is_named_not_a_checker_crash():
    import numpy as np

    names = np.array(["4.weight", "4.bias"])

    def rename(a):
        a[0] = "0.weight"

    with pytest.raises(ex.Reject, match=r"modified its argument `a` in place \(the values of a changed\)"):
        ex.call(rename, names)
    assert ex.call(lambda a: a.tolist(), np.array(["x", "y"])) == ["x", "y"]  # unchanged: no complaint


def test_may_modify_by_position_allows_any_argument_name():
    def step(net, o):  # a learner's own names for model and optimizer
        net.weight.data.add_(1.0)
        o.param_groups[0]["lr"] = 0.5

    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    ex.call(step, model, opt, may_modify=(0, 1))
    with pytest.raises(ex.Reject, match=r"modified its argument `o` in place"):
        ex.call(step, model, opt, may_modify=(0,))
    with pytest.raises(ex.Reject, match=r"modified its argument `net` in place"):
        ex.call(step, model, opt, may_modify=("model", "optimizer"))  # names the learner did not use


@pytest.mark.parametrize(
    "answer",
    [
        1.5,
        3,
        torch.tensor(1.5),
        torch.tensor([1.5]),
        __import__("numpy").float32(1.5),
        __import__("numpy").array([1.5]),
        __import__("numpy").array(1.5),
    ],
)
def test_expect_number_takes_python_torch_and_numpy_numbers(answer):
    assert ex.expect_number(answer, "x") == float(answer if not hasattr(answer, "shape") else answer.reshape(()).item())


def test_expect_number_names_a_numpy_array_of_several_numbers():
    import numpy as np

    with pytest.raises(ex.Reject, match=r"x should be a single number, got an array of shape \(2,\)"):
        ex.expect_number(np.array([1.0, 2.0]), "x")


@pytest.mark.parametrize(
    "answer, message",
    [
        ([1.5], "x should be a number, got a list."),
        ((1.5,), "x should be a number, got a tuple."),
        ({1.5}, "x should be a number, got a set."),
        ({"x": 1.5}, "x should be a number, got a dict."),
        (torch.ones(2), "x should be a single number, got a tensor of shape (2,)."),
        (torch.ones(1, 0), "x should be a single number, got a tensor of shape (1, 0)."),
        (True, "x should be a number, got bool."),
        ("1.5", "x should be a number, got str."),
        (1 + 2j, "x should be a number, got complex."),
        (torch.tensor(1 + 2j), "x should be a number, got complex."),
        (None, "x is None; expected a number."),
        (float("nan"), "x is nan; expected a finite number."),
        (torch.tensor(float("-inf")), "x is -inf; expected a finite number."),
        (10**400, "x is too large to be a useful answer."),
        (
            -2e30,
            "x = -2e+30 is too large to be a useful answer (more than 1e+30 in size; float32 overflows at 3.4e38).",
        ),
    ],
)
def test_expect_number_is_one_policy_that_names_what_is_not_a_number(answer, message):
    with pytest.raises(ex.Reject) as caught:
        ex.expect_number(answer, "x")
    assert caught.value.feedback.message == message


def test_expect_number_can_take_nan_and_inf_where_they_are_answers():
    import math

    assert math.isnan(ex.expect_number(torch.tensor(float("nan")), "x", finite=False))
    assert ex.expect_number(float("-inf"), "x", finite=False) == float("-inf")  # limit bounds finite numbers only
    with pytest.raises(ex.Reject, match=r"x = 2e\+30 is too large"):
        ex.expect_number(2e30, "x", finite=False)
    with pytest.raises(ex.Reject, match=r"x should be a number, got str\."):
        ex.expect_number("nan", "x", finite=False)


def _two(a, b):
    return a + b


def _raises_inside(a, b, c):
    return len(a, b)  # a TypeError from inside: the parameters fit


@pytest.mark.parametrize(
    "fn, called_as, fragment",
    [
        (
            _two,
            "step(a, b, c)",
            "takes 2 positional arguments but 3 were given. The checker calls it as step(a, b, c).",
        ),
        (_two, None, "The checker calls it with 3 positional arguments."),
        (_raises_inside, "step(a, b, c)", "len() takes exactly one argument (2 given) (line"),
    ],
)
def test_a_signature_that_does_not_fit_gets_how_the_checker_calls_it(fn, called_as, fragment):
    with pytest.raises(ex.Reject) as info:
        ex.call(fn, [1], [2], [3], called_as=called_as)
    message = info.value.feedback.message
    assert fragment in message, message
    assert ("The checker calls" in message) == (fn is _two), message
