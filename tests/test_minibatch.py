"""myoptim_helpers.minibatch: sweeps equal separate fits, the range test equals torch-lr-finder,
the measured gradient noise follows the exact formula, bad input gets a clear message.

The references are independent of the code under test: `training.fit` (one model at a time,
no batched forward pass), the `torch-lr-finder` package (test-only dependency, pinned in
requirements.txt), and per-example gradients from `torch.func`.
"""

import copy
import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from myoptim_helpers import minibatch, problems, training

torch_lr_finder = pytest.importorskip("torch_lr_finder")


@pytest.fixture(scope="module")
def data():
    return problems.digits()


def small_data(n_train=90, n_val=30, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_train + n_val, 6, generator=g, dtype=dtype)
    y = (x[:, :3].sum(1) > 0).long() + (x[:, 3] > 0.5).long()
    return problems.SplitDataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def small_model():
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).double()


# ----------------------------------------------------------------------------- lr_sweep


@pytest.mark.parametrize(
    "optimizer, kwargs",
    [
        (torch.optim.SGD, {"momentum": 0.9}),
        (torch.optim.Adam, {"betas": (0.8, 0.99)}),
        (torch.optim.AdamW, {"weight_decay": 0.1}),
    ],
)
@pytest.mark.parametrize("batch_size", [7, 32, 200])
def test_each_row_of_a_sweep_is_the_run_a_separate_fit_gives(optimizer, kwargs, batch_size):
    data = small_data()
    lrs = [0.003, 0.03, 0.3]
    sweep = minibatch.lr_sweep(small_model, optimizer, data, lrs, 3, batch_size=batch_size, seed=4, **kwargs)
    assert sweep.step_losses.shape == (3, 3 * math.ceil(90 / batch_size))
    for i, lr in enumerate(lrs):
        fit = training.fit(
            small_model, optimizer, data, 3, batch_size=batch_size, seed=4, lr=lr, progress=False, **kwargs
        )
        torch.testing.assert_close(sweep.step_losses[i], fit.step_losses, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(sweep.train_losses[i], fit.train_losses, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(sweep.val_losses[i], fit.val_losses, rtol=1e-10, atol=1e-12)
        correct = (fit.model(data.x_val).argmax(1) == data.y_val).double().mean()
        assert sweep.final_val_accuracy[i].item() == pytest.approx(correct.item(), abs=1e-12)


def test_a_model_that_cannot_be_stacked_is_run_copy_by_copy_with_the_same_result():
    class Net(nn.Module):  # not a Sequential: the generic path
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(6, 5).double(), nn.Linear(5, 3).double()

        def forward(self, x):
            return self.b(torch.relu(self.a(x)))

    data = small_data()
    sweep = minibatch.lr_sweep(Net, torch.optim.SGD, data, [0.05, 0.5], 2, batch_size=16)
    fit = training.fit(Net, torch.optim.SGD, data, 2, batch_size=16, lr=0.5, progress=False)
    torch.testing.assert_close(sweep.step_losses[1], fit.step_losses, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("last", [nn.LogSoftmax(dim=1), nn.Softmax(dim=1)], ids=["LogSoftmax", "Softmax"])
def test_a_layer_that_looks_along_a_dimension_is_not_stacked(last):
    # on the stacked (copies, rows, features) tensor dim=1 would be the rows: run copy by copy
    def net():
        return nn.Sequential(nn.Linear(6, 3), last).double()

    data = small_data()
    loss = lambda out, y: nn.functional.nll_loss(out.clamp_min(1e-12).log() if isinstance(last, nn.Softmax) else out, y)  # noqa: E731
    sweep = minibatch.lr_sweep(net, torch.optim.SGD, data, [0.05, 0.5], 2, batch_size=16, loss_fn=loss)
    fit = training.fit(net, torch.optim.SGD, data, 2, batch_size=16, lr=0.5, loss_fn=loss, progress=False)
    torch.testing.assert_close(sweep.step_losses[1], fit.step_losses, rtol=1e-10, atol=1e-12)


def test_a_sweep_with_a_per_copy_schedule_follows_each_copys_lambda():
    data = small_data()

    def sched(opt):
        return torch.optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0, lambda e: 0.5**e])

    sweep = minibatch.lr_sweep(small_model, torch.optim.SGD, data, [0.2, 0.2], 3, batch_size=30, scheduler=sched)
    fit = training.fit(
        small_model,
        torch.optim.SGD,
        data,
        3,
        batch_size=30,
        lr=0.2,
        progress=False,
        scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5**e),
    )
    torch.testing.assert_close(sweep.step_losses[1], fit.step_losses, rtol=1e-10, atol=1e-12)
    assert not torch.allclose(sweep.step_losses[0], sweep.step_losses[1])


