# %% [markdown]
# # Knowledge vs code: a simulation of validation-mix misspecification, calibrated to Roberts et al. (2025)
#
# Roberts et al. (2025, "Compute Optimal Scaling of Skills: Knowledge vs Reasoning") find that knowledge-based QA is
# capacity-hungry and code is data-hungry, and that the compute-optimal parameter count implied by a validation set
# can shift by nearly 50 % with its mix (quoted reference number). This simulation builds two skills with that
# structure, measured on the same training runs (one shared datamix), and asks:
#
# 1. how far does N* move when the validation mix is misspecified (the user cares about knowledge, the validation
#    set is half code)?
# 2. how large must the true shift be before the posterior can tell it from noise, given the number of runs?
#
# **Truth.** Chinchilla laws per skill, L_s = E_s + A_s/N^alpha_s + B_s/D^beta_s. Knowledge: alpha = 0.30,
# beta = 0.36 (allocation exponent a = 0.545, capacity-hungry); code: alpha = 0.36, beta = 0.30 (a = 0.455,
# data-hungry). The amplitudes B_s are solved for (in code, below) so that at the reference budget 1e21 FLOPs code is
# optimal at 40 tokens per parameter and knowledge's N* is 1/(1 - S) times code's: moving the validation set from
# all-knowledge to all-code shifts N* by -S. The main scenario has S = 50 %, Roberts et al.'s size.
#
# **Runs.** A grid of 16 sizes from 10M to 1B parameters x 5 to 80 tokens per parameter (budgets up to 5e20 FLOPs),
# thinned at random to k = 20, 40 or 80 runs per skill; 1 % multiplicative noise. Each scenario is simulated 3 times
# (different seeds) and fitted with `models/independent.toml` (every parameter per skill, shared noise); the shift is
# computed per draw. A shift counts as told from noise when its 90 % interval excludes 0.

# %%
from __future__ import annotations

import time

import casekit
import numpy as np
import pandas as pd
import xarray as xr

import bayeslaw as bl
from bayeslaw.constants import CREDIBLE_INTERVAL, DEFAULT_SEED
from bayeslaw.laws import get_law
from bayeslaw.mix import MixSweep, isoflop_curves, sweep_mix, sweep_params, two_skill_path
from bayeslaw.plotting import plot_isoflop_mix, plot_mix_sweep
from bayeslaw.simulate import simulate

START = time.time()
FAST = casekit.FAST
SAMPLER = casekit.sampler_settings()
out = casekit.Results("knowledge_vs_code", "Knowledge vs code: how a misspecified validation mix shifts N* (simulation)")

SKILLS = ("knowledge", "code")
REFERENCE_BUDGET = 1e21
BUDGETS = (1e19, 1e20, 1e21, 1e22, 1e23)
CODE_TOKENS_PER_PARAM = 40.0
EXPONENTS = {"knowledge": {"alpha": 0.30, "beta": 0.36}, "code": {"alpha": 0.36, "beta": 0.30}}
LEVELS = {"knowledge": {"E": 1.9, "A": 400.0}, "code": {"E": 1.0, "A": 400.0}}
SIGMA = 0.01
#: Published reference (Roberts et al. 2025): N* of a validation mix can shift by nearly 50 %.
ROBERTS_SHIFT = 0.5
#: Design: 16 sizes from 10M to 1B parameters x 5 to 80 tokens per parameter (80 runs per skill before thinning).
SIZES = tuple(np.geomspace(1e7, 1e9, 16))
#: True shifts S (all-code vs all-knowledge N* at the reference budget) x runs per skill x replicate simulations.
SHIFTS = (0.5, 0.0) if FAST else (0.0, 0.1, 0.25, 0.5)
RUNS = (40, 20) if FAST else (20, 40, 80)
REPLICATES = 1 if FAST else 3
SCENARIOS = list(zip(SHIFTS, RUNS, strict=True)) if FAST else [(s, k) for s in SHIFTS for k in RUNS]
MAIN = (0.5, 80)
#: The misspecification example: the user cares about knowledge only; the validation set is this much code.
VALIDATION_CODE_WEIGHT = 0.5
law = get_law("chinchilla")


def truth_params(shift: float) -> dict[str, dict[str, float]]:
    """Paper-form parameters per skill, with B solved so the optima sit where the design says (see above)."""
    half = REFERENCE_BUDGET / 6.0
    n_code = np.sqrt(half / CODE_TOKENS_PER_PARAM)
    targets = {"code": n_code, "knowledge": n_code / (1.0 - shift)}
    out_params: dict[str, dict[str, float]] = {}
    for skill in SKILLS:
        alpha, beta = EXPONENTS[skill]["alpha"], EXPONENTS[skill]["beta"]
        a = beta / (alpha + beta)
        g = targets[skill] / half**a  # N* = G (C/6)^a, G = (alpha A / (beta B))^(1/(alpha+beta))
        b_amp = alpha * LEVELS[skill]["A"] / (beta * g ** (alpha + beta))
        out_params[skill] = {**LEVELS[skill], "B": float(b_amp), "alpha": alpha, "beta": beta}
    return out_params


