"""The fast training step computes exactly what the plain looped reference computes."""

from __future__ import annotations

import warnings

import pytest
import torch
from reference_loss import reference_loss

from mvae import MVAE, Config
from mvae.fast import TrainStep, make_optimizer
from mvae.objective import gaussian_kl, mixture_loss

SMALL = dict(latent_dim=5, hidden_dim=24, device="cpu")


def _grads(model: MVAE) -> dict[str, torch.Tensor]:
    return {n: torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()
            for n, p in model.named_parameters()}


@pytest.mark.parametrize("K", [1, 4])
@pytest.mark.parametrize("sampler", ["dirichlet", "gamma"])
@pytest.mark.parametrize("switches", [{}, dict(reconstruction="expected", kl_reduction="mean",
                                               normalize_alpha=True, dirichlet_prior=0.25),
                                      dict(kl_weight=0.25),
                                      dict(dhsic_estimator="authors", beta=3.0)])
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


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_kl_weight_scales_exactly_the_gaussian_kl_gradient(reduction: str) -> None:
    """grad L(g) - grad L(1) = (g - 1) grad KL_gauss, on the same batch and noise (float64); the
    Dirichlet KL, the reconstruction and dHSIC keep their weights."""
    g = 0.3
    torch.manual_seed(0)
    model = MVAE(Config(components=3, kl_reduction=reduction, **SMALL)).double()
    x = torch.rand(16, 1, 28, 28, dtype=torch.float64)
    grads = {}
    for weight in (1.0, g):
        model.zero_grad()
        torch.manual_seed(5)
        mixture_loss(model(x), x, model.config.replace(kl_weight=weight)).loss.backward()
        grads[weight] = _grads(model)
    model.zero_grad()
    torch.manual_seed(5)
    out = model(x)
    kl = gaussian_kl(out.mu, out.var)
    (kl.sum(0) if reduction == "sum" else kl.mean(0)).mean().backward()
    kl_grads = _grads(model)
    for name, kl_grad in kl_grads.items():
        torch.testing.assert_close(grads[g][name] - grads[1.0][name], (g - 1) * kl_grad,
                                   rtol=1e-7, atol=1e-10, msg=lambda m, n=name: f"{n}: {m}")
    assert any(k.abs().max() > 0 for k in kl_grads.values())


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


def test_emulated_bf16_matmul_matches_the_real_bf16_matmul() -> None:
    """The emulation rounds where a bf16 GEMM rounds: it agrees with torch's bf16 kernel to within
    summation order, and differs from float32 by bf16's rounding (so it is not a no-op)."""
    from mvae.networks import bf16_matmul

    torch.manual_seed(0)
    x = torch.randn(3, 16, 64, requires_grad=True)
    w = torch.randn(3, 64, 32, requires_grad=True)
    real = bf16_matmul(x, w)
    real.square().sum().backward()
    real_grads = x.grad.clone(), w.grad.clone()
    x.grad = w.grad = None
    emulated = bf16_matmul(x, w, emulate=True)
    emulated.square().sum().backward()
    assert real.dtype == emulated.dtype == torch.float32
    scale = real.abs().max()
    assert (real - emulated).abs().max() <= 2 ** -7 * scale  # within one or two bf16 ulps
    for a, b in zip(real_grads, (x.grad, w.grad), strict=True):
        assert (a - b).abs().max() <= 2 ** -6 * a.abs().max()
    exact = (x @ w).detach()
    off = ((emulated - exact).abs().max() / scale).item()
    assert 2 ** -12 < off < 2 ** -6, off  # bf16 has 8 significant bits


def test_bf16_without_bf16_hardware_warns(monkeypatch) -> None:
    from mvae.fast import check_precision

    cpu = torch.device("cpu")
    caps = dict(torch.cpu.get_capabilities(), amx_bf16=False, avx512_bf16=False)
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: caps)
    with pytest.warns(RuntimeWarning, match="far slower"):
        check_precision("bf16", cpu)
    caps["amx_bf16"] = True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_precision("bf16", cpu) == "bf16"
        assert check_precision("fp32", cpu) == "fp32"