def test_a_diverged_copy_is_marked_and_does_not_disturb_the_others():
    data = small_data()

    def relu():
        return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).double()

    sweep = minibatch.lr_sweep(relu, torch.optim.SGD, data, [0.05, 1e300], 3, batch_size=30)
    fit = training.fit(relu, torch.optim.SGD, data, 3, batch_size=30, lr=0.05, progress=False)
    assert sweep.diverged_at[0] is None and sweep.diverged_at[1] is not None
    assert torch.isnan(sweep.final_val_accuracy[1]) and torch.isnan(sweep.step_losses[1, -1])
    torch.testing.assert_close(sweep.step_losses[0], fit.step_losses, rtol=1e-10, atol=1e-12)
    assert sweep.best() == 0 and sweep.best_lr() == 0.05


def test_best_and_good_band_read_the_table():
    acc = torch.tensor([[0, 0.5], [0, 0.9], [0, 0.93], [0, 0.95], [0, 0.2], [0, 0.94]], dtype=torch.float64)
    sweep = minibatch.Sweep(
        lrs=torch.tensor([1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0], dtype=torch.float64),
        step_losses=torch.zeros(6, 1),
        train_losses=torch.zeros(6, 2),
        val_losses=torch.zeros(6, 2),
        val_accuracy=acc,
        diverged_at=(None,) * 6,
        batch_size=8,
        label="x",
        optimizer="SGD",
        hyperparameters={},
    )
    assert sweep.best() == 3 and sweep.best_lr() == 1.0
    assert sweep.good_band(0.05) == (0.01, 1.0)  # contiguous: the lone 100 is not in it
    assert sweep.band_decades(0.05) == pytest.approx(2.0)
    assert sweep.good_band(0.0) == (1.0, 1.0)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"lrs": []}, TypeError, "non-empty sequence"),
        ({"lrs": [0.1, -1.0]}, ValueError, "Invalid learning rate"),
        ({"lr": 0.1}, TypeError, "do not pass lr="),
        ({"batch_size": 0}, ValueError, "batch_size must be at least 1"),
        ({"epochs": 0}, ValueError, "epochs must be at least 1"),
        ({"seed": 1.5}, TypeError, "seed must be an int"),
    ],
)
def test_lr_sweep_rejects_bad_input_clearly(kwargs, error, message):
    args = {"lrs": [0.1], "epochs": 1, "batch_size": 8}
    args.update(kwargs)
    lrs, epochs = args.pop("lrs"), args.pop("epochs")
    with pytest.raises(error, match=message):
        minibatch.lr_sweep(small_model, torch.optim.SGD, small_data(), lrs, epochs, **args)


def test_lr_sweep_needs_validation_data():
    data = small_data()
    with pytest.raises(ValueError, match="needs validation data"):
        minibatch.lr_sweep(small_model, torch.optim.SGD, data[:2], [0.1], 1, batch_size=8)


# ----------------------------------------------------------------------------- the range test


class _Loader(torch_lr_finder.TrainDataLoaderIter):
    """torch-lr-finder over a plain shuffled DataLoader (its own batching, not ours)."""


