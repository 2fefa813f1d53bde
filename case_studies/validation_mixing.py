# %% [markdown]
# # Skills and validation mixing on real data: how far does N* move when the validation set moves?
#
# A validation set is a mix of skills. Roberts et al. (2025, "Compute Optimal Scaling of Skills: Knowledge vs
# Reasoning") report that the compute-optimal parameter count implied by a validation set can shift by nearly 50 %
# depending on its mix (quoted reference number, not computed here). This study asks the same question of real
# runs with honest uncertainty.
#
# **Data.** Gadre et al. (2024) over-training runs (`load_dataset("overtraining")`): 104 models (0.011B-6.9B
# parameters, 0.25-32x Chinchilla's 20 tokens per parameter) trained on C4, RedPajama or RefinedWeb, each evaluated
# on code (Paloma's dolma programming-languages split) and on three natural-language sets (C4 validation, Paloma
# PTB, Paloma RedPajama). Skill = evaluation set, datamix = training set.
#
# **Datamix.** The optimum of a mix is computed for the models trained on RedPajama (`rpj`): it is the only
# training set here that contains code (GitHub and StackExchange), so it is the setting where a user would care
# about a code/text validation mix. Only the RedPajama runs are fitted. A joint fit over the three training sets
# (datamix offsets added to E, a_ref, b_ref on the log scale) leaves most chains of its first run in modes of far
# lower density; `fit` detects this and reruns the chains from draws of the best one (`bayeslaw.sampling`), which
# the fit's notes record. This study does not depend on that rerun.
#
# **Models.** The default hierarchical law (`models/hierarchical.toml`: shared exponents, E / a_ref / b_ref
# partially pooled over skills) and its extension with skill-specific exponents (`models/skill_exponents.toml`).
# With shared exponents every mix is itself a Chinchilla law with the same a, so the shift of N* between mixes cannot
# depend on the budget; with skill-specific exponents it can. The two are compared by PSIS-LOO; the primary model is
# the one LOO prefers (its convergence diagnostics are reported with it), and the other is the sensitivity check.
# Both are sampled with target_accept = 0.95 (bayeslaw's default is 0.9; `skill_exponents.toml` already asks for 0.95).
#
# **Sweep.** Paths from all-text (code weight 0, the reference) to all-code (code weight 1), 21 weights, at budgets
# 1e20 ... 1e24 FLOPs, for each text set and for an equal blend of the three. The shift is N*(mix)/N*(all-text) - 1,
# per posterior draw.
#
# **Roberts et al.'s size.** "Nearly 50 %" is read as a factor of 1.5 between the N* of two validation mixes, in
# either direction: a shift of at least +50 % or at most -33 % (= 1/1.5 - 1).

# %%
from __future__ import annotations

import time

import casekit
import numpy as np
import pandas as pd

import bayeslaw as bl
from bayeslaw.constants import CREDIBLE_INTERVAL, DEFAULT_SEED
from bayeslaw.mix import MixSweep, isoflop_curves, mix_path, sweep_mix, two_skill_path
from bayeslaw.plotting import plot_isoflop_mix, plot_mix_sweep
from bayeslaw.summaries import format_interval

START = time.time()
FAST = casekit.FAST
SAMPLER = casekit.sampler_settings()
out = casekit.Results("validation_mixing", "Skills and validation mixing on real data (Gadre et al. 2024 over-training runs)")

CODE = "paloma_dolma_100_programing_languages"
TEXT = ("c4_val", "paloma_ptb", "paloma_redpajama")
DATAMIX = "rpj"
#: NUTS target acceptance for these fits (the library default is 0.9).
TARGET_ACCEPT = 0.95
BUDGETS = (1e20, 1e21, 1e22, 1e23, 1e24)
STEPS = 21
#: Published reference (Roberts et al. 2025): the validation mix can shift compute-optimal N* by nearly 50 %.
ROBERTS_FACTOR = 1.5
MODELS = ("skill_exponents", "hierarchical")


def roberts_sized(shift: np.ndarray) -> np.ndarray:
    """Whether N* differs by at least Roberts et al.'s factor 1.5 (either direction)."""
    return np.abs(np.log1p(shift)) >= np.log(ROBERTS_FACTOR)


# %% [markdown]
# ## Data and fits

# %%
data = bl.load_dataset("overtraining", eval_sets=[CODE, *TEXT], train_datasets=[DATAMIX])
compute = data.values("C")
fits = {name: bl.fit(data, model=name, random_seed=DEFAULT_SEED, target_accept=TARGET_ACCEPT, **SAMPLER) for name in MODELS}
for name, f in fits.items():
    print(name, f.diagnostics.banner())
