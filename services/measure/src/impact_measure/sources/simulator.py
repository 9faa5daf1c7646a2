"""Seeded synthetic retail data with a known treatment effect (vectorised numpy).

Each product has a category, a price and a traffic level; every day it draws a
funnel impressions → visits → cart adds → units (Poisson/binomial noise) and
``revenue = units * price``. Treated products get ``true_effect`` added to their
revenue on every day from ``treatment_start`` on: ``true_effect`` is the *additive*
effect on revenue per product-day, so ATE = ATT = ``true_effect`` in every design.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from impact_contracts import ConfigError
from pydantic import Field, model_validator

from impact_measure.config import (
    MAX_SAMPLE_SIZE,
    MAX_SEED,
    MAX_SIMULATED_CELLS,
    Section,
    validate_section,
)
from impact_measure.sources import LoadRequest, register_source

CONFIG_PATH = "DATA.SOURCE.CONFIG"


class SimulatorConfig(Section):
    """``DATA.SOURCE.CONFIG`` of the simulator."""

    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    n_products: int = Field(default=200, ge=2, le=MAX_SAMPLE_SIZE)
    start_date: date = date(2024, 1, 1)
    end_date: date = date(2024, 3, 31)
    treatment_start: date = date(2024, 3, 1)
    true_effect: float = 5.0
    treatment_fraction: float = Field(default=0.5, ge=0.0, le=1.0)
    treated_products: list[str] | None = None
    treated_categories: list[int] | None = None
    assignment: Literal["random", "confounded"] = "random"
    confounding_strength: float = Field(default=0.5, ge=0.0)
    design: Literal["cross_section", "panel", "series"] = "cross_section"
    mean_impressions: float = Field(default=500.0, gt=0.0)
    n_categories: int = Field(default=5, ge=1)
    weekly_amplitude: float = Field(default=0.15, ge=0.0, lt=1.0)
    trend_per_day: float = 0.0
    shock_sd: float = Field(default=0.05, ge=0.0)

    @model_validator(mode="after")
    def _dates_ordered(self) -> SimulatorConfig:
        if not self.start_date < self.treatment_start <= self.end_date:
            raise ValueError("need start_date < treatment_start <= end_date")
        cells = self.n_products * ((self.end_date - self.start_date).days + 1)
        if cells > MAX_SIMULATED_CELLS:
            raise ValueError(
                f"n_products x days = {cells} simulated product-days, must be <= "
                f"{MAX_SIMULATED_CELLS} (fewer products or a shorter period)"
            )
        return self


def derive_seed(base: int, phase: str) -> int:
    """A seed for ``phase`` derived from ``base``, stable across processes (sha256)."""
    if phase == "pilot":
        return base
    digest = hashlib.sha256(f"{base}:{phase}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def product_ids(n: int) -> list[str]:
    width = max(4, len(str(n - 1)))
    return [f"P{i:0{width}d}" for i in range(n)]


@register_source("simulator")
class SimulatorSource:
    """Source ``simulator``: synthetic retail panel, cross-section or daily series.

    ``sample_size`` replaces ``n_products``; the scale phase draws with a derived seed.
    """

    draws_scale_sample: ClassVar[bool] = True

    def load(self, config: dict[str, object], request: LoadRequest) -> pd.DataFrame:
        if request.sample_size is not None:  # validated too, so the limits hold
            config = {**config, "n_products": request.sample_size}
        cfg = validate_section(SimulatorConfig, config, CONFIG_PATH)
        base_seed = cfg.seed if cfg.seed is not None else (request.seed or 0)
        return simulate(cfg, derive_seed(base_seed, request.phase))


def simulate(cfg: SimulatorConfig, seed: int) -> pd.DataFrame:
    """Draw one data set for ``cfg`` with ``seed`` (same inputs → identical frame)."""
    rng = np.random.default_rng(seed)
    n = cfg.n_products
    dates = pd.date_range(cfg.start_date, cfg.end_date, freq="D")
    post = np.asarray(dates >= pd.Timestamp(cfg.treatment_start))
    ids = product_ids(n)

    category = rng.integers(0, cfg.n_categories, size=n)
    price = np.round(np.exp(rng.normal(3.0 + 0.15 * category, 0.4)), 2)
    traffic = cfg.mean_impressions * np.exp(rng.normal(-0.18, 0.6, size=n))
    click_rate = rng.beta(2.0, 38.0, size=n)
    cart_rate = rng.beta(3.0, 12.0, size=n)
    buy_rate = np.clip(rng.beta(6.0, 14.0, size=n) * (30.0 / price) ** 0.3, 0.01, 0.95)

    day = np.arange(len(dates))
    weekly = 1.0 + cfg.weekly_amplitude * np.sin(2.0 * np.pi * dates.day_of_week.to_numpy() / 7.0)
    shocks = _ar1(rng, len(dates), phi=0.5, sd=cfg.shock_sd)
    daily = np.clip(1.0 + cfg.trend_per_day * day, 0.05, None) * weekly * np.exp(shocks)

    impressions = rng.poisson(np.outer(traffic, daily))
    visits = rng.binomial(impressions, click_rate[:, None])
    cart_adds = rng.binomial(visits, cart_rate[:, None])
    units = rng.binomial(cart_adds, buy_rate[:, None])
    base_revenue = units * price[:, None]

    pre = ~post
    baseline = {
        "baseline_revenue": base_revenue[:, pre].mean(axis=1),
        "baseline_visits": visits[:, pre].mean(axis=1),
        "baseline_units": units[:, pre].mean(axis=1),
    }
    treated = _assign(cfg, rng, ids, category, price, baseline["baseline_revenue"])
    revenue = base_revenue + cfg.true_effect * np.outer(treated, post)

    funnel = {
        "impressions": impressions,
        "visits": visits,
        "cart_adds": cart_adds,
        "units": units,
        "revenue": revenue,
    }
    products = pd.DataFrame(
        {"product_id": ids, "category": category, "price": price, **baseline, "treated": treated}
    )
    products["log_baseline_revenue"] = np.log1p(products["baseline_revenue"])
    if cfg.design == "cross_section":
        post_means = {name: values[:, post].mean(axis=1) for name, values in funnel.items()}
        return products.assign(**post_means)
    if cfg.design == "series":
        series = {name: values.mean(axis=0) for name, values in funnel.items()}
        frame = pd.DataFrame({"date": dates, "post": post.astype(int), **series})
        return frame.assign(n_products=n)
    panel = products.loc[np.repeat(np.arange(n), len(dates))].reset_index(drop=True)
    panel.insert(1, "date", np.tile(dates, n))
    panel["post"] = np.tile(post.astype(int), n)
    for name, values in funnel.items():
        panel[name] = values.ravel()
    return panel


def _ar1(rng: np.random.Generator, length: int, phi: float, sd: float) -> np.ndarray:
    innovations = rng.normal(0.0, sd * np.sqrt(1.0 - phi**2), size=length)
    out = np.empty(length)
    level = rng.normal(0.0, sd)
    for t in range(length):
        level = phi * level + innovations[t] if t else level
        out[t] = level
    return out


def _assign(
    cfg: SimulatorConfig,
    rng: np.random.Generator,
    ids: list[str],
    category: np.ndarray,
    price: np.ndarray,
    baseline_revenue: np.ndarray,
) -> np.ndarray:
    """0/1 treatment: explicit ids or categories, complete randomisation, or covariate-driven.

    ``confounded``: P(treated) = logistic(logit(fraction) + strength * score) with
    score = z(log1p(baseline_revenue)) + 0.5 * z(price), so treated products sell more.
    Both confounders are output columns (``log_baseline_revenue``, ``price``); the outcome
    (post-period revenue) is about proportional to ``baseline_revenue``, so an adjustment
    needs the level as well as the log: ``[baseline_revenue, log_baseline_revenue, price]``.
    """
    n = len(ids)
    if cfg.treated_categories is not None:
        return np.isin(category, cfg.treated_categories).astype(int)
    if cfg.treated_products is not None:
        unknown = sorted(set(cfg.treated_products) - set(ids))
        if unknown:
            raise ConfigError(
                f"{CONFIG_PATH}.treated_products: unknown product ids {unknown[:5]} "
                f"(ids run {ids[0]}..{ids[-1]})"
            )
        return np.isin(ids, cfg.treated_products).astype(int)
    if cfg.assignment == "random":
        treated = np.zeros(n, dtype=int)
        treated[rng.permutation(n)[: round(cfg.treatment_fraction * n)]] = 1
        return treated
    fraction = min(max(cfg.treatment_fraction, 0.01), 0.99)
    score = _standardise(np.log1p(baseline_revenue)) + 0.5 * _standardise(price)
    logit = np.log(fraction / (1.0 - fraction)) + cfg.confounding_strength * score
    return (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)


def _standardise(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else values * 0.0
