"""SIGINT and SIGKILL at random moments of ``bayeslaw fit --out``: nothing partial passes as a fit.

Each trial puts a previous good fit at ``X.nc``, starts ``bayeslaw fit data.csv
--out X.nc`` on a small dataset, sends SIGINT or SIGKILL after a random delay
(up to 1.5 times what a full run takes), and then checks:

- if the command exited 0, ``X.nc`` is a new fit that loads and converged checks ran;
- otherwise ``X.nc`` is byte for byte the previous good file (or, when the kill came
  after the new file was renamed into place, a complete new fit that loads), and no
  other ``*.nc`` file in the folder loads as a fit (temporary files are hidden ``.X.nc.PID.tmp``
  and are counted separately);
- after SIGINT, the exit status is 130 and stderr has no traceback.

Run: ``PYTHONPATH=. python benchmarks/interrupt_trials.py --trials 24`` (prints one line
per trial and a summary; exits 1 if any check failed).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

FIT_ARGS = ["--draws", "150", "--tune", "150", "--chains", "2", "--no-progress", "--seed", "5"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _loads_as_fit(path: Path) -> bool:
    import bayeslaw

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bayeslaw.load_fit(path)
    except Exception:
        return False
    return True


def _command(csv: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "bayeslaw.cli", "fit", str(csv), "--out", str(out), *FIT_ARGS]


def _data(folder: Path) -> Path:
    from bayeslaw.datasets import load_dataset

    data = load_dataset("chinchilla", exclude_top5=True)
    frame = data.frame.iloc[::6][["N", "D", "loss"]]  # 40 runs: a quick fit
    path = folder / "runs.csv"
    frame.to_csv(path, index=False)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "MPLBACKEND": "Agg"}
    folder = Path(tempfile.mkdtemp(prefix="bayeslaw-interrupts-"))
    csv = _data(folder)
    good = folder / "good.nc"
    start = time.perf_counter()
    first = subprocess.run(_command(csv, good), env=env, capture_output=True, text=True, check=False)
    full_run = time.perf_counter() - start
    if first.returncode != 0 or not _loads_as_fit(good):
        print(first.stderr)
        raise SystemExit("the reference run failed")
    print(f"reference run: {full_run:.1f} s, exit 0, loads as a fit")
    counts = {
        "trials": 0,
        "completed": 0,
        "stopped": 0,
        "previous_intact": 0,
        "saved_before_kill": 0,
        "bad": 0,
        "tmp_left": 0,
        "traceback": 0,
    }
    for trial in range(args.trials):
        out = folder / "X.nc"
        shutil.copyfile(good, out)
        before = _digest(out)
        sig = signal.SIGINT if trial % 2 == 0 else signal.SIGKILL
        delay = rng.uniform(0.0, 1.5 * full_run)  # some runs complete, some are stopped while saving
        proc = subprocess.Popen(
            _command(csv, out),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal, even under nohup
        )
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(sig)
        _, err = proc.communicate()
        code = proc.returncode
        counts["trials"] += 1
        problems = []
        others = [p for p in folder.glob("*.nc") if p.name not in ("X.nc", "good.nc")]
        tmp_left = list(folder.glob(".X.nc.*.tmp"))
        counts["tmp_left"] += bool(tmp_left)
        if code == 0:
            counts["completed"] += 1
            if not _loads_as_fit(out):
                problems.append("completed run left a file that does not load")
        else:
            counts["stopped"] += 1
            if _digest(out) == before:
                counts["previous_intact"] += 1
            elif _loads_as_fit(out):  # killed after the new fit was renamed into place: a complete fit replaced it
                counts["saved_before_kill"] += 1
            else:
                problems.append("previous good file replaced by one that does not load")
            if sig == signal.SIGINT and code != 130:
                problems.append(f"exit status {code} after SIGINT (expected 130)")
        if "Traceback" in err:
            counts["traceback"] += 1
            problems.append("traceback on stderr")
        problems += [f"{p.name} loads as a fit" for p in others if _loads_as_fit(p)]
        counts["bad"] += bool(problems)
        for p in others:
            p.unlink()
        if problems and err.strip():
            print("   stderr: " + "\n   stderr: ".join(err.strip().splitlines()[-12:]))
        print(
            f"trial {trial:2d}: {signal.Signals(sig).name:7s} at {delay:5.1f} s -> exit {code:4d}; "
            f"{'OK' if not problems else 'FAIL: ' + '; '.join(problems)}{' (temporary file left)' if tmp_left else ''}"
        )
    print("summary:", ", ".join(f"{k} {v}" for k, v in counts.items()))
    shutil.rmtree(folder, ignore_errors=True)
    return 1 if counts["bad"] else 0


if __name__ == "__main__":
    sys.exit(main())