comparison = bl.compare(fits)
out.text(
    f"Data: {len(data)} observations = {len(data) // len(data.levels['skill'])} runs trained on `{DATAMIX}` x "
    f"{len(data.levels['skill'])} evaluation sets; "
    f"training compute {compute.min():.2g} ... {compute.max():.2g} FLOPs, so budgets above {compute.max():.1g} are extrapolations. "
    f"Each model: {SAMPLER['chains']} chains x {SAMPLER['draws']} draws after {SAMPLER['tune']} tuning steps, seed {DEFAULT_SEED}.",
)
out.bullet_list([f"`{name}`: {f.diagnostics.banner()}" for name, f in fits.items()])
out.table(comparison.ranking, caption="PSIS-LOO comparison (higher elpd is better)")
PRIMARY = comparison.best
ALTERNATIVE = next(name for name in MODELS if name != PRIMARY)
out.text(
    f"LOO prefers `{comparison.best}`; converged fits: {[n for n in MODELS if fits[n].converged] or 'none'}. "
    f"Primary model below: `{PRIMARY}`"
    + ("" if fits[PRIMARY].converged else f" (flagged by bayeslaw's convergence checks: {fits[PRIMARY].diagnostics.banner()})")
    + f"; `{ALTERNATIVE}` is the sensitivity check."
)
fit = fits[PRIMARY]
exponents = fits["skill_exponents"].summary(CREDIBLE_INTERVAL)
exponent_rows = exponents[exponents.index.str.match(r"^(alpha|beta|a)\[")][["median", "lower", "upper"]]
out.table(
    exponent_rows, caption=f"`skill_exponents` model: exponents and a = beta/(alpha+beta) per skill ({CREDIBLE_INTERVAL:.0%} intervals)"
)

# %% [markdown]
# ## Each skill's own compute-optimal N*

# %%
one_hot = {skill: {skill: 1.0} for skill in (CODE, *TEXT)}
per_skill = fit.compute_optimal(BUDGETS, mix=one_hot)
tidy = per_skill.summary(CREDIBLE_INTERVAL)
n_rows = tidy[tidy["quantity"].isin(["N_opt", "tokens_per_param"])].copy()
n_rows["value"] = [format_interval(m, lo, hi) for m, lo, hi in zip(n_rows["median"], n_rows["lower"], n_rows["upper"], strict=True)]
per_skill_table = n_rows.pivot(index=["quantity", "budget"], columns="mix", values="value")
out.heading(f"Per-skill optima (training set `{DATAMIX}`)")
out.table(per_skill_table, caption=f"N* and D*/N* per evaluation set: median [{CREDIBLE_INTERVAL:.0%} interval]")

# %% [markdown]
# ## Sweeping the validation mix from all-text to all-code

# %%
paths = {text: two_skill_path(text, CODE, STEPS) for text in TEXT}
paths["text blend"] = mix_path({t: 1.0 for t in TEXT}, {CODE: 1.0}, STEPS)
sweeps = {label: sweep_mix(fit, BUDGETS, path) for label, path in paths.items()}


def budget_label(sweep: MixSweep, largest: dict) -> str:
    """The budget of the largest shift, or 'every budget' where the shift does not depend on it (shared exponents)."""
    medians = sweep.draws["shift"].sel(mix=largest["mix"]).median(("chain", "draw"))
    flat = float(medians.max() - medians.min()) <= 1e-6 * max(abs(float(medians.mean())), 1e-12)
    return "every budget (identical)" if flat else f"{largest['budget']:.0e} FLOPs"


rows = []
for label, sweep in sweeps.items():
    largest = sweep.largest_shift(CREDIBLE_INTERVAL)
    at_largest = sweep.draws["shift"].sel(budget=largest["budget"], mix=largest["mix"])
    end_medians = sweep.draws["shift"].isel(mix=-1).median(("chain", "draw"))
    rows.append(
        {
            "text set (reference)": label,
            "budget of largest shift": budget_label(sweep, largest),
            "code weight": f"{largest['mix']:.2f}",
            "largest shift of N* (median)": f"{largest['median']:+.1%}",
            f"{CREDIBLE_INTERVAL:.0%} interval": f"[{largest['lower']:+.1%}, {largest['upper']:+.1%}]",
            f"P(factor >= {ROBERTS_FACTOR})": f"{float(roberts_sized(at_largest).mean()):.3f}",
            "all-code shift, medians over budgets": f"{float(end_medians.min()):+.1%} ... {float(end_medians.max()):+.1%}",
        }
    )
