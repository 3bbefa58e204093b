"""Reference forecasts from statsforecast on the same series and split as `stockyard-eval`.

Reads DATA (written by prepare.py): trains on d_1..d_1913 of every series with its leading zeros
trimmed, forecasts 28 days, on one core. For each model writes into DATA:
  sf_<name>.f32    series x 28, little-endian float32 (NaN for series a model was not run on)
  sf_<name>.json   {"model", "n_series", "seconds", "series_per_s"}: fit + predict time only
Models whose files exist are skipped unless --force. AutoETS is slow (about one series a second),
so it runs on an evenly spaced sample of --auto-ets-sample series unless --auto-ets-all.

Usage: statsforecast_run.py DATA [--force] [--models a,b] [--auto-ets-all] [--auto-ets-sample N]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

# One core: the numeric libraries must not start thread pools of their own.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
from statsforecast import models as sf  # noqa: E402

# Report name (as `stockyard-eval` names its models) -> statsforecast model.
MODELS = {
    "seasonal_naive": lambda: sf.SeasonalNaive(season_length=7),
    "window_average": lambda: sf.WindowAverage(window_size=28),
    "seasonal_window_average": lambda: sf.SeasonalWindowAverage(season_length=7, window_size=4),
    "ses_optimized": lambda: sf.SimpleExponentialSmoothingOptimized(),
    "croston_classic": lambda: sf.CrostonClassic(),
    "croston_sba": lambda: sf.CrostonSBA(),
    "croston_optimized": lambda: sf.CrostonOptimized(),
    "tsb": lambda: sf.TSB(alpha_d=0.1, alpha_p=0.1),
    "adida": lambda: sf.ADIDA(),
    "imapa": lambda: sf.IMAPA(),
    "auto_ets": lambda: sf.AutoETS(season_length=7),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--force", action="store_true", help="recompute models whose files exist")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    ap.add_argument("--auto-ets-all", action="store_true", help="run AutoETS on every series (slow)")
    ap.add_argument("--auto-ets-sample", type=int, default=50, help="AutoETS sample size")
    args = ap.parse_args()

    manifest = json.loads((args.data / "manifest.json").read_text())
    n, days, train, h = manifest["n_series"], manifest["n_days"], manifest["train_days"], manifest["horizon"]
    demand = np.fromfile(args.data / "demand.f32", dtype="<f4")
    if demand.size != n * days:
        sys.exit(f"statsforecast_run: demand.f32 holds {demand.size} values, expected {n * days}")
    history = demand.reshape(n, days)[:, :train].astype(np.float64)
    trimmed = []
    for row in history:
        nonzero = np.flatnonzero(row)
        trimmed.append(row[nonzero[0]:] if nonzero.size else row[-1:])

    for name in args.models.split(","):
        if name not in MODELS:
            sys.exit(f"statsforecast_run: unknown model {name}; known: {', '.join(MODELS)}")
        out_f, out_t = args.data / f"sf_{name}.f32", args.data / f"sf_{name}.json"
        if out_f.exists() and out_t.exists() and not args.force:
            print(f"statsforecast: {name} cached", file=sys.stderr)
            continue
        rows = np.arange(n)
        if name == "auto_ets" and not args.auto_ets_all:
            rows = np.linspace(0, n - 1, min(args.auto_ets_sample, n)).round().astype(int)
        model = MODELS[name]()
        model.forecast(y=trimmed[0], h=h)  # warm-up: one-off compilation and imports are not timed
        forecasts = np.full((n, h), np.nan, dtype=np.float32)
        start = time.perf_counter()
        for i in rows:
            forecasts[i] = model.forecast(y=trimmed[i], h=h)["mean"]
        seconds = time.perf_counter() - start
        forecasts.astype("<f4").tofile(out_f)
        timing = {"model": name, "n_series": int(rows.size), "seconds": seconds, "series_per_s": rows.size / seconds}
        out_t.write_text(json.dumps(timing) + "\n")
        print(f"statsforecast: {name}: {rows.size} series in {seconds:.2f}s ({rows.size / seconds:.0f} series/s)", file=sys.stderr)


if __name__ == "__main__":
    main()
