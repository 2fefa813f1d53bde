"""Every tunable default of bayeslaw, in one place.

Interval probabilities, convergence thresholds and dimension names live here so
that no default drifts between modules. Functions take these values as explicit
arguments (``prob=CREDIBLE_INTERVAL``); nothing reads them implicitly.
"""

from __future__ import annotations

from bayeslaw.seeds import SEED_STREAMS

#: Probability mass of every credible interval bayeslaw reports by default.
CREDIBLE_INTERVAL: float = 0.90

#: Inner band of fan charts (nested inside CREDIBLE_INTERVAL).
FAN_INNER_INTERVAL: float = 0.50

#: Probability mass of the posterior predictive interval used in coverage checks.
PPC_INTERVAL: float = 0.90

#: Per-skill posterior predictive coverage outside this range is flagged.
PPC_COVERAGE_BOUNDS: tuple[float, float] = (0.70, 0.99)

#: Convergence thresholds checked after every fit.
RHAT_MAX: float = 1.01
ESS_BULK_MIN: float = 400.0
ESS_TAIL_MIN: float = 400.0
#: Fraction of post-warm-up draws allowed to diverge before a fit is flagged as not converged.
#: Any divergence at all is still reported in the diagnostics banner as a caution.
DIVERGENCE_FRACTION_MAX: float = 0.005

#: A chain whose mean log density lies below the best chain's by more than
#: max(STUCK_CHAIN_MIN_GAP, STUCK_CHAIN_SD_MULTIPLE x the chains' typical within-chain sd)
#: is taken to sit in a local mode with no real posterior mass (e.g. the Chinchilla law's
#: swapped-exponent mode); fit() then reruns the stuck chains once, started at draws of the others.
STUCK_CHAIN_MIN_GAP: float = 20.0
STUCK_CHAIN_SD_MULTIPLE: float = 5.0
#: Added to the fit's seed for that rerun (the ``restart`` stream of :mod:`bayeslaw.seeds`).
RESTART_SEED_OFFSET: int = SEED_STREAMS["restart"]
#: Two chains whose medians of some parameter differ by more than this many within-chain (robust) sds
#: sample different modes even when their log densities are close (bayeslaw.chain_checks); the chains
#: away from the kept group are handled as stuck chains.
CHAIN_MEDIAN_SDS: float = 4.0
#: Of groups of chains apart in their medians, a group whose mean log density lies more than
#: max(CHAIN_GROUP_MIN_GAP, CHAIN_GROUP_SD_MULTIPLE x the within-chain sd) below the best group's sits in a
#: lower mode: it is never the group kept, however many chains it holds. A mode that much lower holds
#: less mass unless its volume is larger by a factor of e**gap (~150 at 5 nats). Smaller than the
#: stuck-chain gap because the chains are already known to sample apart.
CHAIN_GROUP_MIN_GAP: float = 5.0
CHAIN_GROUP_SD_MULTIPLE: float = 2.0

#: Cap on sampling longer to reach the r_hat and ESS targets (bayeslaw.run_length): draws per chain
#: over all runs of a fit at most this many times the configured draws, and at most this many longer
#: runs. A cap in draws, not seconds, so that a fit never depends on the machine's speed.
RUN_LENGTH_MAX_FACTOR: float = 8.0
RUN_LENGTH_MAX_EXTENSIONS: int = 2
#: Tuning steps of a run whose draws are appended to the last run's chains (bayeslaw.run_length): it starts at
#: the last run's draws, already in the typical set, so it only re-adapts the step size and mass matrix
#: (nutpie's own default tuning length from any start is 300).
RUN_LENGTH_APPEND_TUNE: int = 300
#: A longer run that follows a run with divergent transitions adapts a smaller step: its target
#: acceptance rate is the next of these above the last run's (Stan's remedy for divergences, raising
#: adapt_delta). Divergences mark curvature the step size cannot follow; they also bias the tails.
RUN_LENGTH_TARGET_ACCEPT_STEPS: tuple[float, ...] = (0.95, 0.99)

#: Pareto k above which a PSIS-LOO estimate is unreliable (ArviZ's threshold).
PARETO_K_MAX: float = 0.7

#: Relative tolerance of a supplied compute column against 6 * N * D.
COMPUTE_RTOL: float = 0.05

#: FLOPs per parameter per token in the standard C = 6 N D approximation.
FLOPS_PER_PARAM_TOKEN: float = 6.0

#: Chinchilla's training budget (Hoffmann et al. 2022), in FLOPs.
CHINCHILLA_BUDGET: float = 5.76e23

#: Default sampler settings (overridable per spec and per call).
DEFAULT_BACKEND: str = "nutpie"
DEFAULT_DRAWS: int = 1000
DEFAULT_TUNE: int = 1000
DEFAULT_CHAINS: int = 4
DEFAULT_SEED: int = 20240515
#: NUTS target acceptance; 0.9 removes the rare divergences seen at 0.8 on Chinchilla.
DEFAULT_TARGET_ACCEPT: float = 0.9

#: Fixed dimension names of the data and of every InferenceData bayeslaw writes.
OBS_DIM: str = "obs"
SKILL_DIM: str = "skill"
DATAMIX_DIM: str = "datamix"
#: Grouping axes a spec may pool over, in canonical order.
GROUP_AXES: tuple[str, ...] = (SKILL_DIM, DATAMIX_DIM)
#: Name of the observed (likelihood) variable in every model and InferenceData.
OBSERVED: str = "y"
#: Dimension over flattened posterior draws in post-processing outputs.
DRAW_DIM: str = "sample"

#: Attribute keys bayeslaw stamps into the InferenceData.
ATTR_PREFIX: str = "bayeslaw_"