largest_table = pd.DataFrame(rows).set_index("text set (reference)")
out.heading(f"How far N* moves (training set `{DATAMIX}`, model `{PRIMARY}`)")
out.text(
    "Shift = N*(validation mix) / N*(all-text) - 1, computed per posterior draw; 'largest' is the budget and code weight "
    "with the largest posterior-median |shift| (on a two-skill path N* moves monotonically, so that is an end point; "
    "the blend path need not be monotone)."
)
out.table(largest_table)

overall_label = max(sweeps, key=lambda k: abs(sweeps[k].largest_shift(CREDIBLE_INTERVAL)["median"]))
overall = sweeps[overall_label].largest_shift(CREDIBLE_INTERVAL)
overall_draws = sweeps[overall_label].draws["shift"].sel(budget=overall["budget"], mix=overall["mix"])
p_roberts = float(roberts_sized(overall_draws).mean())
up, down = ROBERTS_FACTOR - 1, 1 / ROBERTS_FACTOR - 1
supports = overall["lower"] >= up or overall["upper"] <= down
compatible = overall["upper"] >= up or overall["lower"] <= down
if supports:
    verdict = "supports a shift at least as large as the ~50 % Roberts et al. report: the whole interval lies beyond a factor 1.5"
elif compatible:
    verdict = (
        "is compatible with a shift of the size Roberts et al. report but does not establish it: the interval also holds smaller shifts"
    )
else:
    verdict = "does not support a shift of the size Roberts et al. report: the whole interval lies within a factor 1.5"
out.text(
    f"**Largest shift.** Across the four text references, the five budgets and 21 code weights, the largest shift of N* "
    f"is {overall['median']:+.1%} ({CREDIBLE_INTERVAL:.0%} interval [{overall['lower']:+.1%}, {overall['upper']:+.1%}]), moving "
    f"the validation set from all-`{overall_label}` to code weight {overall['mix']:.2f} (budget: "
    f"{budget_label(sweeps[overall_label], overall)}; posterior probability that N* moves up: {overall['p_positive']:.3f}; "
    f"that N* changes by a factor >= {ROBERTS_FACTOR}: {p_roberts:.3f}).",
    f"**Against Roberts et al.** The data {verdict}.",
)

# %% [markdown]
# ## The other training sets, and the shared-exponent model

# %%
rows = []
for name, model_fit in fits.items():
    for label in paths:
        sweep = sweep_mix(model_fit, BUDGETS, paths[label])
        result = sweep.largest_shift(CREDIBLE_INTERVAL)
        at_result = sweep.draws["shift"].sel(budget=result["budget"], mix=result["mix"])
        rows.append(
            {
                "model": name,
                "text reference": label,
                "budget": budget_label(sweep, result),
                "largest shift (median)": f"{result['median']:+.1%}",
                f"{CREDIBLE_INTERVAL:.0%} interval": f"[{result['lower']:+.1%}, {result['upper']:+.1%}]",
                f"P(factor >= {ROBERTS_FACTOR})": f"{float(roberts_sized(at_result).mean()):.3f}",
                "converged": "yes" if model_fit.converged else "NO",
            }
        )
out.heading("Sensitivity: the other model")
out.text("Under `hierarchical` the shift is the same at every budget by construction (shared exponents).")
out.table(pd.DataFrame(rows).set_index(["model", "text reference"]))

# %% [markdown]
# ## Figures

# %%
for label, stem, xlabel in (
    ("c4_val", "sweep_c4", "weight of code in the validation mix (rest: C4 validation)"),
    ("text blend", "sweep_blend", "weight of code (rest: equal blend of C4, PTB, RedPajama)"),
):
    figure = plot_mix_sweep(sweeps[label], xlabel=xlabel, shift_scale="log", fit=fit)
    ratio_axis = figure.get_axes()[1]
    for level in (ROBERTS_FACTOR, 1 / ROBERTS_FACTOR):
        ratio_axis.axhline(level, color="C3", linestyle="--", linewidth=0.8)
    ratio_axis.set_title(f"dashed: a factor {ROBERTS_FACTOR} either way (Roberts et al.'s ~50 %, quoted)", fontsize=8)
    out.figure(
        figure,
        stem,
        f"N* and N*(mix)/N*(all-{label}) as the code weight grows, training set {DATAMIX}, model {PRIMARY} ({CREDIBLE_INTERVAL:.0%} bands)",
    )
curves = isoflop_curves(fit, 1e22, {CODE: 0.5, "c4_val": 0.5})
out.figure(
    plot_isoflop_mix(curves, fit=fit), "isoflop", "Iso-FLOP loss curves at 1e22 FLOPs: code, C4 and their 50/50 mix, each optimum marked"
)
out.table(curves.optimum_table().set_index(["quantity", "curve"]), caption="Optima of the iso-FLOP curves at 1e22 FLOPs")

# %%
out.text(f"Runtime: {time.time() - START:.0f} s.")
out.write()
