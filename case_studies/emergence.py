# %% [markdown]
# # Emergence as a metric artefact: smooth loss, sudden thresholded metric
#
# A capability "emerges" when a metric jumps from failing to passing between two model scales. Schaeffer et al.
# (2023) argued that many such jumps come from the metric, not the model: a thresholded or discontinuous score
# of a quantity that improves smoothly looks sudden. The over-training data (Gadre et al. 2024) show it directly.
# The C4 loss falls smoothly with compute, the 17-task average top-1 error falls smoothly with the loss
# (Err = eps - k exp(-gamma L)), yet the pass/fail metric "average accuracy above 50 %" (error < 0.5) is 0 for
# every run up to 0.411B parameters and 1 for the largest runs: an apparently sudden jump.
#
# Here the over-training law and the link are fitted on the small runs only (N <= 0.154B, every token multiplier
# M), per training set, and the chained Bayesian forecast (`bayeslaw.downstream`) is checked on every larger run
# (0.411B, 1.4B, 6.9B) for
#
# 1. the continuous quantities: do the 90% predictive intervals of loss and error contain the measured values
#    about 90% of the time (calibration)?
# 2. the thresholded metric: the plug-in forecast (threshold the posterior median) jumps from 0 to 1 at one
#    compute budget, while the Bayesian forecast P(error < 0.5) rises smoothly and is scored against the outcomes.

# %%
from __future__ import annotations

import time

import casekit
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import bayeslaw as bl
from bayeslaw.constants import CREDIBLE_INTERVAL, DEFAULT_SEED, DRAW_DIM
from bayeslaw.data import ScalingData
from bayeslaw.datasets import read_csv
from bayeslaw.downstream import forecast_downstream
from bayeslaw.plotting import title_figure

START = time.time()
#: A full run samples longer than the default (E against eta is banana-shaped) with smaller NUTS steps.
SAMPLER = casekit.sampler_settings() if casekit.FAST else {"draws": 4000, "tune": 3000, "chains": 4}
TARGET_ACCEPT = {"loss": 0.99, "link": 0.99}
PROB = CREDIBLE_INTERVAL
out = casekit.Results("emergence", "Emergence as a metric artefact: smooth loss, sudden thresholded metric")

TRAIN_SETS = {"rpj": "RedPajama", "c4_original": "C4", "rw_original": "RefinedWeb"}
LOSS_COLUMN, ERROR_COLUMN = "loss_c4_val", "err_avg17_subset"
#: Pass/fail threshold of the metric: average top-1 error below 0.5 (accuracy above 50 %).
THRESHOLD = 0.5
#: Runs with at most this many parameters are the fitting set (0.011B, 0.079B, 0.154B at every M).
MAX_FIT_PARAMS = 2e8

runs = read_csv("overtraining_runs.csv").set_index("run_name")
runs["M"] = np.round(runs["D_tokens"] / runs["N_params"], 6)
runs["C"] = 6.0 * runs["N_params"].astype(float) * runs["D_tokens"].astype(float)

# %% [markdown]
# ## Fits on the small runs

# %%
fits: dict[str, tuple[bl.Fit, bl.Fit]] = {}
for ds in TRAIN_SETS:
    losses = bl.load_dataset("overtraining", eval_sets=["c4_val"], train_datasets=[ds], max_params=MAX_FIT_PARAMS)
    sub = runs[(runs["train_dataset"] == ds) & (runs["N_params"] <= MAX_FIT_PARAMS)]
    link_data = ScalingData.from_frame(
        sub, target="error", inputs=["loss"], columns={"loss": LOSS_COLUMN, "error": ERROR_COLUMN}, name=f"link-{ds}"
    )
    loss_fit = bl.fit(losses, "overtraining", random_seed=DEFAULT_SEED, target_accept=TARGET_ACCEPT["loss"], **SAMPLER)
    link_fit = bl.fit(link_data, "error_link", random_seed=DEFAULT_SEED, target_accept=TARGET_ACCEPT["link"], **SAMPLER)
    fits[ds] = (loss_fit, link_fit)
    print(bl.report(loss_fit))
    print(bl.report(link_fit))

out.heading("Fits")
out.text(
    f"Per training set: `overtraining` on the C4 eval loss and `error_link` on (loss, 17-task error) pairs, both fitted on "
    f"the runs with N <= {MAX_FIT_PARAMS:.2g} parameters (3 sizes x 8 token multipliers = 24 runs). "
    f"Sampler: {SAMPLER['chains']} chains x {SAMPLER['draws']} draws after {SAMPLER['tune']} tuning, seed {DEFAULT_SEED}, "
    f"target acceptance {TARGET_ACCEPT['loss']} (loss) and {TARGET_ACCEPT['link']} (link). Both models as shipped.",
)
out.bullet_list(
    [
        f"{TRAIN_SETS[ds]} {kind}: {f.diagnostics.banner()}"
        for ds, pair in fits.items()
        for kind, f in zip(("loss fit", "link fit"), pair, strict=True)
    ]
)

