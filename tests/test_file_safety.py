"""Nothing lost, nothing partial passes as a fit: atomic saves, checked loads, interrupted sampling (issue 11)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import bayeslaw as bl
from bayeslaw import atomic, interrupts, results
from bayeslaw.atomic import OutputError
from bayeslaw.constants import ATTR_PREFIX
from bayeslaw.diagnostics import ConvergenceWarning


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def saved(chinchilla_fit: bl.Fit, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return chinchilla_fit.save(tmp_path_factory.mktemp("safe") / "good.nc")


@pytest.fixture
def earlier(saved: Path, tmp_path: Path) -> Path:
    """A good fit file already at the output path."""
    path = tmp_path / "X.nc"
    shutil.copyfile(saved, path)
    return path


def rewrite(saved: Path, path: Path, change) -> Path:
    """Copy of ``saved`` with ``change(idata)`` applied, written without a new digest (as a tamperer would)."""
    idata = results.load(saved)
    change(idata)
    idata.to_netcdf(str(path))
    return path


# ----------------------------------------------------------------------------- saving
def test_save_is_atomic_and_leaves_no_temporary(chinchilla_fit: bl.Fit, earlier: Path) -> None:
    chinchilla_fit.save(earlier)
    assert [p.name for p in earlier.parent.iterdir()] == ["X.nc"]
    assert results.has_digest(results.load(earlier))


def test_failed_write_keeps_the_earlier_file(chinchilla_fit: bl.Fit, earlier: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = sha(earlier)

    def half_then_enospc(tmp: Path) -> None:
        tmp.write_bytes(b"\x89HDF partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "_write_isolated", lambda write, tmp, timeout: half_then_enospc(tmp))
    with pytest.raises(OutputError, match=r"disk full while writing .*X\.nc: nothing was written and the earlier file is untouched"):
        chinchilla_fit.save(earlier)
    assert sha(earlier) == before and [p.name for p in earlier.parent.iterdir()] == ["X.nc"]


def test_not_enough_space_is_refused_before_writing(chinchilla_fit: bl.Fit, earlier: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = sha(earlier)
    monkeypatch.setattr(atomic, "free_bytes", lambda folder: 1000)
    with pytest.raises(OutputError, match=r"not enough disk space to write .*MB free; nothing was written"):
        chinchilla_fit.save(earlier)
    assert sha(earlier) == before


def test_real_full_disk_gives_an_error_not_a_crash(saved: Path, tmp_path: Path) -> None:
    """On a 300 kB tmpfs (needs root; skipped otherwise), with the free-space check off: HDF5 fails inside the write."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        script = (
            "import warnings; warnings.simplefilter('ignore'); import bayeslaw as bl; from bayeslaw import atomic\n"
            "atomic.free_bytes = lambda folder: 10**12\n"
            f"bl.load_fit({str(saved)!r}).save({str(mount / 'fit.nc')!r})\n"
        )
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
        assert proc.returncode == 1, proc.stderr  # an exception, not a signal
        assert "OutputError: disk full while writing" in proc.stderr and "fit.nc: nothing was written" in proc.stderr
        assert list(mount.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the writer runs in a forked child only where fork exists")
def test_a_hung_writer_is_stopped_and_the_earlier_file_kept(earlier: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writing child that never finishes (e.g. a lock held by another thread at the fork) is killed after the timeout."""
    before = sha(earlier)
    monkeypatch.setattr(atomic, "WRITER_TIMEOUT_S", 1.0)

    def hangs(tmp: Path) -> None:
        tmp.write_bytes(b"partial")
        time.sleep(600)

    start = time.monotonic()
    with pytest.raises(OutputError, match=r"did not finish within 1 s and was stopped\); nothing was written and the earlier file"):
        atomic.atomic_write(earlier, hangs)
    assert time.monotonic() - start < 30
    assert sha(earlier) == before and [p.name for p in earlier.parent.iterdir()] == ["X.nc"]


def test_interrupted_write_keeps_the_earlier_file(chinchilla_fit: bl.Fit, earlier: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = sha(earlier)

    def interrupted(write, tmp: Path, timeout: float) -> None:
        tmp.write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "_write_isolated", interrupted)
    with pytest.raises(KeyboardInterrupt):
        chinchilla_fit.save(earlier)
    assert sha(earlier) == before and [p.name for p in earlier.parent.iterdir()] == ["X.nc"]


def test_killed_writer_leaves_only_a_hidden_temporary_that_the_next_save_removes(chinchilla_fit: bl.Fit, earlier: Path) -> None:
    stale = earlier.parent / ".X.nc.999999999.tmp"  # no such process
    stale.write_bytes(b"partial")
    chinchilla_fit.save(earlier)
    assert not stale.exists()


def test_two_writers_to_one_path_leave_a_good_file(saved: Path, tmp_path: Path) -> None:
    out = tmp_path / "both.nc"
    script = f"import warnings; warnings.simplefilter('ignore'); import bayeslaw as bl; bl.load_fit({str(saved)!r}).save({str(out)!r})"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE) for _ in range(2)]
    assert [p.wait() for p in procs] == [0, 0]
    assert results.has_digest(results.load(out)) and [p.name for p in tmp_path.iterdir()] == ["both.nc"]


def test_unwritable_output_is_found_before_any_work(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions
            (locked / "in_the_way").mkdir()
            with pytest.raises(OutputError, match="is a folder"):
                atomic.ensure_writable(locked / "in_the_way", suffix=None)
        else:
            with pytest.raises(OutputError, match="cannot write to"):
                atomic.ensure_writable(locked / "f.nc")
    finally:
        locked.chmod(0o700)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        atomic.ensure_writable(a_file / "f.nc")
    with pytest.raises(OutputError, match="exists and is a file, not a folder"):
        atomic.ensure_writable(a_file, folder=True)


# ----------------------------------------------------------------------------- loading
def test_truncated_file_is_refused(saved: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.nc"
    cut.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(bl.FitFileError, match=r"cut\.nc"):
        bl.load_fit(cut)


def test_nan_filled_draws_are_refused(saved: Path, tmp_path: Path) -> None:
    def nan_tail(idata) -> None:
        post = results.posterior(idata)
        post["alpha"][:, -20:] = np.nan

    path = rewrite(saved, tmp_path / "nan.nc", nan_tail)
    with pytest.raises(bl.FitFileError, match=r"of the posterior draws of 'alpha' are not finite: an interrupted or damaged fit"):
        bl.load_fit(path)


def test_tampered_diagnostics_are_refused(saved: Path, tmp_path: Path) -> None:
    def claim_converged(idata) -> None:
        attrs = results.posterior(idata).attrs
        diagnostics = json.loads(attrs[ATTR_PREFIX + "diagnostics"])
        attrs[ATTR_PREFIX + "diagnostics"] = json.dumps({**diagnostics, "max_rhat": 1.0001, "problems": [], "min_ess_bulk": 4000.0})

    path = rewrite(saved, tmp_path / "tampered.nc", claim_converged)
    with pytest.raises(bl.FitFileError, match="does not match the digest stored when it was saved"):
        bl.load_fit(path)


def test_shuffled_draws_are_refused(saved: Path, tmp_path: Path) -> None:
    def swap(idata) -> None:
        post = results.posterior(idata)
        post["E"].values[:] = post["E"].values[:, ::-1]

    with pytest.raises(bl.FitFileError, match="digest"):
        bl.load_fit(rewrite(saved, tmp_path / "swapped.nc", swap))


def test_missing_group_is_refused(saved: Path, tmp_path: Path) -> None:
    def drop(idata) -> None:
        del idata["log_likelihood"]

    path = rewrite(saved, tmp_path / "posterior_only.nc", drop)
    with pytest.raises(bl.FitFileError, match=r"lacks the groups \['log_likelihood'\]"):
        bl.load_fit(path)


def test_file_without_digest_gets_diagnostics_recomputed(saved: Path, tmp_path: Path, tiny_fits) -> None:
    """An older file (no digest) whose stored diagnostics claim convergence for unconverged draws is flagged."""
    tiny = tiny_fits[0]
    tiny_path = tiny.save(tmp_path / "tiny.nc")
    good_diag = results.load(saved).posterior.attrs[ATTR_PREFIX + "diagnostics"]

    def lie(idata) -> None:
        attrs = results.posterior(idata).attrs
        del attrs[ATTR_PREFIX + "digest"]
        attrs[ATTR_PREFIX + "diagnostics"] = good_diag

    path = rewrite(tiny_path, tmp_path / "old.nc", lie)
    with pytest.warns(ConvergenceWarning, match="NOT CONVERGED"):
        loaded = bl.load_fit(path)
    assert not loaded.converged


# ----------------------------------------------------------------------------- interrupted sampling
def test_incomplete_posterior_is_detected() -> None:
    post = xr.Dataset({"a": (("chain", "draw"), np.r_[np.ones(10), np.full(10, np.nan)].reshape(2, 10))})
    assert "50.0% of the draws of 'a' are NaN" in interrupts.missing_draws(post, 10, 2)
    assert "expected 2 chains x 20 draws, got 2 x 10" in interrupts.missing_draws(post, 20, 2)
    with pytest.raises(interrupts.FitInterrupted, match="sampling incomplete"):
        interrupts.raise_if_incomplete(interrupts.Seen(), post, 10, 2)


def test_sigint_swallowed_by_a_sampler_still_stops_the_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """nutpie catches KeyboardInterrupt and returns the draws so far; bayeslaw raises FitInterrupted instead."""
    import nutpie

    from bayeslaw import sampling
    from bayeslaw.backends import get_backend

    def like_nutpie(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            pass  # what nutpie does: abort and return the trace so far
        post = xr.Dataset({"a": (("chain", "draw"), np.ones((2, 10)))})  # even complete-looking draws
        stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((2, 10), dtype=bool))})
        return results.from_datasets({"posterior": post, "sample_stats": stats})

    monkeypatch.setattr(nutpie, "sample", like_nutpie)
    config = sampling.SamplerConfig(draws=10, tune=10, chains=2)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in an interactive session (not nohup)
    try:
        with pytest.raises(interrupts.FitInterrupted, match="interrupted \\(SIGINT\\)") as info:
            sampling._sample(get_backend("nutpie"), None, config, 1, 1)  # the wrapper around every backend run
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is restored
    finally:
        signal.signal(signal.SIGINT, before)
    assert isinstance(info.value, KeyboardInterrupt) and info.value.partial is not None


def test_sigint_during_cli_fit_keeps_the_earlier_file(saved: Path, tmp_path: Path) -> None:
    """End to end: ``bayeslaw fit --out X.nc`` with SIGINT once sampling started: exit 130, X.nc untouched, nothing else."""
    csv = tmp_path / "runs.csv"
    bl.load_dataset("chinchilla", exclude_top5=True).frame[["N", "D", "loss"]].iloc[::6].to_csv(csv, index=False)
    out = tmp_path / "X.nc"
    shutil.copyfile(saved, out)
    before = sha(out)
    cmd = [sys.executable, "-m", "bayeslaw.cli", "fit", str(csv), "--out", str(out), "--draws", "200000", "--tune", "300", "--chains", "2"]
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal, even if pytest runs under nohup
    )
    line = ""
    while "sampling" not in line:
        line = proc.stderr.readline()
        assert line or proc.poll() is None, "the command ended before sampling"
    time.sleep(8)  # compiling and sampling 200,000 draws takes far longer (20,000 took 5.5 s once compiling got faster)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted; nothing was written to" in err and "Traceback" not in err
    assert sha(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.nc", "runs.csv"]
