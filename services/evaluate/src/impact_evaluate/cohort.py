"""The cohort step of EVALUATE: every evaluation in the manifest's unit, then (by default)
an empirical-Bayes posterior pooled over the whole cohort (decision 0080).

Evaluate scores each initiative alone; this step runs once the whole cohort is known (at
the orchestrator's evaluate barrier, in both modes) and hands allocate best/median/worst
from the posterior: the 2.5 % quantile, the posterior mean and the 97.5 % quantile.
``estimates="raw"`` keeps the pilot CI and estimate, as the original did.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from impact_contracts import EvaluateResult

from impact_evaluate.earlier import Z95 as Z95
from impact_evaluate.earlier import EarlierPilot, earlier_pilots, value_factor

if TYPE_CHECKING:
    import numpy as np

    from impact_evaluate.posterior import Prior

Estimates = Literal["posterior", "raw"]
ESTIMATES: tuple[str, ...] = ("posterior", "raw")
#: a design family with fewer initiatives shares the prior fitted on the whole cohort
MIN_FAMILY_SIZE = 30
log = logging.getLogger(__name__)


def standard_error(evaluation: Mapping[str, Any]) -> float:
    """The pilot's standard error, read from its 95 % CI (``return_best - return_worst``)."""
    return (float(evaluation["return_best"]) - float(evaluation["return_worst"])) / (2.0 * Z95)


def in_value_unit(evaluation: Mapping[str, Any], factor: float) -> dict[str, Any]:
    """Returns multiplied by the initiative's value per unit of effect (``factor > 0``)."""
    converted = dict(evaluation)
    for key in ("return_best", "return_median", "return_worst"):
        converted[key] = float(evaluation[key]) * factor
    return converted


def _priors(
    model_types: Sequence[str | None],
    estimates: np.ndarray,
    errors: np.ndarray,
    min_family_size: int,
) -> list[tuple[Prior, Prior]]:
    """Per pilot, the priors it is pooled with: the fitted one (means) and the one
    with a broad part (intervals). A design family gets its own when it has at least
    ``min_family_size`` pilots and its own prior explains them better than the
    cohort's by more than BIC's price of the extra fit; the others share one fitted
    without the families that split off. A pilot of no known design (``None``) is
    pooled but founds no family."""
    import numpy as np

    from impact_evaluate.posterior import broad_weight, fit_prior

    def fit(x: np.ndarray, s: np.ndarray) -> tuple[Prior, Prior]:
        return fit_prior(x, s), fit_prior(x, s, broad_weight(x.size))

    pooled = fit(estimates, errors)
    families: dict[str, tuple[Prior, Prior]] = {}
    for family in sorted({m for m in model_types if m is not None}):
        members = np.array([m == family for m in model_types])
        if min_family_size <= members.sum() < len(model_types):
            x, s = estimates[members], errors[members]
            own = fit_prior(x, s)  # the interval prior only for a family that splits off
            if family_differs(own, pooled[0], x, s):
                families[family] = own, fit_prior(x, s, broad_weight(x.size))
    rest = np.array([m not in families for m in model_types])
    if families and rest.any():
        pooled = fit(estimates[rest], errors[rest])  # the others' prior, without the split
    return [pooled if m is None else families.get(m, pooled) for m in model_types]


def family_differs(own: Prior, pooled: Prior, estimates: np.ndarray, errors: np.ndarray) -> bool:
    """The family's own prior beats the cohort's on its initiatives by more than BIC's
    penalty for fitting one (``FIT_PARAMETERS / 2 · log n``)."""
    import numpy as np

    from impact_evaluate.posterior import FIT_PARAMETERS, log_likelihood

    gain = log_likelihood(own, estimates, errors) - log_likelihood(pooled, estimates, errors)
    return gain > FIT_PARAMETERS / 2.0 * float(np.log(estimates.size))


