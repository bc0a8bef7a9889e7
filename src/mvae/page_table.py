"""A results table as the book shows it (:class:`Table`): short headers with their units,
whole numbers without decimals, probe accuracies in percent, and the CSV it shows named in the
``<table>``, so that ``scripts/check_book.py`` can tell a table that lost rows of its CSV.
:mod:`mvae.reporting` gives the chapters these names."""

from __future__ import annotations

import contextlib
import hashlib
import html
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from mvae.presets import PROBE_CLASSIFIERS
from mvae.results_files import current_preset, repo_root, results_dir

#: Column headers of the results tables as the book shows them (short, with their unit); the
#: CSV's own name stays in each header's tooltip. Columns not listed keep their name.
LABELS = {
    "sse_per_image": "SSE / image", "sse_std": "SSE sd", "sse_sampled": "SSE, sampled",
    "sse_mean": "SSE / image", "sse_sd": "SSE sd", "mse_per_pixel": "MSE / pixel",
    "best_component_sse": "best component SSE", "worst_component_sse": "worst component SSE",
    "dominant_sse": "dominant component SSE", "mean_image_sse": "mean-image SSE",
    "paper_sse_per_image": "paper SSE / image", "paper_setup": "paper setup",
    "latent_dim": "d", "n_test": "test images", "parameters": "parameters",
    "mean_offdiag_cka": "mean CKA", "knn_concatenated": "KNN (%)",
    "mlp_concatenated": "MLP (%)", "linear_svm_concatenated": "linear SVM (%)",
    "knn_mean_component": "KNN, one component (%)", "concentration_sum": "concentration sum",
    "active_dims": "active dims", "beta_warmup": "beta warm-up",
    "dhsic_independent": "dhsic shuffled", "dhsic_ceiling": "dhsic identical",
    "penalty_dhsic": "penalty dhsic", "penalty_independent": "penalty shuffled",
    "penalty_ceiling": "penalty identical", "effective_kl_weight": "KL weight",
    "rate_gauss": "Gaussian KL", "rate_total": "total KL", "vae_sse_at_rate": "VAE SSE at rate",
    "vae_sse_at_rate_se": "its SE",
    "vae_kl_weight": "VAE KL weight", "vae_n_seeds": "VAE seeds", "vae_sse_mean": "VAE SSE",
    "n_seeds": "seeds", "kl_dirichlet": "Dirichlet KL", "neg_elbo": "-ELBO",
    "sampled_minus_deterministic_percent": "sampled - mean (%)",
}
#: Each probe classifier as the book names it.
PROBE_NAMES = dict(zip(PROBE_CLASSIFIERS, ("MLP", "linear SVM", "KNN"), strict=True))
#: Columns holding fractions of one that the book shows as percentages (probe accuracies).
PERCENT_PREFIXES = PROBE_CLASSIFIERS


def _is_fraction_column(name: str, values: pd.Series) -> bool:
    numeric = pd.to_numeric(values, errors="coerce").dropna()
    return (name.startswith(PERCENT_PREFIXES)
            and not name.endswith(("_n_seeds", "percent", "_not_converged"))
            and len(numeric) > 0 and numeric.abs().max() <= 1.0)


def _is_whole_column(values: pd.Series) -> bool:
    """Numbers that are all whole (K, seeds, epochs, image counts), shown without decimals."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    numeric = values.dropna()
    return len(numeric) > 0 and bool(((numeric % 1) == 0).all())


def _cell(value: Any, whole: bool, precision: int, na: str) -> tuple[str, bool]:
    """(text, is a number) of one cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return na, False
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no"), False
    if isinstance(value, int | np.integer) or (whole and isinstance(value, float | np.floating)):
        return f"{int(value):,}", True
    if isinstance(value, float | np.floating):
        return f"{value:,.{precision}f}", True
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value), False
    return str(value), False


def _is_number(value: Any) -> bool:
    """A cell the book right-aligns: a number, not a boolean."""
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