def _reference(model, optimizer, data, batch_size, seed, **kwargs):
    """torch-lr-finder 0.2.2's range test and steepest-gradient suggestion on the same model, data and seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dataset = torch.utils.data.TensorDataset(data[0], data[1])
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    finder = torch_lr_finder.LRFinder(model, optimizer, nn.CrossEntropyLoss())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        finder.range_test(loader, **kwargs)
        fig, ax = plt.subplots()
        _, suggestion = finder.plot(ax=ax, suggest_lr=True)
        plt.close(fig)
    finder.reset()
    return finder.history, suggestion


@pytest.mark.parametrize(
    "optimizer, kwargs, settings",
    [
        (torch.optim.SGD, {"lr": 1e-4, "momentum": 0.9}, {"end_lr": 10.0, "num_iter": 100}),
        (torch.optim.Adam, {"lr": 1e-6}, {"end_lr": 1.0, "num_iter": 60, "smooth_f": 0.2}),
        (torch.optim.SGD, {"lr": 1e-3}, {"end_lr": 1e4, "num_iter": 80, "diverge_th": 3}),  # stops early
    ],
)
def test_the_range_test_matches_torch_lr_finder_step_for_step(data, optimizer, kwargs, settings, capsys):
    torch.manual_seed(3)
    model = problems.digits_mlp()
    reference_model = copy.deepcopy(model)
    history, suggestion = _reference(
        reference_model,
        optimizer(reference_model.parameters(), **kwargs),
        data,
        32,
        seed=5,
        start_lr=kwargs["lr"],
        **settings,
    )
    capsys.readouterr()  # torch-lr-finder prints; ours does not
    test = minibatch.lr_range_test(
        model, optimizer(model.parameters(), **kwargs), data, batch_size=32, seed=5, start_lr=kwargs["lr"], **settings
    )
    assert capsys.readouterr().out == ""
    assert len(test) == len(history["lr"])
    np.testing.assert_allclose(test.lrs.numpy(), history["lr"], rtol=1e-12)
    np.testing.assert_allclose(test.smoothed.numpy(), history["loss"], rtol=1e-10)
    assert test.steepest == pytest.approx(suggestion, rel=1e-12)
    assert test.minimum_over_10 == pytest.approx(history["lr"][int(np.argmin(history["loss"]))] / 10, rel=1e-12)
    assert test.diverged == (len(history["lr"]) < settings["num_iter"])
    if "diverge_th" in settings:
        assert test.diverged


def test_the_range_test_puts_model_and_optimizer_back(data):
    torch.manual_seed(0)
    model = problems.digits_mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def training_step():
        return (
            optimizer.zero_grad(),
            nn.functional.cross_entropy(model(data.x_train[:50]), data.y_train[:50]).backward(),
            optimizer.step(),
        )

    training_step()  # some optimizer state to keep
    weights = copy.deepcopy(model.state_dict())
    state = copy.deepcopy(optimizer.state_dict())
    model.eval()
    test = minibatch.lr_range_test(model, optimizer, data, batch_size=64, start_lr=1e-5, end_lr=10.0, num_iter=40)
    assert len(test) > 0 and not model.training
    for name, value in model.state_dict().items():
        assert torch.equal(value, weights[name]), name
    after = optimizer.state_dict()
    assert after["param_groups"] == state["param_groups"]
    for key, entry in state["state"].items():
        for name, value in entry.items():
            assert torch.equal(after["state"][key][name], value), (key, name)


def test_the_range_test_stops_on_a_loss_that_overflows_which_torch_lr_finder_does_not(data):
    torch.manual_seed(0)
    model = problems.digits_mlp()

    def square(output, target):
        return (output**2).mean()  # unbounded: a large lr overflows it to inf

    test = minibatch.lr_range_test(
        model,
        torch.optim.SGD(model.parameters(), lr=1.0),
        data,
        batch_size=32,
        start_lr=1.0,
        end_lr=1e6,
        num_iter=100,
        diverge_th=1e300,
        loss_fn=square,
    )
    assert test.diverged and not math.isfinite(test.smoothed[-1]) and len(test) < 100


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"end_lr": 1e-6}, ValueError, "end_lr must be larger than start_lr"),
        ({"num_iter": 1}, ValueError, "num_iter must be at least 2"),
        ({"smooth_f": 1.0}, ValueError, r"smooth_f must be in \[0, 1\)"),
        ({"diverge_th": 1.0}, ValueError, "diverge_th must be a number larger than 1"),
        ({"skip_start": -1}, ValueError, "skip_start must be a non-negative int"),
        ({"num_iter": 10}, ValueError, "too few to suggest a learning rate"),
    ],
)
def test_the_range_test_rejects_bad_settings_clearly(data, kwargs, error, message):
    model = problems.digits_mlp()
    with pytest.raises(error, match=message):
        minibatch.lr_range_test(
            model, torch.optim.SGD(model.parameters(), lr=0.1), data, batch_size=32, **{"start_lr": 1e-5, **kwargs}
        )


# ----------------------------------------------------------------------------- gradient noise


def test_per_example_gradients_match_torch_func(data):
    from torch.func import functional_call, grad, vmap

    torch.manual_seed(1)
    model = problems.digits_mlp()
    x, y = data.x_train[:100], data.y_train[:100]
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss(p, xi, yi):
        return nn.functional.cross_entropy(functional_call(model, p, (xi[None],)), yi[None])

    expected = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    expected = torch.cat([g.reshape(100, -1) for g in expected.values()], dim=1)
    got = minibatch._per_example_gradients(model, nn.functional.cross_entropy, x, y)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-14)
    assert all(p.grad is None for p in model.parameters())


def test_gradient_noise_follows_the_without_replacement_formula(data):
    torch.manual_seed(2)
    model = problems.digits_mlp()
    before = copy.deepcopy(model.state_dict())
    noise = minibatch.gradient_noise(model, data, [1, 4, 64, 700, 1437], epochs=8)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    ratio = noise.variance / noise.expected()
    assert ratio[0].item() == pytest.approx(1.0, rel=1e-12)  # B = 1: every example once per epoch
    assert torch.all((ratio[1:4] > 0.7) & (ratio[1:4] < 1.3)), ratio
    assert noise.variance[-1].item() < 1e-20  # B = N: the full gradient itself
    assert noise.expected(with_replacement=True)[2].item() == pytest.approx(noise.per_example_variance / 64)


def test_gradient_noise_rejects_a_batch_larger_than_the_data(data):
    with pytest.raises(ValueError, match="larger than the 1437 training examples"):
        minibatch.gradient_noise(problems.digits_mlp(), data, [2000])


def test_accuracy_restores_the_training_mode(data):
    model = problems.digits_mlp()
    value = minibatch.accuracy(model, data.x_val, data.y_val)
    assert 0 <= value <= 1 and model.training