def matching_history(
    earlier: Sequence[EarlierPilot], estimates: np.ndarray, errors: np.ndarray
) -> Sequence[EarlierPilot]:
    """``earlier`` when it comes from this cohort's population, else none: the history is
    left out (with a warning) when this cohort's own prior explains its pilots better than
    the prior fitted with the history by more than BIC's price of a separate fit, the test
    a design family passes to get its own prior."""
    if not earlier:
        return earlier
    import numpy as np

    from impact_evaluate.posterior import MIN_COHORT, fit_prior

    if estimates.size < MIN_COHORT:  # too few to fit a prior of their own: pooled unchecked
        return earlier

    history_x = np.array([p.estimate for p in earlier], dtype=float)
    history_s = np.array([p.standard_error for p in earlier], dtype=float)
    own = fit_prior(estimates, errors)
    together = fit_prior(
        np.concatenate([estimates, history_x]), np.concatenate([errors, history_s])
    )
    if family_differs(own, together, estimates, errors):
        log.warning(
            "earlier_pilots: %d earlier pilots left out of the prior: this cohort's %d pilots "
            "do not look drawn from the same population (BIC)",
            len(earlier),
            estimates.size,
        )
        return ()
    return earlier


def pool_evaluations(
    evaluations: Sequence[Mapping[str, Any]],
    *,
    estimates: Estimates = "posterior",
    scale_sample_size: int | Mapping[str, int] | None = None,
    value_factors: Mapping[str, float] | None = None,
    min_family_size: int = MIN_FAMILY_SIZE,
    predict_ids: Collection[str] | None = None,
    earlier: Sequence[EarlierPilot] = (),
) -> list[dict[str, Any]]:
    """``EvaluateResult`` dicts in the value unit, posterior-based unless ``estimates="raw"``.

    Arguments:
        evaluations: the cohort's ``EvaluateResult`` dicts (returns in the outcome unit).
        estimates: ``posterior`` (pooled empirical Bayes) or ``raw`` (the pilot CI).
        scale_sample_size: the scale measurement's sample size, one for all or by
            initiative id; its standard error is taken as ``SE_pilot * sqrt(n_pilot /
            n_scale)`` (the pilot's when ``None`` or not given for an initiative).
        value_factors: value per unit of effect, by initiative id (default 1).
        min_family_size: the smallest design family that gets a prior of its own.
        predict_ids: the initiatives that get a prediction interval (default: all); the
            others get ``None`` (allocate needs none, the report only the selected's).
        earlier: pilots of earlier runs (in the value unit): the prior, and each design
            family's, is fitted on this cohort's pilots and these; only this cohort's
            initiatives get posteriors. Empty: the prior comes from this cohort alone.
    """
    factors = value_factors or {}
    converted = [in_value_unit(e, float(factors.get(e["initiative_id"], 1.0))) for e in evaluations]
    if estimates == "raw" or not converted:
        return [EvaluateResult.model_validate(e).model_dump() for e in converted]
    import numpy as np  # the stage's libraries load on first use, not at start

    from impact_evaluate.posterior import posterior

    x = np.array([float(e["return_median"]) for e in converted])
    s = np.array([standard_error(e) for e in converted])
    pilot_n = np.array([float(e["sample_size"]) for e in converted])
    scale_n = np.array([_scale_size(scale_sample_size, e) for e in converted])
    scale_s = s * np.sqrt(np.divide(pilot_n, scale_n, out=np.ones_like(s), where=scale_n > 0))
    model_types: list[str | None] = [str(e["model_type"]) for e in converted]
    earlier = matching_history(earlier, x, s)
    priors = _priors(
        model_types + [p.model_type for p in earlier],
        np.concatenate([x, np.array([p.estimate for p in earlier], dtype=float)]),
        np.concatenate([s, np.array([p.standard_error for p in earlier], dtype=float)]),
        min_family_size,
    )[: len(converted)]
    ids = [str(e["initiative_id"]) for e in converted]
    wanted = set(ids) if predict_ids is None else set(predict_ids)
    predict = np.array([i in wanted for i in ids])
    results: list[dict[str, Any]] = [{} for _ in converted]
    for pair in {id(p): p for p in priors}.values():
        index = np.array([i for i, p in enumerate(priors) if p is pair])
        post = posterior(
            pair[0], x[index], s[index], scale_s[index], pair[1], predict=predict[index]
        )
        for row, i in enumerate(index):
            mean = float(post.mean[row])
            results[i] = EvaluateResult.model_validate(
                {
                    **converted[i],
                    "return_worst": min(float(post.lower[row]), mean),
                    "return_median": mean,
                    "return_best": max(float(post.upper[row]), mean),
                    "estimates": "posterior",
                    "probability_positive": min(
                        1.0, max(0.0, float(post.probability_positive[row]))
                    ),
                    **_prediction(post, row),
                }
            ).model_dump()
    return results


