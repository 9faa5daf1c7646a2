"""Propensity-score blocks of ``subclassification``: trimming to common support (Crump,
Hotz, Imbens & Mitnik 2009) and the block edges, split from the data while the score
still differs between treated and controls (Imbens & Rubin 2015, ch. 13) or cut at fixed
quantiles (``n_strata``)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import stats

from impact_measure.models.propensity import PropensityFit

Estimand = Literal["ATT", "ATE"]


def optimal_trimming_bound(score: np.ndarray) -> float:
    """Crump, Hotz, Imbens & Mitnik (2009) alpha: keep alpha ≤ e(x) ≤ 1 - alpha (0 when no trimming
    lowers the variance bound of the ATE)."""
    g = np.sort(1.0 / (score * (1.0 - score)))
    if g[-1] <= 2.0 * g.mean():
        return 0.0
    running_mean = np.cumsum(g) / np.arange(1, len(g) + 1)
    crossing = int(np.argmax(g >= 2.0 * running_mean))
    gamma = float(g[crossing])
    return float(0.5 - np.sqrt(max(0.25 - 1.0 / gamma, 0.0)))


def trimmed(
    fit: PropensityFit, treated: np.ndarray, *, trim: bool, estimand: Estimand
) -> tuple[np.ndarray, dict[str, Any]]:
    """Rows kept after common-support trimming, and the trimming record."""
    keep = np.ones(len(treated), dtype=bool)
    if not trim:
        return keep, {"rule": "none", "treated_trimmed": 0, "controls_trimmed": 0}
    if estimand == "ATT":
        low, high = fit.log_odds[treated == 1].min(), fit.log_odds[treated == 1].max()
        keep = (treated == 1) | ((fit.log_odds >= low) & (fit.log_odds <= high))
        rule = "controls outside the treated units' propensity range dropped"
        bounds = [float(fit.score[treated == 1].min()), float(fit.score[treated == 1].max())]
    else:
        alpha = optimal_trimming_bound(fit.score)
        keep = (fit.score >= alpha) & (fit.score <= 1.0 - alpha)
        rule = "Crump-Hotz-Imbens-Mitnik (2009) optimal rule: alpha <= e(x) <= 1 - alpha"
        bounds = [alpha, 1.0 - alpha]
    return keep, {
        "rule": rule,
        "propensity_bounds": bounds,
        "treated_trimmed": int(((treated == 1) & ~keep).sum()),
        "controls_trimmed": int(((treated == 0) & ~keep).sum()),
    }


def block_edges(
    log_odds: np.ndarray,
    treated: np.ndarray,
    min_size: int,
    *,
    estimand: Estimand,
    n_strata: int | None,
    t_max: float,
    per_group: int,
) -> np.ndarray:
    """Sorted cut points on the linearised score (fixed quantiles or data-driven splits)."""
    basis = log_odds[treated == 1] if estimand == "ATT" else log_odds
    if n_strata is not None:
        edges = np.unique(np.quantile(basis, np.linspace(0, 1, n_strata + 1)[1:-1]))
        return merge_thin_blocks(edges, log_odds, treated, per_group)
    cuts: list[float] = []
    pending = [(-np.inf, np.inf)]
    while pending:
        low, high = pending.pop()
        inside = (log_odds >= low) & (log_odds < high)
        if not score_differs(log_odds, treated, inside, t_max):
            continue
        within = inside & ((treated == 1) if estimand == "ATT" else True)
        median = float(np.median(log_odds[within]))
        halves = [inside & (log_odds < median), inside & (log_odds >= median)]
        if all(enough(treated, half, per_group, min_size) for half in halves):
            cuts.append(median)
            pending += [(low, median), (median, high)]
    return np.array(sorted(cuts))


def score_differs(
    log_odds: np.ndarray, treated: np.ndarray, inside: np.ndarray, t_max: float
) -> bool:
    """The score t-statistic of the units ``inside`` exceeds ``t_max``."""
    t = log_odds[inside & (treated == 1)]
    c = log_odds[inside & (treated == 0)]
    return bool(abs(score_t_statistic(t, c)) > t_max)


def score_t_statistic(t: np.ndarray, c: np.ndarray) -> float:
    """Welch t-statistic of the linearised score, treated vs controls; 0 when the scores are
    all equal (e.g. one binary covariate) or a group has fewer than two units."""
    if len(t) < 2 or len(c) < 2 or np.ptp(np.concatenate([t, c])) < 1e-8:
        return 0.0
    statistic = float(
        stats.ttest_ind_from_stats(
            t.mean(), t.std(ddof=1), len(t), c.mean(), c.std(ddof=1), len(c), equal_var=False
        ).statistic
    )
    return statistic if np.isfinite(statistic) else 0.0


def enough(treated: np.ndarray, rows: np.ndarray, per_group: int, min_size: int) -> bool:
    n_treated = int((rows & (treated == 1)).sum())
    n_control = int((rows & (treated == 0)).sum())
    return min(n_treated, n_control) >= per_group and n_treated + n_control >= min_size


def merge_thin_blocks(
    edges: np.ndarray, log_odds: np.ndarray, treated: np.ndarray, per_group: int
) -> np.ndarray:
    """Drop cut points until every block has ``per_group`` treated and controls."""
    cuts = list(edges)
    while cuts:
        block = np.searchsorted(np.array(cuts), log_odds, side="right")
        thin = [b for b in range(len(cuts) + 1) if not enough(treated, block == b, per_group, 0)]
        if not thin:
            break
        cuts.pop(min(thin[0], len(cuts) - 1))
    return np.array(cuts)