class Table:
    """A results table as the book shows it: short headers (:data:`LABELS`, the CSV's column
    name in each header's tooltip), whole numbers without decimals, probe accuracies in percent,
    numbers right-aligned (class ``num``), no index. With ``source`` the ``<table>`` names the
    CSV it shows (``data-csv``, and ``data-csv-key``/``data-csv-where`` when it shows one row per
    distinct ``key`` among the CSV rows where ``where`` is set), so ``scripts/check_book.py`` can
    fail a page whose table lost rows of its CSV.

    The markup is pandas' :class:`~pandas.io.formats.style.Styler` (:attr:`styler`): a formatter
    per column, ``na`` for missing values, the index hidden, the cell classes that
    ``book/_static/custom.css`` aligns by."""

    def __init__(self, frame: pd.DataFrame, precision: int = 2, *, source: str | None = None,
                 preset: str | None = None, key: str | None = None, where: str | None = None,
                 caption: str = "", labels: Mapping[str, str] | None = None,
                 percent: Iterable[str] | None = None, precisions: Mapping[str, int] | None = None,
                 na: str = "–") -> None:
        named = any(n is not None for n in frame.index.names)  # a pivot's rows: a column
        self.frame = frame.reset_index() if named else frame.reset_index(drop=True)
        self.precision, self.caption, self.na = precision, caption, na
        self.labels = {**LABELS, **(labels or {})}
        self.precisions = dict(precisions or {})
        self.percent = set(percent) if percent is not None else {
            c for c in self.frame.columns if _is_fraction_column(str(c), self.frame[c])}
        self.attributes: dict[str, str] = {}
        if source is not None:
            preset = preset or current_preset()
            csv = results_dir(preset) / "tables" / f"{source}.csv"
            with contextlib.suppress(ValueError):
                csv = csv.relative_to(repo_root())
            self.attributes["data-csv"] = csv.as_posix()
            if key:
                self.attributes["data-csv-key"] = key
            if where:
                self.attributes["data-csv-where"] = where

    def _label(self, column: Any) -> str:
        """The header of ``column`` (HTML): its short label, the CSV's name as the tooltip."""
        name = str(column)
        per_component = re.fullmatch(r"(knn|mlp|linear_svm)_(C\d+)", name)
        capped = re.fullmatch(r"(knn|mlp|linear_svm)_not_converged", name)
        label = self.labels.get(name, f"{PROBE_NAMES[per_component.group(1)]}, "
                                f"{per_component.group(2)}" if per_component else
                                f"{PROBE_NAMES[capped.group(1)]} hit its cap" if capped else name)
        if name in self.percent and "%" not in label:
            label += " (%)"
        return (f'<span title="{html.escape(name)}">{html.escape(label)}</span>' if label != name
                else html.escape(label))

    def _formatter(self, column: Any) -> Callable[[Any], str]:
        """The text (HTML) of a cell of ``column``; missing values are the Styler's ``na_rep``."""
        percent = column in self.percent
        whole = _is_whole_column(self.frame[column]) and not percent
        digits = self.precisions.get(column, min(self.precision, 2) if percent else self.precision)

        def text(value: Any) -> str:
            if percent and _is_number(value):
                value = 100 * float(value)
            return html.escape(_cell(value, whole, digits, self.na)[0])

        return text

    def _classes(self) -> pd.DataFrame:
        """Each cell's class: ``num`` for a number (and a missing one in a numeric column),
        ``run`` for a run's name; what the book's stylesheet aligns by."""
        frame = self.frame
        classes = pd.DataFrame("", index=frame.index, columns=frame.columns)
        for column in frame.columns:
            values = frame[column]
            numeric = pd.api.types.is_numeric_dtype(values) and \
                not pd.api.types.is_bool_dtype(values)
            number = (values.map(_is_number) & values.notna()) | (values.isna() & numeric)
            classes[column] = np.where(number, "num", "run" if column == "run" else "")
        return classes

    @property
    def styler(self) -> Any:
        """The table as a pandas Styler (what :meth:`to_html` renders)."""
        from pandas.io.formats.style import Styler  # needs jinja2 (the book's extra)

        frame = self.frame
        attrs = "".join(f' {k}="{html.escape(v)}"' for k, v in self.attributes.items())
        digest = hashlib.sha256((frame.to_csv() + self.caption + attrs).encode()).hexdigest()
        styler = (Styler(frame, uuid=digest[:8], cell_ids=False, na_rep=self.na)
                  .format({c: self._formatter(c) for c in frame.columns}, na_rep=self.na)
                  .format_index(self._label, axis=1)
                  .hide(axis="index")
                  .set_td_classes(self._classes())
                  .set_table_attributes(f'class="mvae-table"{attrs}'))
        return styler.set_caption(html.escape(self.caption)) if self.caption else styler

    def to_html(self) -> str:
        """The table's HTML (one ``<table>``, after the Styler's empty ``<style>``)."""
        return self.styler.to_html()

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)


def format_table(frame: pd.DataFrame, precision: int = 2, **options: Any) -> Table:
    """``frame`` as a :class:`Table` (see there for ``source``, ``key``, ``where``, ``caption``,
    ``labels``, ``percent`` and ``precisions``)."""
    return Table(frame, precision, **options)
