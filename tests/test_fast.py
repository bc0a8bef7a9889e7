"""The fast training step computes exactly what the plain looped reference computes."""

from __future__ import annotations

import pytest
import torch

from mvae import MVAE, Config
from mvae.fast import TrainStep, make_optimizer, reference_loss
from mvae.objective import mixture_loss

SMALL = dict(latent_dim=5, hidden_dim=24, device="cpu")


def _grads(model: MVAE) -> dict[str, torch.Tensor]:
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("K", [1, 4])
@pytest.mark.parametrize("sampler", ["dirichlet", "gamma"])
@pytest.mark.parametrize("switches", [{}, dict(reconstruction="expected", kl_reduction="mean",
                                               normalize_alpha=True, dirichlet_prior=0.25)])
def test_fast_loss_and_gradients_match_the_looped_reference(K, sampler, switches) -> None:
    config = Config(components=K, weight_sampler=sampler, **SMALL, **switches)
    torch.manual_seed(0)
    model = MVAE(config).double()
    x = torch.rand(32, 1, 28, 28, dtype=torch.float64)

    torch.manual_seed(7)
    fast = mixture_loss(model(x), x, config).loss
    fast.backward()
    fast_grads = _grads(model)
    model.zero_grad()
    torch.manual_seed(7)
    ref = reference_loss(model, x)
    ref.backward()
    ref_grads = _grads(model)

    torch.testing.assert_close(fast, ref, rtol=1e-9, atol=1e-7)
    for name in fast_grads:
        torch.testing.assert_close(fast_grads[name], ref_grads[name], rtol=1e-7, atol=1e-9,
                                   msg=lambda m, n=name: f"{n}: {m}")


def test_train_step_equals_an_eager_step_with_plain_adam() -> None:
    """The fused-Adam device step moves the parameters like the textbook loop does."""
    config = Config(components=3, **SMALL)
    torch.manual_seed(0)
    a, b = MVAE(config), MVAE(config)
    b.load_state_dict(a.state_dict())
    images = torch.rand(64, 1, 28, 28)
    idx = torch.randperm(64)[:32]
    step = TrainStep(a, make_optimizer(a, 1e-3, torch.device("cpu")), images, 32)
    torch.manual_seed(3)
    terms = step(idx)
    opt_b = torch.optim.Adam(b.parameters(), lr=1e-3)
    torch.manual_seed(3)
    x = images[idx]
    loss = mixture_loss(b(x), x, config).loss
    loss.backward()
    opt_b.step()
    torch.testing.assert_close(terms[0], loss.detach())
    for (n, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=lambda m, n=n: f"{n}: {m}")


def test_graph_capture_needs_cuda() -> None:
    model = MVAE(Config(components=2, **SMALL))
    with pytest.raises(ValueError, match="CUDA"):
        TrainStep(model, make_optimizer(model, 1e-3, torch.device("cpu")),
                  torch.rand(8, 1, 28, 28), 4, graph=True)
