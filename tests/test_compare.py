"""PSIS-LOO model comparison: ranking, Pareto k warnings, refusal of incomparable fits."""

from __future__ import annotations

import warnings

import grouped_fits as g
import numpy as np
import pandas as pd
import pytest

import bayeslaw as bl
from bayeslaw.compare import ParetoKWarning, check_same_data


@pytest.fixture(scope="module")
def shared_pair() -> dict[str, bl.Fit]:
    """Fits of shared-exponent data: the true structure (hierarchical) and skill-specific exponents."""
    return {"hierarchical": g.fit_of("shared", "hierarchical"), "skill_exponents": g.fit_of("shared", "skill_exponents")}


@pytest.fixture(scope="module")
def skill_pair() -> dict[str, bl.Fit]:
    """Fits of skill-exponent data: the true structure (skill_exponents) and shared exponents."""
    return {"hierarchical": g.fit_of("skill", "hierarchical"), "skill_exponents": g.fit_of("skill", "skill_exponents")}


def _quiet_compare(fits: dict[str, bl.Fit], **kwargs) -> bl.Comparison:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParetoKWarning)
        return bl.compare(fits, **kwargs)


def test_prefers_skill_exponents_when_exponents_differ(skill_pair: dict[str, bl.Fit]) -> None:
    result = _quiet_compare(skill_pair)
    assert result.best == "skill_exponents", result.report()
    diff, dse = result.difference("hierarchical")
    assert diff > 2 * dse, result.report()


def test_prefers_shared_exponents_when_they_are_shared(shared_pair: dict[str, bl.Fit]) -> None:
    result = _quiet_compare(shared_pair)
    assert result.best == "hierarchical", result.report()
    # The richer model nests the true one: it can only lose a little (its extra flexibility), never win clearly.
    diff, _ = result.difference("skill_exponents")
    assert diff > 0


def test_table_structure_and_pointwise(skill_pair: dict[str, bl.Fit]) -> None:
    result = _quiet_compare(skill_pair)
    table = result.ranking
    assert list(table.index) == [result.best, *[n for n in skill_pair if n != result.best]]
    assert {"rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight", "n_bad_k", "max_k"} <= set(table.columns)
    assert table["elpd_diff"].iloc[0] == 0
    assert table["weight"].sum() == pytest.approx(1.0)
    n_obs = len(skill_pair["hierarchical"].data)
    assert result.pointwise.shape == (n_obs, 4)
    # Pointwise contributions sum to each fit's elpd_loo; per-skill differences sum to the total.
    for name in skill_pair:
        assert result.pointwise[("elpd_i", name)].sum() == pytest.approx(table.loc[name, "elpd_loo"])
    per_skill = result.pointwise_difference("skill_exponents", "hierarchical", by="skill")
    assert isinstance(per_skill, pd.Series) and list(per_skill.index) == list(g.SKILLS)
    assert per_skill.sum() == pytest.approx(result.pointwise_difference("skill_exponents", "hierarchical"))
    assert "PSIS-LOO" in result.report()


def test_pareto_k_warning_names_count_and_observations(skill_pair: dict[str, bl.Fit]) -> None:
    # A threshold of 0 flags every observation whose k is positive: the warning path with real numbers.
    with pytest.warns(ParetoKWarning, match=r"observations have Pareto k > 0\.0"):
        result = bl.compare(skill_pair, pareto_k_max=0.0)
    assert not result.reliable
    for name in skill_pair:
        k = result.pointwise[("k", name)].to_numpy()
        assert result.ranking.loc[name, "n_bad_k"] == int((k > 0.0).sum())
        assert result.ranking.loc[name, "max_k"] == pytest.approx(k.max())
    strict = _quiet_compare(skill_pair, pareto_k_max=np.inf)
    assert strict.reliable and "Pareto k OK" in strict.report()


def test_refuses_fits_of_different_data(skill_pair: dict[str, bl.Fit], shared_pair: dict[str, bl.Fit]) -> None:
    with pytest.raises(ValueError, match="different data"):
        bl.compare({"a": skill_pair["hierarchical"], "b": shared_pair["hierarchical"]})
    with pytest.raises(ValueError, match="at least two"):
        bl.compare({"a": skill_pair["hierarchical"]})


def test_same_labels_but_different_values_are_refused(skill_pair: dict[str, bl.Fit]) -> None:
    from dataclasses import replace

    fit_a = skill_pair["hierarchical"]
    frame = fit_a.data.frame.copy()
    frame.iloc[0, frame.columns.get_loc("loss")] *= 1.01
    altered = replace(fit_a, data=replace(fit_a.data, frame=frame))
    with pytest.raises(ValueError, match="column 'loss' differs"):
        check_same_data({"a": fit_a, "b": altered})
