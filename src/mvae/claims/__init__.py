"""The paper's claims, each checked against our tables (:mod:`mvae.claims.page` runs every
check and renders the page; :mod:`mvae.claims.verdict` is the claim type and its rule; the other
modules are the checks by subject)."""

from mvae.claims.page import TABLES, markdown, verdicts

__all__ = ["TABLES", "markdown", "verdicts"]
