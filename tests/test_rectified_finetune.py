"""Rectified fine-tuning law: numerics (numpy vs pytensor, limits, paper form) and recovery on seeded synthetic curves."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
import xarray as xr

import bayeslaw as bl
from bayeslaw.constants import CREDIBLE_INTERVAL
from bayeslaw.data import ScalingData
from bayeslaw.laws import get_law
from bayeslaw.model_builder import build_model
from bayeslaw.posterior import law_params
from bayeslaw.selection import rank_candidates
from bayeslaw.spec import resolve_spec
from bayeslaw.summaries import interval

LAW = get_law("rectified_finetune")
REFS = {"examples": 12_800.0}
#: Paper-form truth of six synthetic models: floors, amplitudes, pre-learned sizes and exponents differ.
TRUTH = {
    "m0": {"E": 1.2, "B": 30.0, "D_l": 12.0, "beta": 0.40},
    "m1": {"E": 1.5, "B": 20.0, "D_l": 5.0, "beta": 0.35},
    "m2": {"E": 0.9, "B": 60.0, "D_l": 30.0, "beta": 0.45},
    "m3": {"E": 1.1, "B": 15.0, "D_l": 8.0, "beta": 0.30},
    "m4": {"E": 1.3, "B": 40.0, "D_l": 20.0, "beta": 0.40},
    "m5": {"E": 1.0, "B": 25.0, "D_l": 10.0, "beta": 0.38},
}
SIZES = 200.0 * 2.0 ** np.arange(14)  # 200 .. 1,638,400 examples, as in Lin et al.
FULL = 1_638_400.0


def paper_form(d: np.ndarray, p: dict[str, float]) -> np.ndarray:
    """The law exactly as printed by Lin et al.: B / (D_l + D^beta) + E."""
    return p["B"] / (p["D_l"] + d ** p["beta"]) + p["E"]


def sampled_form(raw: dict[str, float], refs: dict[str, float] = REFS) -> dict[str, float]:
    return {k: float(v) for k, v in LAW.from_raw(raw, refs, np).items()}


# ---------------------------------------------------------------- numerics
@pytest.mark.parametrize("model", sorted(TRUTH))
def test_sampled_form_equals_paper_form(model: str) -> None:
    d = np.concatenate([[0.0], SIZES, [1e9]])
    mean = LAW.mean({"examples": d}, sampled_form(TRUTH[model]), REFS, np)
    np.testing.assert_allclose(mean, paper_form(d, TRUTH[model]), rtol=1e-12)


def test_derived_round_trips_paper_form() -> None:
    p = sampled_form(TRUTH["m2"])
    derived = LAW.derived(p, REFS, np)
    for key in ("E", "B", "D_l"):
        assert derived[key] == pytest.approx(TRUTH["m2"][key], rel=1e-12)
    assert derived["zero_shot"] == pytest.approx(TRUTH["m2"]["B"] / TRUTH["m2"]["D_l"] + TRUTH["m2"]["E"], rel=1e-12)
    assert derived["D_transition"] ** TRUTH["m2"]["beta"] == pytest.approx(TRUTH["m2"]["D_l"], rel=1e-10)


def test_mean_does_not_depend_on_reference_scale() -> None:
    d = np.concatenate([[0.0], SIZES])
    other = {"examples": 350.0}
    a = LAW.mean({"examples": d}, sampled_form(TRUTH["m4"]), REFS, np)
    b = LAW.mean({"examples": d}, sampled_form(TRUTH["m4"], other), other, np)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_limits_zero_shot_and_infinite_data() -> None:
    p = sampled_form(TRUTH["m0"])
    at_zero = LAW.mean({"examples": np.array([0.0])}, p, REFS, np)[0]
    assert at_zero == pytest.approx(LAW.derived(p, REFS, np)["zero_shot"], rel=1e-12)
    far = LAW.mean({"examples": np.array([1e30])}, p, REFS, np)[0]
    assert far == pytest.approx(TRUTH["m0"]["E"], rel=1e-9)
    curve = LAW.mean({"examples": SIZES}, p, REFS, np)
    assert np.all(np.diff(curve) < 0), "loss must fall with more fine-tuning data"


def test_from_raw_needs_all_paper_parameters() -> None:
    with pytest.raises(ValueError, match="E, B and D_l"):
        LAW.from_raw({"E": 1.0, "B": 2.0, "beta": 0.3}, REFS, np)


def test_numpy_and_pytensor_agree_with_finite_gradients_at_zero() -> None:
    d = np.concatenate([[0.0], SIZES])
    p_np = sampled_form(TRUTH["m1"])
    symbols = {k: pt.dscalar(k) for k in p_np}
    mean = LAW.mean({"examples": d}, symbols, REFS, pt)
    grads = pt.grad(mean.sum(), list(symbols.values()))
    func = pytensor.function(list(symbols.values()), [mean, *grads], mode="FAST_COMPILE")
    value, *grad_values = func(*p_np.values())
    np.testing.assert_allclose(value, LAW.mean({"examples": d}, p_np, REFS, np), rtol=1e-12)
    assert all(np.isfinite(g) for g in grad_values), grad_values


def test_xarray_draws_broadcast_by_name() -> None:
    draws = xr.DataArray(np.array([0.3, 0.4]), dims="sample")
    p = {**{k: xr.DataArray(v) for k, v in sampled_form(TRUTH["m3"]).items() if k != "beta"}, "beta": draws}
    d = xr.DataArray(SIZES, dims="point")
    mean = LAW.mean({"examples": d}, p, REFS, np)
    assert set(mean.dims) == {"sample", "point"}
    assert np.isfinite(mean.values).all()


def test_model_with_zero_shot_points_has_finite_logp_and_gradient() -> None:
    data = bl.load_dataset("finetune", dataset="gigaword", include_zero_shot=True, max_examples=1600)
    assert (data.values("examples") == 0).sum() == 30
    built = build_model(data, resolve_spec("rectified_finetune"))
    assert built.refs["examples"] == pytest.approx(np.exp(np.mean(np.log([200, 400, 800, 1600]))))
    point = built.model.initial_point()
    assert np.isfinite(built.model.compile_logp(mode="FAST_COMPILE")(point))
    assert np.isfinite(built.model.compile_dlogp(mode="FAST_COMPILE")(point)).all()


# ---------------------------------------------------------------- recovery
def synthetic_curves(seed: int, sigma: float = 0.01) -> ScalingData:
    """Every model's curve at all 14 sizes, multiplicative Normal noise on the loss (seeded)."""
    rng = np.random.default_rng(seed)
    rows = []
    for model, raw in TRUTH.items():
        loss = paper_form(SIZES, raw) * np.exp(sigma * rng.standard_normal(SIZES.size))
        rows += [{"model": model, "finetune_examples": d, "test_loss": v} for d, v in zip(SIZES, loss, strict=True)]
    frame = pd.DataFrame(rows)
    return ScalingData.from_frame(frame, target="loss", inputs=["examples"], groups=["model"], name="synthetic_finetune")


