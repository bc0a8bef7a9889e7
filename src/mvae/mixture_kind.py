"""Is a trained M-VAE a mixture, a blend, one component doing the work, or collapsed?

Decided from the diagnostics that :func:`mvae.evaluate.mixture_diagnostics` stores (no model
needed), so the tables can apply the current rule to committed records written under an older
one: a verdict is a reading of the numbers, and the numbers are what the runs produced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Images whose dominant component is the most common one, for "one component".
ONE_COMPONENT_SHARE = 0.9
#: How much worse than the mixture a dominant component alone may reconstruct: "one component"
#: must do (almost) all the work, a mixture's chosen component most of it.
ONE_COMPONENT_RATIO = 1.25
MIXTURE_RATIO = 1.5
#: Mean largest weight above which images are said to choose a component.
CHOICE_SHARE = 0.5
#: "collapsed" also needs the mixture's SSE to be at least this fraction of the mean image's
#: (when known): a model can shrink its codes below the active-dimension threshold and still
#: carry the image in them (the authors' settings at beta = 1e4 after a warm-up did so in C1).
COLLAPSE_SSE_FRACTION = 0.9


def mixture_kind(diagnostics: Mapping[str, Any]) -> str:
    """``"single"`` (K = 1); ``"collapsed"`` when no component has an active latent dimension
    (every code ignores the image, so every output is one fixed image) and, where the
    diagnostics hold ``mean_image_sse``, the mixture's SSE is at least 90% of it (codes that
    only look constant, yet carry the image, are read by the rules below); ``"one component"`` when
    images give most weight to a component (mean largest E[w] > 0.5), >= 90% of them to the same
    one, and it alone is within 25% of the mixture's SSE; ``"mixture"`` when images give most
    weight to a component that alone is within 50% of the mixture's SSE; else ``"blend"``.
    Without the fields it needs, the stored verdict (or "") is returned unchanged."""
    needed = ("components", "active_dims", "dominant_share", "top_component_share",
              "dominant_sse", "mixture_sse")
    if not all(key in diagnostics for key in needed):
        return str(diagnostics.get("verdict", ""))
    if diagnostics["components"] == 1:
        return "single"
    baseline = diagnostics.get("mean_image_sse")
    if not any(diagnostics["active_dims"]) and (
            baseline is None or diagnostics["mixture_sse"] >= COLLAPSE_SSE_FRACTION * baseline):
        return "collapsed"
    ratio = diagnostics["dominant_sse"] / max(diagnostics["mixture_sse"], 1e-12)
    chosen = diagnostics["dominant_share"] > CHOICE_SHARE
    if chosen and diagnostics["top_component_share"] >= ONE_COMPONENT_SHARE \
            and ratio <= ONE_COMPONENT_RATIO:
        return "one component"
    if chosen and ratio <= MIXTURE_RATIO:
        return "mixture"
    return "blend"
