"""Named random streams derived from a fit's seed.

Every random draw after sampling (posterior predictive groups, forecasts, the
stuck-chain rerun, robust starts, longer runs, downstream pairings) takes its seed from the fit's seed and
the name of its stream, through :func:`stream_seed`, so no two uses share a
stream by accident and every offset is listed here once. The offsets are fixed
integers (not ``SeedSequence`` children) so that results saved with earlier
versions are reproduced draw for draw.
"""

from __future__ import annotations

#: Offset added to the fit's seed for each named stream.
SEED_STREAMS: dict[str, int] = {
    "posterior_predictive": 1,
    "predict": 7,
    "selection": 11,
    "downstream_pairs": 13,
    "downstream_noise": 17,
    "extrapolation": 23,
    "restart": 7919,
    "starts": 3571,  # robust starts: this seed and the next N_STARTS - 1 (bayeslaw.starts)
    "run_length": 104729,  # the k-th longer run (k = 1, 2): k times this offset (bayeslaw.run_length)
}


def stream_seed(seed: int, stream: str) -> int:
    """The seed of the named ``stream`` for a fit seeded with ``seed``."""
    try:
        return int(seed) + SEED_STREAMS[stream]
    except KeyError:
        raise ValueError(f"unknown random stream {stream!r}; known: {sorted(SEED_STREAMS)}") from None


__all__ = ["SEED_STREAMS", "stream_seed"]