def by_parameter(params: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """{skill: {name: v}} -> {name: {skill: v}} (the simulator's per-group form)."""
    return {name: {skill: params[skill][name] for skill in SKILLS} for name in params[SKILLS[0]]}


def true_sweep(shift: float, refs: dict[str, float], path: xr.DataArray) -> MixSweep:
    """The sweep on the true parameters (a single 'draw')."""
    raw = truth_params(shift)
    sampled = {skill: law.from_raw(raw[skill], refs, np) for skill in SKILLS}
    params = {
        name: xr.DataArray([[[sampled[s][name] for s in SKILLS]]], dims=("chain", "draw", "skill"), coords={"skill": list(SKILLS)})
        for name in law.parameters
    }
    return sweep_params(law, params, refs, BUDGETS, path, path.isel(mix=0, drop=True))


# %% [markdown]
# ## The calibrated truth

# %%
path = two_skill_path("knowledge", "code")  # mix coordinate = weight of code; reference = all-knowledge
truth_rows = []
for shift in SHIFTS:
    for skill, p in truth_params(shift).items():
        truth_rows.append({"S": shift, "skill": skill, **p, "a": p["beta"] / (p["alpha"] + p["beta"])})
out.table(
    pd.DataFrame(truth_rows).set_index(["S", "skill"]), caption="True parameters per scenario (B solved for the design)", floatfmt=".4g"
)

# %% [markdown]
# ## Fits: every scenario (true shift S x runs per skill)

# %%
rows = []
fits = {}
for shift, runs in SCENARIOS:
    for replicate in range(REPLICATES):
        seed = DEFAULT_SEED + 1000 * replicate + int(100 * shift) + runs
        sim = simulate(
            "chinchilla",
            by_parameter(truth_params(shift)),
            sizes=SIZES,
            skills=list(SKILLS),
            runs={s: runs for s in SKILLS},
            sigma=SIGMA,
            seed=seed,
        )
        fit = bl.fit(sim.data, model="independent", random_seed=seed, **SAMPLER)
        fits[(shift, runs, replicate)] = (fit, sim)
        at = {"budget": REFERENCE_BUDGET, "mix": 1.0}
        draws = sweep_mix(fit, [REFERENCE_BUDGET], path).draws["shift"].sel(at)
        true_shift = float(true_sweep(shift, dict(sim.refs), path).draws["shift"].sel(at).squeeze())
        lo, med, hi = (float(v) for v in draws.quantile([(1 - CREDIBLE_INTERVAL) / 2, 0.5, (1 + CREDIBLE_INTERVAL) / 2]))
        rows.append(
            {
                "S": shift,
                "runs": runs,
                "replicate": replicate,
                "true shift": true_shift,
                "median": med,
                "lower": lo,
                "upper": hi,
                "P(shift < 0)": float((draws < 0).mean()),
                "detected": hi < 0 or lo > 0,
                "covered": lo <= true_shift <= hi,
                "converged": fit.converged,
            }
        )
        print(rows[-1])
runs_table = pd.DataFrame(rows)
summary_rows = []
for (_shift, runs), group in runs_table.groupby(["S", "runs"], sort=True):
    told = int((group["detected"] & group["converged"]).sum())
    summary_rows.append(
        {
            "true shift": f"{float(group['true shift'].iloc[0]):+.0%}",
            "runs per skill": runs,
            "told from noise (of converged replicates)": f"{told} / {int(group['converged'].sum())}",
            "median of posterior medians": f"{group['median'].median():+.1%}",
            f"median {CREDIBLE_INTERVAL:.0%} interval width (pp)": f"{100 * (group['upper'] - group['lower']).median():.0f}",
            "truth covered": f"{int(group['covered'].sum())} / {len(group)}",
            "converged": f"{int(group['converged'].sum())} / {len(group)}",
        }
    )
scenario_table = pd.DataFrame(summary_rows).set_index(["true shift", "runs per skill"])
out.heading(f"Can the posterior tell the shift from noise? (all-code vs all-knowledge N* at {REFERENCE_BUDGET:.0e} FLOPs)")
out.table(scenario_table)
# Conclusions rest only on converged fits: a scenario with an unconverged replicate is not counted as
# "told from noise in every replicate", and false alarms are counted among converged fits.
smallest, undecided = {}, {}
for runs in RUNS:
    sub = runs_table[(runs_table["runs"] == runs) & (runs_table["S"] > 0)]
    always = sorted(s for s, g in sub.groupby("S") if g["converged"].all() and g["detected"].all())
    smallest[runs] = f"{-always[0]:+.0%}" if always else "none of those simulated"
    undecided[runs] = sorted(f"{-s:+.0%}" for s, g in sub.groupby("S") if not g["converged"].all())
nulls = runs_table[(runs_table["S"] == 0) & runs_table["converged"]]
out.bullet_list(
    [
        f"Smallest simulated shift told from noise in every replicate with {runs} runs per skill: {smallest[runs]}"
        + (f" (not decided for {', '.join(undecided[runs])}: a replicate did not converge)" if undecided[runs] else "")
        for runs in RUNS
    ]
    + [
        f"Converged simulations with no true shift flagged as a shift (false alarms): {int(nulls['detected'].sum())} of {len(nulls)}"
        f" ({int((runs_table['S'] == 0).sum()) - len(nulls)} unconverged not counted)"
    ]
)
shown = runs_table.assign(
    **{
        "true shift": [f"{v:+.1%}" for v in runs_table["true shift"]],
        f"{CREDIBLE_INTERVAL:.0%} interval": [
            f"[{lo:+.1%}, {hi:+.1%}]" for lo, hi in zip(runs_table["lower"], runs_table["upper"], strict=True)
        ],
        "median": [f"{v:+.1%}" for v in runs_table["median"]],
    }
).drop(columns=["lower", "upper"])
out.table(shown.set_index(["S", "runs", "replicate"]), caption="Every simulation", floatfmt=".3f")

# %% [markdown]
# ## The main scenario: a shift of Roberts et al.'s size, and a misspecified validation mix

# %%
main_key = MAIN if (*MAIN, 0) in fits else SCENARIOS[0]
fit, sim = fits[(*main_key, 0)]
sweep = sweep_mix(fit, BUDGETS, path)
truth = true_sweep(main_key[0], dict(sim.refs), path)
misspec = sweep.draws["shift"].sel(mix=VALIDATION_CODE_WEIGHT)
lo, med, hi = (
    float(v) for v in misspec.quantile([(1 - CREDIBLE_INTERVAL) / 2, 0.5, (1 + CREDIBLE_INTERVAL) / 2], dim=("chain", "draw")).T[0]
)
rows = []
for budget in BUDGETS:
    d = misspec.sel(budget=budget)
    q = [float(v) for v in d.quantile([(1 - CREDIBLE_INTERVAL) / 2, 0.5, (1 + CREDIBLE_INTERVAL) / 2])]
    rows.append(
        {
            "budget": f"{budget:.0e}",
            "true shift": f"{float(truth.draws['shift'].sel(budget=budget, mix=VALIDATION_CODE_WEIGHT).squeeze()):+.1%}",
            "posterior median": f"{q[1]:+.1%}",
            f"{CREDIBLE_INTERVAL:.0%} interval": f"[{q[0]:+.1%}, {q[2]:+.1%}]",
            "P(shift < 0)": f"{float((d < 0).mean()):.3f}",
        }
    )
out.heading(f"Misspecified validation mix (S = {main_key[0]:.0%}, {main_key[1]} runs per skill)")
out.text(
    f"Fit of this scenario (replicate 0): {fit.diagnostics.banner()}",
    f"The user cares about knowledge only, but validates on a mix with {VALIDATION_CODE_WEIGHT:.0%} code. The N* that "
    "validation set implies, relative to the N* the user needs (per draw):",
)
out.table(pd.DataFrame(rows).set_index("budget"))
figure = plot_mix_sweep(sweep, xlabel="weight of code in the validation mix (reference: all-knowledge)", fit=fit)
axes = figure.get_axes()
x = truth.draws["mix"].values
for budget in BUDGETS:
    axes[0].plot(x, truth.draws["N_opt"].sel(budget=budget).squeeze(), color="k", linestyle=":", linewidth=1)
    axes[1].plot(x, 100 * truth.draws["shift"].sel(budget=budget).squeeze(), color="k", linestyle=":", linewidth=1)
axes[1].axhline(-100 * ROBERTS_SHIFT, color="C3", linestyle="--", linewidth=0.8, label="Roberts et al.: ~50% (quoted)")
axes[1].legend(fontsize=8)
out.figure(figure, "sweep", "N* and its shift against all-knowledge validation, by code weight; dotted: the truth")
curves = isoflop_curves(fit, REFERENCE_BUDGET, {"knowledge": 1 - VALIDATION_CODE_WEIGHT, "code": VALIDATION_CODE_WEIGHT})
out.figure(
    plot_isoflop_mix(curves, fit=fit), "isoflop", f"Iso-FLOP loss curves at {REFERENCE_BUDGET:.0e} FLOPs: knowledge, code and the 50/50 mix"
)
out.table(curves.optimum_table().set_index(["quantity", "curve"]), caption=f"Optima at {REFERENCE_BUDGET:.0e} FLOPs")

# %%
out.text(f"Runtime: {time.time() - START:.0f} s.")
out.write()