# %% [markdown]
# ## Forecasts of every larger run

# %%
rows = []
for ds, (loss_fit, link_fit) in fits.items():
    held = runs[(runs["train_dataset"] == ds) & (runs["N_params"] > MAX_FIT_PARAMS)].sort_values("C")
    fc = forecast_downstream(loss_fit, link_fit, held["N_params"].to_numpy(), held["D_tokens"].to_numpy(), prob=PROB)
    table = fc.intervals(PROB)
    p_pass = (fc.draws["error_observation"] < THRESHOLD).mean(DRAW_DIM).values
    for i, run in enumerate(held.index):
        loss_true, err_true = held.loc[run, LOSS_COLUMN], held.loc[run, ERROR_COLUMN]
        rows.append(
            {
                "training set": TRAIN_SETS[ds],
                "run": f"{held.loc[run, 'model_size_label']}, M = {held.loc[run, 'M']:g}",
                "C": held.loc[run, "C"],
                "loss": loss_true,
                "loss in 90% PI": bool(table["loss_observation_lower"][i] <= loss_true <= table["loss_observation_upper"][i]),
                "loss PIT": float((fc.draws["loss_observation"].isel(point=i) < loss_true).mean()),
                "error": err_true,
                "error median": table["error_observation_median"][i],
                "error in 90% PI": bool(table["error_observation_lower"][i] <= err_true <= table["error_observation_upper"][i]),
                "error PIT": float((fc.draws["error_observation"].isel(point=i) < err_true).mean()),
                "passes (error < 0.5)": int(err_true < THRESHOLD),
                "plug-in forecast": int(table["error_observation_median"][i] < THRESHOLD),
                "P(pass)": float(p_pass[i]),
            }
        )
held_table = pd.DataFrame(rows)

cover = (
    held_table.groupby("training set", sort=False)
    .agg(
        runs=("run", "size"),
        loss_in_90=("loss in 90% PI", "sum"),
        error_in_90=("error in 90% PI", "sum"),
        passing=("passes (error < 0.5)", "sum"),
        expected_passing=("P(pass)", "sum"),
    )
    .reset_index()
)
total = {
    "training set": "all",
    "runs": len(held_table),
    "loss_in_90": int(held_table["loss in 90% PI"].sum()),
    "error_in_90": int(held_table["error in 90% PI"].sum()),
    "passing": int(held_table["passes (error < 0.5)"].sum()),
    "expected_passing": float(held_table["P(pass)"].sum()),
}
cover = pd.concat([cover, pd.DataFrame([total])], ignore_index=True)
outcome = held_table["passes (error < 0.5)"].to_numpy(dtype=float)
brier_bayes = float(np.mean((held_table["P(pass)"] - outcome) ** 2))
brier_plugin = float(np.mean((held_table["plug-in forecast"] - outcome) ** 2))
eps = 1e-3
logscore_bayes = float(-np.mean(np.log(np.clip(np.where(outcome == 1, held_table["P(pass)"], 1 - held_table["P(pass)"]), eps, 1))))

out.heading("Calibration of the continuous forecasts")
out.text(
    "Each larger run's C4 loss and 17-task error, forecast from the small-run fits (chained for the error). `in 90% PI`: "
    "the measured value lies in the 90% posterior predictive interval. PIT: the forecast's probability of a value below the "
    "measured one (uniform on [0, 1] for a calibrated forecast). `P(pass)`: posterior predictive probability of error < 0.5."
)
out.table(held_table, caption="Every held-out run", floatfmt=".3g")
cover.columns = ["training set", "held-out runs", "loss in 90% PI", "error in 90% PI", "runs passing", "expected passing (sum of P(pass))"]
out.table(cover, caption="Coverage of 90% predictive intervals and the thresholded metric", floatfmt=".3g")
n = len(held_table)
out.text(
    f"Loss: {total['loss_in_90']}/{n} = {total['loss_in_90'] / n:.0%} of the measured values inside their 90% intervals; "
    f"error: {total['error_in_90']}/{n} = {total['error_in_90'] / n:.0%}. "
    f"Thresholded metric: {total['passing']} of {n} held-out runs pass; the Bayesian forecast expects "
    f"{total['expected_passing']:.1f}. Brier score of P(pass): {brier_bayes:.3f}; of the plug-in 0/1 forecast "
    f"(threshold the median): {brier_plugin:.3f}. Log score of P(pass) (probabilities clipped at {eps:g}): {logscore_bayes:.3f}.",
)

# %% [markdown]
# ## The jump: along the compute-optimal line M = 20
#
# Forecast along M = 20 from 10M to 30B parameters: the loss and the error fall smoothly; the measured pass/fail
# metric and the plug-in forecast jump from 0 to 1; the Bayesian P(pass) rises smoothly and tells how sure the jump is.