@pytest.fixture(scope="module")
def recovery_fit() -> bl.Fit:
    # The tests below draw conclusions from this fit, so it must pass the package's own convergence checks
    # (asserted next). Default settings: sampled longer if the first 4 x 1000 draws missed a target
    # (bayeslaw.run_length); with the shipped spec they do not (r_hat 1.003, bulk ESS 1763, tail ESS 1305).
    with warnings.catch_warnings():
        warnings.simplefilter("error", bl.ConvergenceWarning)
        return bl.fit(synthetic_curves(seed=3), "rectified_finetune", random_seed=11)


def test_recovery_fit_converges(recovery_fit: bl.Fit) -> None:
    assert recovery_fit.converged, recovery_fit.diagnostics.banner()


def test_recovery_truth_inside_90_intervals(recovery_fit: bl.Fit) -> None:
    """Per-model parameters (sampled and paper form) and the full-budget loss: truth inside the 90% intervals."""
    params = law_params(recovery_fit.posterior, LAW, keep=("model",))
    quantities = {**params, **{k: v for k, v in LAW.derived(params, recovery_fit.refs, np).items() if k in ("E", "D_transition")}}
    quantities["loss_full"] = LAW.mean({"examples": FULL}, params, recovery_fit.refs, np)
    checks, misses = 0, []
    for name, da in quantities.items():
        stats = interval(da, CREDIBLE_INTERVAL)
        for model, raw in TRUTH.items():
            truth_sampled = sampled_form(raw, recovery_fit.refs)
            truth = {
                **truth_sampled,
                "E": raw["E"],
                "D_transition": raw["D_l"] ** (1 / raw["beta"]),
                "loss_full": paper_form(np.array(FULL), raw),
            }[name]
            lower, upper = (float(stats[s].sel(model=model)) for s in ("lower", "upper"))
            checks += 1
            if not lower <= truth <= upper:
                misses.append(f"{name}[{model}] = {truth:.4g} outside [{lower:.4g}, {upper:.4g}]")
    # 7 quantities x 6 models = 42 checks of 90% intervals: about 4 misses are expected by chance.
    assert len(misses) <= 6, misses
    assert not [m for m in misses if m.startswith("loss_full")], misses


def test_selection_on_recovery_fit_picks_the_true_best(recovery_fit: bl.Fit) -> None:
    true_full = {m: float(paper_form(np.array(FULL), raw)) for m, raw in TRUTH.items()}
    result = rank_candidates(recovery_fit, FULL, prob=CREDIBLE_INTERVAL)
    table = result.ranking()
    assert table["p_best"].sum() == pytest.approx(1.0)
    assert result.best() == min(true_full, key=true_full.get)
    assert table.loc[result.best(), "p_best"] > 0.5
    inside = [(table.loc[m, "observation_lower"] <= v <= table.loc[m, "observation_upper"]) for m, v in true_full.items()]
    assert sum(inside) >= 5, table