def _scale_size(size: int | Mapping[str, int] | None, evaluation: Mapping[str, Any]) -> float:
    """The scale sample size of one initiative; 0 when unknown (then SE_scale = SE_pilot)."""
    if isinstance(size, Mapping):
        return float(size.get(str(evaluation["initiative_id"]), 0))
    return 0.0 if size is None else float(size)


def value_factors(manifest: Mapping[str, Any]) -> dict[str, float]:
    """``value_factor`` of every initiative of a ``manifest_submitted`` payload."""
    return {spec["initiative_id"]: value_factor(spec) for spec in manifest.get("initiatives", [])}


def estimates_of(manifest: Mapping[str, Any]) -> str:
    """The ``EVALUATE`` kwarg ``estimates`` (``posterior`` when absent)."""
    return str(manifest.get("evaluate", {}).get("kwargs", {}).get("estimates", "posterior"))


def pool_run(
    manifest: Mapping[str, Any],
    evaluations: Sequence[Mapping[str, Any]],
    predict_ids: Collection[str] | None = None,
    scale_sample_sizes: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    """``pool_evaluations`` with the settings of a ``manifest_submitted`` payload (the
    scale sample sizes measured, when given, over the manifest's): the
    ``EVALUATE`` kwargs ``estimates`` and ``min_family_size``, ``scale_sample_size`` and
    each initiative's value model, and the ``earlier_pilots`` the prior is also fitted on."""
    kwargs = manifest.get("evaluate", {}).get("kwargs", {})
    return pool_evaluations(
        evaluations,
        estimates="raw" if estimates_of(manifest) == "raw" else "posterior",
        scale_sample_size=(
            scale_sample_sizes
            if scale_sample_sizes is not None
            else manifest.get("scale_sample_size")
        ),
        value_factors=value_factors(manifest),
        min_family_size=int(kwargs.get("min_family_size", MIN_FAMILY_SIZE)),
        predict_ids=predict_ids,
        earlier=earlier_pilots(kwargs.get("earlier_pilots") or ()),
    )


def _prediction(post: Any, row: int) -> dict[str, float | None]:
    if math.isnan(float(post.predictive_lower[row])):
        return {"prediction_lower": None, "prediction_upper": None, "prediction_sd": None}
    return {
        "prediction_lower": float(post.predictive_lower[row]),
        "prediction_upper": float(post.predictive_upper[row]),
        "prediction_sd": float(post.predictive_sd[row]),
    }


def portfolio_interval(evaluations: Sequence[Mapping[str, Any]]) -> tuple[float, float, float]:
    """Σ predicted with a 95 % interval: normal with the summed predictive variances
    (the initiatives' posteriors are independent given the prior)."""
    total = math.fsum(float(e["return_median"]) for e in evaluations)
    variance = math.fsum(float(e.get("prediction_sd") or 0.0) ** 2 for e in evaluations)
    half = Z95 * math.sqrt(variance)
    return total, total - half, total + half