@pytest.mark.filterwarnings("ignore:precision=bf16:RuntimeWarning")  # slow here, still right
@pytest.mark.parametrize("precision", ["bf16", "bf16-emulated"])
def test_low_precision_step_trains_and_leaves_the_model_in_fp32(precision) -> None:
    """A bf16 step moves the weights about as far as a float32 step does (same seed), and the
    model goes back to float32 afterwards, so evaluation never depends on the hardware."""
    moved = {}
    for p in ("fp32", precision):
        config = Config(components=3, precision=p, **SMALL)
        torch.manual_seed(0)
        model = MVAE(config)
        start = [q.detach().clone() for q in model.parameters()]
        step = TrainStep(model, make_optimizer(model, 1e-3, torch.device("cpu")),
                         torch.rand(64, 1, 28, 28), 32)
        assert step.precision == p
        torch.manual_seed(3)
        terms = step(torch.arange(32))
        assert torch.isfinite(terms).all()
        moved[p] = torch.cat([(q.detach() - s).flatten()
                              for q, s in zip(model.parameters(), start, strict=True)])
        assert all(m.precision == "fp32" for m in model.modules() if hasattr(m, "precision"))
    # Adam's first step moves each weight by about lr * sign(grad): bf16 flips few signs.
    agree = (moved["fp32"].sign() == moved[precision].sign()).float().mean()
    assert agree > 0.9, agree
    assert not torch.equal(moved["fp32"], moved[precision])


def test_conv_model_runs_in_bf16_and_returns_float32() -> None:
    config = Config(dataset="cifar10", components=2, latent_dim=8, conv_channels=[4, 4, 8, 8, 8],
                    device="cpu")
    torch.manual_seed(0)
    model = MVAE(config)
    x = torch.rand(4, 3, 32, 32)
    torch.manual_seed(0)
    reference = model(x).decoded
    model.set_precision("bf16")
    torch.manual_seed(0)
    out = model(x).decoded
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, reference, rtol=0.1, atol=0.1)


def test_binarized_training_sees_fresh_binary_batches() -> None:
    config = Config(components=2, binarize=True, **SMALL)
    torch.manual_seed(0)
    model = MVAE(config)
    seen = []
    model.register_forward_pre_hook(lambda _m, args: seen.append(args[0].clone()))
    step = TrainStep(model, make_optimizer(model, 1e-3, torch.device("cpu")),
                     torch.full((16, 1, 28, 28), 0.5), 16)
    step(torch.arange(16))
    step(torch.arange(16))
    assert all(set(x.unique().tolist()) == {0.0, 1.0} for x in seen)
    assert not torch.equal(seen[0], seen[1])  # dynamic: a new draw every step


def test_binarize_needs_bernoulli_pixels() -> None:
    from mvae.config import ConfigError

    with pytest.raises(ConfigError, match="binarize"):
        Config(dataset="cifar10", binarize=True).validate()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("switches", [{}, dict(binarize=True, normalize_alpha=True,
                                               dirichlet_prior=0.25, kl_reduction="mean"),
                                      dict(weight_sampler="gamma", beta=100.0),
                                      dict(dhsic_estimator="authors", beta=100.0)])
def test_cuda_graph_steps_train_like_eager_steps_on_the_gpu(switches) -> None:
    """On a GPU the captured step (the training default there) starts from the untouched model
    (warm-up undone) and, on the same batches, ends where eager steps end: the two differ only in
    their random draws, so their test losses agree to a few percent, and both fall."""
    from mvae.train import evaluate_loss

    cuda = torch.device("cuda")
    config = Config(components=3, latent_dim=5, hidden_dim=64, device="cuda", **switches)
    torch.manual_seed(0)
    images = (torch.rand(512, 1, 28, 28, device=cuda) < 0.2).float()
    batches = [torch.randperm(512, device=cuda)[:64] for _ in range(300)]
    losses = {}
    for graph in (True, False):
        torch.manual_seed(1)
        model = MVAE(config).to(cuda)
        start = {k: v.clone() for k, v in model.state_dict().items()}
        step = TrainStep(model, make_optimizer(model, 1e-3, cuda), images, 64, graph=graph)
        first = step(batches[0])
        assert (step._graph is not None) == graph
        for idx in batches[1:]:
            step(idx)
        assert torch.isfinite(first).all()
        assert any(not torch.equal(v, model.state_dict()[k]) for k, v in start.items())
        losses[graph] = evaluate_loss(model, images, 256)["loss"]
        start_loss = evaluate_loss(MVAE(config).to(cuda).requires_grad_(False), images, 256)
        assert losses[graph] < 0.8 * start_loss["loss"]
    assert abs(losses[True] - losses[False]) < 0.03 * losses[False], losses