# %%
sizes = np.geomspace(1e7, 3e10, 60)
fig, axes = plt.subplots(len(TRAIN_SETS), 3, figsize=(15, 4.0 * len(TRAIN_SETS)), squeeze=False, layout="constrained")
jump_rows = []
for row, (ds, (loss_fit, link_fit)) in enumerate(fits.items()):
    fc = forecast_downstream(loss_fit, link_fit, sizes, 20.0 * sizes, prob=PROB)
    table = fc.intervals(PROB)
    compute = 6.0 * sizes * 20.0 * sizes
    p_pass = (fc.draws["error_observation"] < THRESHOLD).mean(DRAW_DIM).values
    plug = (table["error_observation_median"] < THRESHOLD).to_numpy()
    sub = runs[(runs["train_dataset"] == ds) & (runs["M"] == 20)].sort_values("C")
    fitted = sub["N_params"] <= MAX_FIT_PARAMS
    for col, (q, label) in enumerate((("loss", "C4 eval loss"), ("error", "17-task top-1 error"))):
        ax = axes[row, col]
        ax.fill_between(
            compute, table[f"{q}_observation_lower"], table[f"{q}_observation_upper"], alpha=0.3, label=f"{PROB:.0%} predictive"
        )
        ax.plot(compute, table[f"{q}_observation_median"], label="median")
        column = LOSS_COLUMN if q == "loss" else ERROR_COLUMN
        ax.scatter(sub.loc[fitted, "C"], sub.loc[fitted, column], color="k", zorder=3, label="fitted runs (M = 20)")
        ax.scatter(sub.loc[~fitted, "C"], sub.loc[~fitted, column], color="tab:red", zorder=3, label="held-out runs (M = 20)")
        if q == "error":
            ax.axhline(THRESHOLD, color="grey", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_ylabel(label)
        ax.set_title(f"{TRAIN_SETS[ds]}: {q}")
        ax.legend(fontsize=7)
    ax = axes[row, 2]
    ax.plot(compute, p_pass, color="tab:purple", label="Bayesian P(error < 0.5)")
    ax.step(compute, plug.astype(float), where="mid", color="tab:orange", label="plug-in (median < 0.5)")
    ax.scatter(sub["C"], (sub[ERROR_COLUMN] < THRESHOLD).astype(float), color="k", zorder=3, label="measured pass/fail (M = 20)")
    ax.set_xscale("log")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(f"{TRAIN_SETS[ds]}: thresholded metric")
    ax.legend(fontsize=7)
    for a in axes[row]:
        a.set_xlabel("compute C = 6ND (FLOPs), M = 20")
    # Where the plug-in forecast jumps, and how wide the Bayesian transition is (P(pass) from 10% to 90%).
    jump = compute[np.argmax(plug)] if plug.any() else np.nan
    lo = compute[np.argmax(p_pass >= 0.1)] if (p_pass >= 0.1).any() else np.nan
    hi = compute[np.argmax(p_pass >= 0.9)] if (p_pass >= 0.9).any() else np.nan
    i_lo = int(np.argmax(p_pass >= 0.1)) if (p_pass >= 0.1).any() else None
    i_hi = int(np.argmax(p_pass >= 0.9)) if (p_pass >= 0.9).any() else None
    err_change = (
        float(table["error_observation_median"][i_lo] - table["error_observation_median"][i_hi])
        if i_lo is not None and i_hi is not None
        else np.nan
    )
    jump_rows.append(
        {
            "training set": TRAIN_SETS[ds],
            "plug-in jump at C": jump,
            "P(pass) = 0.1 at C": lo,
            "P(pass) = 0.9 at C": hi,
            "compute span of the transition (x)": hi / lo if np.isfinite(lo) and np.isfinite(hi) else np.nan,
            "median error drop across it": err_change,
        }
    )
title_figure(
    fig,
    f"Forecasts along M = 20 tokens per parameter; bands: {PROB:.0%} predictive intervals; black: fitted runs, red: held out",
    [f for pair in fits.values() for f in pair],
    PROB,
)
out.heading("The jump along M = 20")
out.figure(
    fig,
    "jump",
    "Loss and error forecasts (90% predictive bands) fall smoothly with compute; the thresholded metric (error < 0.5) "
    "jumps from 0 to 1. Purple: the Bayesian probability of passing; orange: the plug-in forecast.",
)
plt.close(fig)
jumps = pd.DataFrame(jump_rows)
out.table(jumps, caption="Where the thresholded metric jumps (compute in FLOPs)", floatfmt=".3g")
out.text(
    f"Across the transition (P(pass) from 0.1 to 0.9, a factor {jumps['compute span of the transition (x)'].min():.3g}-"
    f"{jumps['compute span of the transition (x)'].max():.3g} in compute) the median forecast error changes by "
    f"{jumps['median error drop across it'].min():.3f}-{jumps['median error drop across it'].max():.3f}, smoothly; the plug-in "
    "forecast turns it into a step at one budget. The Bayesian forecast instead reports the continuous quantity with its "
    f"interval ({total['error_in_90']}/{n} held-out errors inside their 90% intervals above) and the threshold as a probability.",
)
out.text(f"Runtime: {time.time() - START:.0f} s.")
out.write()
