"""Compile once, fit many: the data path, the compiled-model cache, fit_many (sequential and on executors) and Fit.refit."""

from __future__ import annotations

import importlib.util
import multiprocessing
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import bayeslaw as bl
from bayeslaw import compiled, results
from bayeslaw.model_builder import build_model
from bayeslaw.simulate import simulate
from bayeslaw.spec import resolve_spec

TRUTH = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
FAST = {"draws": 150, "tune": 200, "chains": 2, "check": False}


def _data(seed: int, scale: float = 1.0) -> bl.ScalingData:
    return simulate("chinchilla", {**TRUTH, "E": TRUTH["E"] * scale}, sigma=0.02, seed=seed).data


def _same_draws(a: bl.Fit, b: bl.Fit) -> bool:
    pa, pb = a.posterior, b.posterior
    return all(np.array_equal(pa[v].values, pb[v].values) for v in pa.data_vars)


@pytest.fixture(scope="module")
def sequential() -> list[bl.Fit]:
    compiled.clear_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        return bl.fit_many([_data(1), _data(2, 1.1)], "chinchilla", random_seed=[3, 4], **FAST)


def test_fit_many_compiles_once_and_keeps_every_group(sequential):
    info = compiled.cache_info()
    assert (info["misses"], info["hits"]) == (1, 1)
    for fitted in sequential:
        assert fitted.refs == fitted.data.reference_scales(("N", "D"))
        assert results.has_group(fitted.idata, "log_likelihood")
        assert results.has_group(fitted.idata, "posterior_predictive")


def test_swapped_data_give_the_constant_models_log_density():
    """One compiled data model, swapped to each dataset, has the log density of the model with that dataset compiled in.

    Grouped data with other labels and other group codes per row: the codes and labels are swapped too.
    """
    spec = resolve_spec("hierarchical")
    designs = ((["code", "text", "math"], (1.5, 1.7, 2.0), 1), (["de", "en", "fr"], (1.2, 2.2, 1.9), 2))
    datasets = [
        simulate("chinchilla", {**TRUTH, "E": dict(zip(skills, es, strict=True))}, skills=skills, runs={skills[seed]: 25}, seed=seed).data
        for skills, es, seed in designs
    ]
    entry = compiled.compiled_model(datasets[0], spec, "nutpie")
    rng = np.random.default_rng(0)
    for data in datasets:
        built, prepared = compiled.prepared_for(data, spec, "nutpie")
        assert list(prepared.coords["skill"]) == list(data.levels["skill"])
        assert built.refs == data.reference_scales(("N", "D"))
        logp_grad = entry.backend.logp_grad(prepared)
        constant_logp = build_model(data, spec).model.compile_logp()
        for _ in range(3):
            x = rng.normal(scale=0.3, size=prepared.n_dim)
            point = {name: x[where].reshape(shape) for name, where, shape in entry.backend.unconstrained_names(prepared)}
            assert logp_grad(x)[0] == pytest.approx(float(constant_logp(point)), rel=1e-9)


def test_data_path_is_reproducible_from_the_cache(sequential):
    """A cached compiled model with swapped data gives the same draws as one compiled for that dataset."""
    compiled.clear_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        fresh = bl.fit(_data(2, 1.1), "chinchilla", random_seed=4, reuse_compiled=True, **FAST)
    assert compiled.cache_info()["misses"] == 1
    assert _same_draws(fresh, sequential[1])


def test_refit_reuses_the_compiled_model_and_the_settings(sequential):
    before = compiled.cache_info()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        again = sequential[0].refit(_data(2, 1.1), random_seed=4)
    after = compiled.cache_info()
    assert after["misses"] == before["misses"]  # no new compile
    assert results.n_draws(again.idata) == FAST["draws"] * FAST["chains"]
    assert _same_draws(again, sequential[1])


def test_swapped_data_of_another_shape_is_refused():
    entry = compiled.compiled_model(_data(1), resolve_spec("chinchilla"), "nutpie")
    values = {name: np.ones(7) for name in entry.prepared.shared_data if name.startswith("logratio_")}
    with pytest.raises(ValueError, match="logratio_"):
        entry.backend.with_data(entry.prepared, values, {})


def test_process_pool_gives_the_sequential_fits(sequential):
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bl.ConvergenceWarning)
            pooled = bl.fit_many([_data(1), _data(2, 1.1)], "chinchilla", random_seed=[3, 4], executor=pool, **FAST)
    for a, b in zip(pooled, sequential, strict=True):
        assert _same_draws(a, b)
        for group in ("log_likelihood", "posterior_predictive"):
            assert np.array_equal(results.get_group(a.idata, group)["y"].values, results.get_group(b.idata, group)["y"].values)
        assert a.diagnostics == b.diagnostics


class _InlineExecutor:
    """Runs each task here and keeps what the task returned, before fit_many's caller-side step."""

    def __init__(self) -> None:
        self.returned: list[bl.Fit] = []

    def submit(self, fn, *args, **kwargs):
        from concurrent.futures import Future

        value = fn(*args, **kwargs)
        self.returned.append(value)
        future: Future = Future()
        future.set_result(value)
        return future


def test_executor_tasks_compute_no_observation_groups_and_notes_stay_single(sequential, monkeypatch):
    from bayeslaw import pointwise

    executor = _InlineExecutor()
    calls = {"n": 0}
    original = results.set_lazy_group

    def counting(*args, **kwargs):
        calls["n"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(results, "set_lazy_group", counting)
    monkeypatch.setattr(pointwise, "STORE_CELLS_MAX", 0)  # every fit takes the on-request path, which adds a note
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        fits = bl.fit_many([_data(1)], "chinchilla", random_seed=[3], executor=executor, **FAST)
    # One lazy recipe per observation group, set once by the caller: the task itself computed none.
    assert calls["n"] == len(pointwise.KINDS)
    assert _same_draws(fits[0], sequential[0])
    assert sum("computed on request" in note for note in fits[0].notes) == 1
    assert results.has_group(fits[0].idata, "log_likelihood")


def test_fit_many_checks_its_seeds():
    with pytest.raises(ValueError, match="2 seeds for 1 datasets"):
        bl.fit_many([_data(1)], random_seed=[1, 2])


@pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None, reason="Dask distributed is not installed (pip install 'bayeslaw[dask]')"
)
def test_dask_local_cluster_gives_the_sequential_fits(sequential):
    import distributed

    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", bl.ConvergenceWarning)
        clustered = bl.fit_many([_data(1), _data(2, 1.1)], "chinchilla", random_seed=[3, 4], executor=client, **FAST)
    for a, b in zip(clustered, sequential, strict=True):
        assert _same_draws(a, b)
        assert a.diagnostics == b.diagnostics


def test_backend_samples_a_subset_of_chains_from_given_starts(sequential):
    """The backend side of rerunning only stuck chains: k new chains from given starts, other settings kept."""
    from bayeslaw.sampling import SamplerConfig

    entry = compiled.compiled_model(_data(1), resolve_spec("chinchilla"), "nutpie")  # cached by the fixture
    first = entry.backend.sample(entry.prepared, SamplerConfig(draws=40, tune=40, chains=2), 5, 1, keep_state=True)
    starts = entry.backend.start_points(entry.prepared, first, [1], 1, 6)
    run = entry.backend.sample_chains(entry.prepared, SamplerConfig(draws=30, tune=40, chains=4), 6, 2, starts, 1)
    post = results.posterior(run.idata)
    assert (post.sizes["chain"], post.sizes["draw"]) == (1, 30)
