"""The fast training step, and the plain reference it must agree with.

On a CPU the step is bound by arithmetic (the matmuls). What helps there:

* bfloat16 matmuls (``precision="bf16"``) where the CPU has bf16 units (AMX, AVX512-BF16). A
  switch, not the default: it costs reconstruction quality (see :mod:`mvae.config`), and
  without such units a bf16 GEMM is emulated and far *slower* than float32;
* no work outside the matmuls that need not be done: gradients are released rather than zeroed
  (``set_to_none``), the dHSIC bandwidth uses a selection instead of a sort, the Bernoulli
  likelihood evaluates one log-sigmoid instead of two.

A small M-VAE step on a GPU is bound by Python and kernel-launch overhead, not arithmetic.
:class:`TrainStep` removes the overhead in layers, each optional so that it can be measured
(``benchmarks/README.md`` has the figures):

1. the data stays on the device and batches are gathered there (no DataLoader, no host copy);
2. Adam runs as one fused kernel (``fused=True``), ``capturable`` on CUDA;
3. on CUDA (unless ``MVAE_CUDA_GRAPH=0``), the whole step (gather, forward, loss, backward,
   Adam) is captured once into a CUDA graph and replayed: one launch per step instead of
   hundreds. Capture needs a step with no host synchronisation: every distribution is built with
   ``validate_args=False`` (validation reads tensors back to the host), the dHSIC bandwidth
   avoids data-dependent shapes (the authors' estimator's is a Python constant of the latent
   size, ``dhsic_estimator: authors``), dHSIC multiplies instead of calling ``Tensor.prod`` (whose
   backward synchronises), the non-finite check accumulates on the device, and the Dirichlet
   draw uses the graph-safe Gamma sampler.

The slow, obviously-correct version (one Python loop over components) lives with the tests
(``tests/reference_loss.py``); they check that both give the same loss and gradients on the same
batch and noise.
"""

from __future__ import annotations

import os
import warnings

import torch
from torch import Tensor

from mvae.config import Config
from mvae.model import MVAE
from mvae.objective import mixture_loss


class TrainStep:
    """One optimisation step on a device-resident dataset, optionally as a CUDA graph.

    ``step(indices)`` gathers ``images[indices]``, runs forward, loss, backward and Adam, and
    returns the (5,) tensor of loss terms *without* synchronising with the host.
    """

    def __init__(self, model: MVAE, optimizer: torch.optim.Optimizer, images: Tensor,
                 batch_size: int, *, graph: bool | None = None,
                 precision: str | None = None) -> None:
        self.model, self.optimizer, self.images = model, optimizer, images
        self.config: Config = model.config
        device = images.device
        self.precision = check_precision(precision or self.config.precision, device)
        if graph is None:
            # On by default on CUDA: the captured step trains like the eager one (checked on a
            # GPU by tests/test_fast.py); $MVAE_CUDA_GRAPH=0 turns it off, e.g. to profile.
            graph = device.type == "cuda" and os.environ.get("MVAE_CUDA_GRAPH", "1") != "0"
        self.use_graph = graph
        if self.use_graph and device.type != "cuda":
            raise ValueError("CUDA graph capture needs a CUDA device")
        self.static_idx = torch.zeros(batch_size, dtype=torch.long, device=device)
        self._graph: torch.cuda.CUDAGraph | None = None
        self._static_terms: Tensor | None = None

    def _eager(self, idx: Tensor) -> Tensor:
        x = self.images.index_select(0, idx)
        if self.config.binarize:  # dynamic binarisation: a fresh Bernoulli draw every step
            x = torch.bernoulli(x)
        self.model.set_precision(self.precision)
        try:
            terms = mixture_loss(self.model(x), x, self.config)
        finally:
            self.model.set_precision("fp32")
        # A graph needs the .grad buffers at fixed addresses (zeroed, not released); eager steps
        # release them, which saves a pass over every gradient.
        self.optimizer.zero_grad(set_to_none=not self.use_graph)
        terms.loss.backward()
        self.optimizer.step()
        return terms.stacked()

    def use_config(self, config: Config) -> None:
        """Train the next steps with ``config`` (a warm-up's dHSIC weight, which changes by the
        epoch); a captured graph holds the old one, so it is captured again."""
        if config != self.config:
            self.config, self._graph = config, None

    def _state_tensors(self) -> list[Tensor]:
        """Everything a step mutates: parameters, buffers (BatchNorm statistics), Adam state."""
        tensors = [*self.model.parameters(), *self.model.buffers()]
        for state in self.optimizer.state.values():
            tensors.extend(v for v in state.values() if isinstance(v, Tensor))
        return tensors

    def _capture(self) -> None:
        """Warm up on a side stream (allocating grads and Adam state), capture one step, then put
        the model and optimiser back exactly as they were: warm-up must not count as training."""
        before = [t.detach().clone() for t in self._state_tensors()]
        had_state = bool(self.optimizer.state)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                self._eager(self.static_idx)
        torch.cuda.current_stream().wait_stream(stream)
        self._graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self._graph):  # recorded, not executed
            self._static_terms = self._eager(self.static_idx)
        with torch.no_grad():
            now = self._state_tensors()
            if had_state:
                for t, old in zip(now, before, strict=True):
                    t.copy_(old)
            else:  # fresh Adam: zero moments and step count are the same as no state at all
                n = len(before)
                for t, old in zip(now[:n], before, strict=True):
                    t.copy_(old)
                for t in now[n:]:
                    t.zero_()

    def __call__(self, idx: Tensor) -> Tensor:
        if not self.use_graph:
            return self._eager(idx)
        if len(idx) != len(self.static_idx):
            raise ValueError(f"a captured step takes batches of {len(self.static_idx)} indices")
        if self._graph is None:
            self._capture()
        self.static_idx.copy_(idx)
        self._graph.replay()
        return self._static_terms.clone()


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bf16 matrices in hardware (CPU: AMX or AVX512-BF16)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    caps = torch.cpu.get_capabilities()
    return bool(caps.get("amx_bf16") or caps.get("avx512_bf16"))


def check_precision(precision: str, device: torch.device) -> str:
    """Warn when bf16 is asked for on a device that would run it far slower than float32."""
    if precision == "bf16" and not native_bf16(device):
        warnings.warn(f"precision=bf16 on {device} without bf16 matmul units: each bf16 GEMM "
                      "is emulated and far slower than float32; use precision=fp32 (or "
                      "bf16-emulated to study bf16's numerics)", RuntimeWarning, stacklevel=3)
    return precision


def make_optimizer(model: MVAE, lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam as one fused kernel where supported; capturable on CUDA (its step count stays on the
    device so that a CUDA graph can replay it)."""
    cuda = device.type == "cuda"
    return torch.optim.Adam(model.parameters(), lr=lr, fused=True, capturable=cuda)
