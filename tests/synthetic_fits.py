"""A :class:`bayeslaw.Fit` around posterior-like synthetic draws (Chinchilla law, no sampling), over any two group axes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

import bayeslaw as bl
from bayeslaw import results
from bayeslaw.diagnostics import Diagnostics
from bayeslaw.fit import Fit
from bayeslaw.spec import resolve_spec

SKILLS = ["code", "knowledge", "text"]
DATAMIXES = ["dm1", "dm2"]


def synthetic_fit(first: str = "skill", second: str = "datamix", seed: int = 7) -> Fit:
    """Draws over ``first`` (labels SKILLS, distinct exponents) x ``second`` (labels DATAMIXES), 2 chains x 200 draws."""
    rng = np.random.default_rng(seed)
    chains, draws = 2, 200
    shape = (chains, draws, len(SKILLS), len(DATAMIXES))
    coords = {"chain": np.arange(chains), "draw": np.arange(draws), first: SKILLS, second: DATAMIXES}
    dims = ("chain", "draw", first, second)

    def lognormal(mu: list[float], sd: float) -> xr.DataArray:
        values = np.exp(rng.normal(np.asarray(mu)[:, None], sd, shape) + rng.normal(0, 0.05, (1, 1, 1, len(DATAMIXES))))
        return xr.DataArray(values, dims=dims, coords=coords)

    posterior = xr.Dataset(
        {
            "E": lognormal([0.2, 0.6, 0.9], 0.05),
            "a_ref": lognormal([-1.6, -0.4, -1.0], 0.2),
            "b_ref": lognormal([-0.4, -1.6, -1.0], 0.2),
            "alpha": lognormal([np.log(0.30), np.log(0.38), np.log(0.34)], 0.08),
            "beta": lognormal([np.log(0.36), np.log(0.28), np.log(0.30)], 0.08),
            **{
                name: xr.DataArray(
                    np.full((chains, draws), value), dims=("chain", "draw"), coords={k: coords[k] for k in ("chain", "draw")}
                )
                for name, value in (("sigma", 0.01), ("nu", 5.0))
            },
        }
    )
    frame = pd.DataFrame(
        [{"N": n, "D": 20 * n, "loss": 3.0, first: s, second: m} for n in (1e7, 1e8, 1e9) for s in SKILLS for m in DATAMIXES]
    )
    data = bl.ScalingData.from_frame(frame, groups=[first, second])
    diagnostics = Diagnostics(max_rhat=1.0, min_ess_bulk=1000.0, min_ess_tail=1000.0, n_divergent=0, n_draws=chains * draws)
    return Fit(
        idata=results.from_datasets({"posterior": posterior}),
        data=data,
        spec=resolve_spec("chinchilla"),
        refs={"N": 1e8, "D": 2e9},
        diagnostics=diagnostics,
        seed=0,
    )
