"""Benchmark: the damage-function impact engine against plain NumPy and the memory bound (issue 3).

Run from the repository root::

    python benchmarks/bench_impact.py [--quick] [--repeat N] [--json out.json]

Cases (``N`` assets × ``E`` events): 1,000,000 × 100 and 100,000 × 1,000 (``--quick``: N / 10),
each *dense* (every intensity > 0) and *10 %-sparse* (each entry is > 0 with probability 0.1,
drawn row by row). Intensities are flood depths uniform in (0, 6] m; every asset gets one of the
four JRC Asia depth-damage curves (``jrc_asia_residential``, ``_commercial``, ``_industrial``,
``_building_averaged``) at random; values (uniform 0.1–10 M CNY) and event frequencies (uniform
0–0.02 per year) are synthetic. Everything is drawn from a fixed seed, so every process builds
the same inputs.

Each measurement runs in a fresh Python process (this script with a hidden ``--child`` flag),
with ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``BLIS_NUM_THREADS``
set (2 unless said otherwise; ``threadpoolctl`` also limits the pools when it is installed) and
``NUMBA_NUM_THREADS=2`` (the engine's ``threads`` argument uses 1 or 2 of them). Every engine
process first calls the engines on a tiny event set, so that Numba's cached kernels are loaded
before anything is timed (the one-off compilation is not part of the figures):

1. *engine*: builds the intensities, dense as a C-contiguous float64 E × N array (800 MB for
   10⁸ entries, kept by ``HazardEvents`` without a copy), sparse as CSR built from its arrays
   (int32 indices), wraps them in ``HazardEvents`` (its block-wise validation is timed apart),
   then times ``damage_function_impact`` with the default chunks (``CHUNK_ENTRIES`` = 2²⁰
   stored entries), 2 threads and ``keep_matrix=False``, ``--repeat`` times. Peak RSS is noted
   for the whole process and for the engine calls alone (the kernel's high-water mark is reset
   through ``/proc/self/clear_refs`` just before them, so that figure includes the input the
   caller holds but not the transient memory of building it);
2. *baseline*: (a) plain NumPy: for the dense case the full E × N float64 matrix, ``np.interp``
   per vulnerability class on that class's columns, times the value, then the per-event sums
   and ``frequency @ loss``; for the sparse case the same on the CSR's ``.data`` (a boolean mask
   per class over the stored entries), the loss as a CSR matrix, its row sums and
   ``frequency @ loss`` (SciPy). The baseline interpolates the tabulated MDD × PAA once per
   class: the four curves have PAA = 1 (checked), so this equals the engine's MDD × PAA.
   (b) the memory-bandwidth bound: the best time to read one E × N float64 array and write
   another (``np.multiply(a, 1.0, out=b)`` and ``np.copyto(b, a)``, both pre-faulted; the
   faster is the bound), for the same E × N (so for the sparse cases it is the dense bound);
3. *invariance*: the engine again with 1 thread, and with chunks of 2¹⁴, 2¹⁸ and 2²² entries;
   their EAI (and per-event losses) are compared with the 2-thread, default-chunk run.

Then fragility: ``fragility_impact`` with ``hazus_pga_C1L_moderate`` (4 damage states,
lognormal) on 1,000,000 buildings × 1 event (PGA uniform 0–1 g, dense input), two channels:
loss (value × Hazus RES1 structural repair cost ratio per state, see ``RES1_STR_REPAIR_RATIO``)
and functionality (``FUNCTIONAL_WEIGHTS``), with 2 and 1 threads; against NumPy
(``FragilityCurves.state_probabilities(pga) @ ratios × value``) and a direct SciPy computation
(``ndtr(...) @ Δratio × value``) of the same loss.

Times are medians over the repeats (bounds: minima). Targets of issue 3 are printed as PASS or
FAIL; the exit code is 0 either way, since this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import csv
import gc
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

from _machine import cpu_model
from _memory import current_rss_mb, peak_rss_mb

Result = dict[str, Any]

#: (assets, events) of the full run; ``--quick`` divides the assets by 10.
SIZES = ((1_000_000, 100), (100_000, 1_000))
#: Share of stored (> 0) entries of each density.
DENSITIES = {"dense": 1.0, "sparse": 0.1}
DAMAGE_CURVES = (
    "jrc_asia_residential",
    "jrc_asia_commercial",
    "jrc_asia_industrial",
    "jrc_asia_building_averaged",
)
MAX_DEPTH_M = 6.0
FRAGILITY_CURVE = "hazus_pga_C1L_moderate"
FRAGILITY_ASSETS = 1_000_000
#: Structural repair cost ratio of each damage state (slight, moderate, extensive, complete) of
#: Hazus occupancy RES1: FEMA Hazus earthquake model, as tabulated in the SimCenter Damage and
#: Loss Model Library (PyPI ``simcenter-dlml`` 3.2), ``data/seismic/building/portfolio/Hazus
#: v5.1/consequence_repair.csv``, row ``STR.RES1-Cost``, columns DS1–DS4 (``loss_ratio``).
RES1_STR_REPAIR_RATIO = (0.005, 0.023, 0.117, 0.234)
#: Weight "functional" per state (none, slight … complete) of the fragility benchmark's second
#: channel: an assumption for the benchmark only (it changes the work, not the figures' meaning).
FUNCTIONAL_WEIGHTS = (1.0, 1.0, 0.5, 0.0, 0.0)
DLML_FILE = "data/seismic/building/portfolio/Hazus v5.1/consequence_repair.csv"

#: Stored entries per chunk: the engine's default, and the other sizes of the invariance check.
DEFAULT_CHUNK = 1 << 20
CHECK_CHUNKS = (1 << 14, 1 << 18, 1 << 22)
CHUNKS_TEXT = ", ".join(f"{c:,}" for c in CHECK_CHUNKS)
THREADS = 2
SEED = 20261125
TOP_FUNCTIONS = 8

TARGET_DENSE_SPEEDUP = 3.0
TARGET_BOUND_FACTOR = 5.0
TARGET_SPARSE_SPEEDUP = 2.0
TARGET_FRAGILITY_S = 0.5
TARGET_PEAK_MB = 1536.0
TARGET_PEAK_SIZE = (1_000_000, 100)
TARGET_REL = 1e-9

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
#: Numba's pool size in every child; the engine's ``threads`` argument picks 1 or 2 of them.
NUMBA_THREADS = 2
STREAMS = ("class", "value", "frequency", "mask", "depth", "pga")


# ---------------------------------------------------------------------------------------------
# Memory


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux >= 4.0); True if it worked."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Inputs


def stream(seed: int, name: str) -> np.random.Generator:
    """The random generator of one named input (independent of the others, fixed by the seed)."""
    return np.random.default_rng(np.random.SeedSequence([seed, STREAMS.index(name)]))


def depths(rng: np.random.Generator, shape: int | tuple[int, int]) -> NDArray[np.float64]:
    """Flood depths uniform in (0, MAX_DEPTH_M] m, built in place (no temporary copy)."""
    out = rng.random(shape)
    out *= -MAX_DEPTH_M
    out += MAX_DEPTH_M
    return out


def exposure(
    n: int, e: int, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """Values (CNY), curve index (0–3) of every asset and annual frequency of every event."""
    curve_index = stream(seed, "class").integers(0, len(DAMAGE_CURVES), n, dtype=np.int64)
    value = stream(seed, "value").uniform(1e5, 1e7, n)
    frequency = stream(seed, "frequency").uniform(0.0, 0.02, e)
    return value, curve_index, frequency


def intensity_csr(n: int, e: int, density: float, seed: int) -> sp.csr_array:
    """The events × assets intensity matrix as CSR, built from its arrays (no dense copy).

    Dense: every entry stored, in row order (the same numbers as :func:`intensity_dense`).
    Sparse: in each row, each asset is hit with probability ``density``.
    """
    idx = np.int32 if n * e < 2**31 else np.int64
    if density >= 1.0:
        indptr = np.arange(0, n * e + 1, n, dtype=idx)
        indices = np.tile(np.arange(n, dtype=idx), e)
    else:
        hits = stream(seed, "mask")
        rows = [np.flatnonzero(hits.random(n) < density).astype(idx) for _ in range(e)]
        indptr = np.zeros(e + 1, dtype=idx)
        np.cumsum([r.size for r in rows], out=indptr[1:])
        indices = np.concatenate(rows)
        del rows
    data = depths(stream(seed, "depth"), indices.size)
    return sp.csr_array((data, indices, indptr), shape=(e, n))


def intensity_dense(n: int, e: int, seed: int) -> NDArray[np.float64]:
    """The dense events × assets intensity matrix (the dense case of :func:`intensity_csr`)."""
    return depths(stream(seed, "depth"), (e, n))


def damage_curves() -> list[Any]:
    """The four JRC Asia depth-damage curves, from the packaged library."""
    from resilientcity.vulnerability import VulnerabilityLibrary

    library = VulnerabilityLibrary.default()
    return [library.curves[name] for name in DAMAGE_CURVES]


def ratio_tables(curves: Sequence[Any]) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Per curve, (intensities, MDD × PAA) at its points; exact because every PAA is 1."""
    for curve in curves:
        if not np.all(curve.paa == 1.0):
            raise RuntimeError(f"{curve.curve_id}: PAA is not 1, the baseline would differ")
    return [(curve.intensity, curve.mdd * curve.paa) for curve in curves]


# ---------------------------------------------------------------------------------------------
# Baselines


def numpy_dense_baseline(
    x: NDArray[np.float64],
    value: NDArray[np.float64],
    curve_index: NDArray[np.int64],
    frequency: NDArray[np.float64],
    tables: Sequence[tuple[NDArray[np.float64], NDArray[np.float64]]],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Plain NumPy on the dense E × N matrix: (loss per event, EAI per asset)."""
    loss = np.empty_like(x)
    for c, (xp, fp) in enumerate(tables):
        cols = np.flatnonzero(curve_index == c)
        loss[:, cols] = np.interp(x[:, cols], xp, fp)
    loss *= value
    return loss.sum(axis=1), frequency @ loss


def scipy_sparse_baseline(
    x: sp.csr_array,
    value: NDArray[np.float64],
    curve_index: NDArray[np.int64],
    frequency: NDArray[np.float64],
    tables: Sequence[tuple[NDArray[np.float64], NDArray[np.float64]]],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """NumPy on the CSR's stored entries, one mask per class: (loss per event, EAI per asset)."""
    data, indices = x.data, x.indices
    entry_class = curve_index[indices]
    ratio = np.empty_like(data)
    for c, (xp, fp) in enumerate(tables):
        mask = entry_class == c
        ratio[mask] = np.interp(data[mask], xp, fp)
    ratio *= value[indices]
    loss = sp.csr_array((ratio, indices, x.indptr), shape=x.shape)
    return np.asarray(loss.sum(axis=1)).ravel(), np.asarray(frequency @ loss).ravel()


def bandwidth_bound(n: int, e: int, repeat: int) -> Result:
    """Best times to read one float64 E × N array and write another (both pre-faulted)."""
    a = np.full((e, n), 1.5)
    b = np.full((e, n), 0.0)
    mult, copy = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        np.multiply(a, 1.0, out=b)
        mult.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        np.copyto(b, a)
        copy.append(time.perf_counter() - t0)
    best = min(min(mult), min(copy))
    return {
        "multiply_s": min(mult),
        "copyto_s": min(copy),
        "bound_s": best,
        "bound_gb_s": 2 * a.nbytes / best / 1e9,
    }


# ---------------------------------------------------------------------------------------------
# Children (one fresh process each)


def limit_threads(threads: int) -> str:
    """Limit the thread pools with threadpoolctl when installed; say how threads are limited."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return f"environment variables ({threads})"
    threadpool_limits(threads)
    return f"threadpoolctl and environment variables ({threads})"


def warm_up(curves: Sequence[Any]) -> None:
    """Call the engines once on a tiny event set, so that Numba loads its cached kernels."""
    from resilientcity.hazard.events import HazardEvents
    from resilientcity.impact.engine import damage_function_impact
    from resilientcity.impact.fragility import fragility_impact

    x = np.array([[0.5, 0.0], [1.0, 2.0]])
    for sparse in (True, False):
        events = HazardEvents.from_dense(
            "river_flood", ["a", "b"], [0.1, 0.1], x, ["p", "q"], sparse
        )
        damage_function_impact(events, [1.0, 1.0], [0, 1], curves[:2])
        quake = HazardEvents.from_dense("earthquake", ["a", "b"], [0.1, 0.1], x, ["p", "q"], sparse)
        fragility_impact(
            quake, [0, 0], [fragility_curve()], {"c": np.ones((1, 5))}, {"c": np.ones(2)}
        )


def fragility_curve() -> Any:
    """The benchmark's fragility curves (4 damage states), from the packaged library."""
    from resilientcity.vulnerability import FragilityCurves, VulnerabilityLibrary

    curve = VulnerabilityLibrary.default().curves[FRAGILITY_CURVE]
    if not isinstance(curve, FragilityCurves):
        raise TypeError(f"{FRAGILITY_CURVE} is not a set of fragility curves")
    return curve


def child_engine(spec: Result) -> Result:
    """Build the case's events and time ``damage_function_impact`` (see the module docstring)."""
    from resilientcity.hazard.events import HazardEvents
    from resilientcity.impact.engine import damage_function_impact

    out: Result = {"threads": limit_threads(spec["threads"])}
    n, e, density, seed = spec["n"], spec["e"], spec["density"], spec["seed"]
    curves = damage_curves()
    warm_up(curves)
    out["rss_after_import_mb"] = current_rss_mb()
    t0 = time.perf_counter()
    value, curve_index, frequency = exposure(n, e, seed)
    x: NDArray[np.float64] | sp.csr_array
    if density >= 1.0:
        x = intensity_dense(n, e, seed)
        out["nnz"] = int(x.size)
        out["input_mb"] = x.nbytes / 2**20
        out["input"] = "dense float64 array"
    else:
        x = intensity_csr(n, e, density, seed)
        out["nnz"] = int(x.nnz)
        out["input_mb"] = (x.data.nbytes + x.indices.nbytes + x.indptr.nbytes) / 2**20
        out["input"] = f"CSR ({x.indices.dtype} indices)"
    out["generate_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    events = HazardEvents(
        "river_flood", np.arange(e).astype(str), frequency, x, np.arange(n).astype(str)
    )
    out["events_s"] = time.perf_counter() - t0
    held = events.intensity if isinstance(x, np.ndarray) else events.intensity.data
    out["events_copied_input"] = not np.shares_memory(
        held, x if isinstance(x, np.ndarray) else x.data
    )
    del x, held
    gc.collect()
    out["peak_before_engine_mb"] = peak_rss_mb()
    out["rss_before_engine_mb"] = current_rss_mb()

    out_dir = Path(spec["out_dir"])
    peaks = [out["peak_before_engine_mb"]]
    runs: Result = {}
    for chunk in spec["chunks"]:
        reset = reset_peak_rss()
        times, first = [], None
        identical = True
        for _ in range(spec["repeat"]):
            t0 = time.perf_counter()
            result = damage_function_impact(
                events, value, curve_index, curves, chunk_entries=chunk, threads=spec["numba"]
            )
            times.append(time.perf_counter() - t0)
            if first is None:
                first = result
            else:
                identical &= bool(np.array_equal(first.eai, result.eai))
        assert first is not None
        peak = peak_rss_mb()
        peaks.append(peak)
        stem = f"{spec['tag']}-chunk{chunk}"
        np.save(out_dir / f"{stem}-eai.npy", first.eai)
        np.save(out_dir / f"{stem}-per-event.npy", first.loss_per_event)
        runs[str(chunk)] = {
            "times_s": times,
            "peak_engine_mb": peak if reset else float("nan"),
            "repeats_bitwise_identical": identical,
            "aai": first.aai,
        }
        del first, result
        gc.collect()
    out["runs"] = runs
    out["peak_reset_worked"] = reset_peak_rss()
    out["peak_process_mb"] = max(peaks)
    return out


def child_baseline(spec: Result) -> Result:
    """Time the plain-NumPy baseline and the bandwidth bound of the case."""
    out: Result = {"threads": limit_threads(spec["threads"])}
    n, e, density, seed = spec["n"], spec["e"], spec["density"], spec["seed"]
    tables = ratio_tables(damage_curves())
    value, curve_index, frequency = exposure(n, e, seed)
    x: NDArray[np.float64] | sp.csr_array
    if density >= 1.0:
        x = intensity_dense(n, e, seed)
        out["method"] = "numpy dense"
    else:
        x = intensity_csr(n, e, density, seed)
        out["method"] = "numpy on CSR .data"
    times = []
    for _ in range(spec["repeat"]):
        t0 = time.perf_counter()
        if isinstance(x, np.ndarray):
            per_event, eai = numpy_dense_baseline(x, value, curve_index, frequency, tables)
        else:
            per_event, eai = scipy_sparse_baseline(x, value, curve_index, frequency, tables)
        times.append(time.perf_counter() - t0)
    out["times_s"] = times
    out["peak_mb"] = peak_rss_mb()
    np.save(Path(spec["out_dir"]) / f"{spec['tag']}-baseline-eai.npy", eai)
    np.save(Path(spec["out_dir"]) / f"{spec['tag']}-baseline-per-event.npy", per_event)
    del x, per_event, eai
    gc.collect()
    out["bound"] = bandwidth_bound(n, e, max(5, spec["repeat"]))
    return out


def child_fragility(spec: Result) -> Result:
    """Time ``fragility_impact`` on 1M buildings × 1 event against NumPy/SciPy (see the docstring)."""
    from scipy.special import ndtr

    from resilientcity.hazard.events import HazardEvents
    from resilientcity.impact.fragility import fragility_impact

    out: Result = {"threads": limit_threads(spec["threads"])}
    curve = fragility_curve()
    warm_up(damage_curves())
    n = int(spec["n"])
    pga = stream(spec["seed"], "pga").uniform(0.0, 1.0, (1, n))
    value = stream(spec["seed"], "value").uniform(1e5, 1e7, n)
    ratios = np.asarray(RES1_STR_REPAIR_RATIO)
    events = HazardEvents(
        "earthquake", np.array(["quake"]), np.array([0.002]), pga, np.arange(n).astype(str)
    )
    weights = {
        "loss": np.array([[0.0, *RES1_STR_REPAIR_RATIO]]),
        "functional": np.array([FUNCTIONAL_WEIGHTS]),
    }
    scale = {"loss": value, "functional": np.ones(n)}
    index = np.zeros(n, dtype=np.int64)

    def engine(threads: int) -> tuple[float, Any]:
        t0 = time.perf_counter()
        result = fragility_impact(events, index, [curve], weights, scale, threads=threads)
        return time.perf_counter() - t0, result

    def library() -> tuple[float, NDArray[np.float64]]:
        t0 = time.perf_counter()
        loss = curve.state_probabilities(pga[0])[:, 1:] @ ratios * value
        return time.perf_counter() - t0, loss

    def direct() -> tuple[float, NDArray[np.float64]]:
        t0 = time.perf_counter()
        with np.errstate(divide="ignore"):
            exceed = np.asarray(ndtr(np.log(pga[0][:, None] / curve.median) / curve.beta))
        loss = exceed @ np.diff(ratios, prepend=0.0) * value
        return time.perf_counter() - t0, loss

    times: dict[str, list[float]] = {"engine_2": [], "engine_1": [], "library": [], "direct": []}
    for _ in range(spec["repeat"]):
        t, result = engine(2)
        times["engine_2"].append(t)
        t, one = engine(1)
        times["engine_1"].append(t)
        t, loss = library()
        times["library"].append(t)
        t, loss_direct = direct()
        times["direct"].append(t)
    engine_loss = result.eai / 0.002
    out |= {f"{k}_s": v for k, v in times.items()}
    out["n"] = n
    out["n_states"] = len(curve.damage_states)
    out["loss_max_rel_diff_vs_library"] = max_rel_diff(engine_loss, loss)
    out["loss_max_rel_diff_vs_direct"] = max_rel_diff(engine_loss, loss_direct)
    out["threads_bitwise_identical"] = bool(
        np.array_equal(one.eai, result.eai)
        and np.array_equal(one.channels["functional"].annual, result.channels["functional"].annual)
    )
    out["mean_damage_ratio"] = float(loss.sum() / value.sum())
    out["mean_functional"] = float(result.channels["functional"].per_event[0] / n)
    out["peak_mb"] = peak_rss_mb()
    return out


CHILDREN: dict[str, Callable[[Result], Result]] = {
    "engine": child_engine,
    "baseline": child_baseline,
    "fragility": child_fragility,
}


# ---------------------------------------------------------------------------------------------
# Parent


def run_child(task: str, spec: Result, threads: int = THREADS) -> Result:
    """Run one task in a fresh Python process with ``threads`` threads; return its figures."""
    spec = spec | {"threads": threads, "numba": threads}
    env = os.environ | {name: str(threads) for name in THREAD_VARS}
    env["NUMBA_NUM_THREADS"] = str(NUMBA_THREADS)
    with tempfile.TemporaryDirectory(prefix="rc-bench-") as tmp:
        result_path = Path(tmp) / "result.json"
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            task,
            "--spec",
            json.dumps(spec),
            "--child-out",
            str(result_path),
        ]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, check=False, env=env)
        if proc.returncode != 0 or not result_path.is_file():
            raise RuntimeError(f"{task} {spec.get('tag', '')} failed (exit {proc.returncode})")
        result: Result = json.loads(result_path.read_text())
        result["process_s"] = time.perf_counter() - t0
        return result


def max_rel_diff(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Largest ``|a − b| / |b|`` over the entries (0 where both are 0)."""
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    scale = np.maximum(np.abs(b), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b) / scale))


def compare(out_dir: Path, stem: str, reference: str) -> Result:
    """EAI and per-event losses of run ``stem`` against run ``reference`` (saved arrays)."""
    found: Result = {}
    for what in ("eai", "per-event"):
        a = np.load(out_dir / f"{stem}-{what}.npy")
        b = np.load(out_dir / f"{reference}-{what}.npy")
        found[what.replace("-", "_")] = {
            "max_rel_diff": max_rel_diff(a, b),
            "bitwise_identical": bool(np.array_equal(a, b)),
        }
    return found


def measure_case(
    n: int, e: int, density_name: str, repeat: int, out_dir: Path, console: Console
) -> Result:
    """Every measurement of one case, each in its own process."""
    tag = f"n{n}-e{e}-{density_name}"
    spec: Result = {
        "n": n,
        "e": e,
        "density": DENSITIES[density_name],
        "seed": SEED,
        "tag": tag,
        "out_dir": str(out_dir),
    }
    label = f"{n:,} × {e:,} {density_name}"
    console.print(f"{label}: engine, {THREADS} threads, chunks of {DEFAULT_CHUNK} ...")
    engine = run_child("engine", spec | {"chunks": [DEFAULT_CHUNK], "repeat": repeat})
    console.print(f"{label}: baseline and bandwidth bound ...")
    baseline = run_child("baseline", spec | {"repeat": repeat})
    console.print(f"{label}: engine, 1 thread ...")
    one = run_child(
        "engine",
        spec | {"tag": f"{tag}-t1", "chunks": [DEFAULT_CHUNK], "repeat": 1},
        threads=1,
    )
    console.print(f"{label}: engine, chunks of {', '.join(map(str, CHECK_CHUNKS))} ...")
    chunks = run_child("engine", spec | {"chunks": list(CHECK_CHUNKS), "repeat": 1})

    reference = f"{tag}-chunk{DEFAULT_CHUNK}"
    engine_s = statistics.median(engine["runs"][str(DEFAULT_CHUNK)]["times_s"])
    baseline_s = statistics.median(baseline["times_s"])
    bound_s = baseline["bound"]["bound_s"]
    checks: Result = {
        "threads_1_vs_2": compare(out_dir, f"{tag}-t1-chunk{DEFAULT_CHUNK}", reference),
        "chunks": {str(c): compare(out_dir, f"{tag}-chunk{c}", reference) for c in CHECK_CHUNKS},
    }
    return {
        "n": n,
        "e": e,
        "density": density_name,
        "label": label,
        "engine": engine,
        "baseline": baseline,
        "engine_1_thread": one,
        "engine_chunks": chunks,
        "engine_s": engine_s,
        "baseline_s": baseline_s,
        "bound_s": bound_s,
        "speedup_vs_baseline": baseline_s / engine_s,
        "engine_over_bound": engine_s / bound_s,
        "engine_vs_baseline": compare(out_dir, f"{tag}-baseline", reference),
        "checks": checks,
    }


def dlml_check() -> str:
    """Compare ``RES1_STR_REPAIR_RATIO`` with the installed simcenter-dlml table, if any."""
    spec = importlib.util.find_spec("dlml")
    if spec is None or not spec.submodule_search_locations:
        return "simcenter-dlml not installed: ratios not re-checked"
    path = Path(next(iter(spec.submodule_search_locations))) / DLML_FILE
    try:
        with path.open(newline="") as handle:
            rows = {row["ID"]: row for row in csv.DictReader(handle)}
        found = tuple(float(rows["STR.RES1-Cost"][f"DS{k}-Theta_0"]) for k in range(1, 5))
    except (OSError, KeyError, ValueError) as exc:
        return f"could not read {DLML_FILE}: {exc}"
    if found == RES1_STR_REPAIR_RATIO:
        return f"same as simcenter-dlml {version('simcenter-dlml')} {DLML_FILE}"
    return f"DIFFERENT from simcenter-dlml ({found})"


def environment() -> Result:
    """Machine and library versions, for the record."""
    cpu = cpu_model()
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = {}
    for name in ("numpy", "scipy", "pandas", "threadpoolctl", "resilientcity"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent,
        check=False,
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_gb, 1),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "blas": f"{blas.get('name')} {blas.get('version')}",
        "commit": commit or "unknown",
    }


def verdict(ok: bool, quick: bool) -> str:
    """PASS or FAIL, marked when measured at the quick size only."""
    return ("PASS" if ok else "FAIL") + (" (quick size)" if quick else "")


def targets(cases: list[Result], fragility: Result, quick: bool) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) for every target of issue 3."""
    rows: list[tuple[str, str, str]] = []
    for c in cases:
        if c["density"] == "dense":
            rows.append(
                (
                    f"{c['label']}: ≥ {TARGET_DENSE_SPEEDUP:g}× faster than NumPy baseline",
                    f"{c['speedup_vs_baseline']:.2f}×",
                    verdict(c["speedup_vs_baseline"] >= TARGET_DENSE_SPEEDUP, quick),
                )
            )
            rows.append(
                (
                    f"{c['label']}: within {TARGET_BOUND_FACTOR:g}× of the bandwidth bound",
                    f"{c['engine_over_bound']:.1f}×",
                    verdict(c["engine_over_bound"] <= TARGET_BOUND_FACTOR, quick),
                )
            )
        else:
            rows.append(
                (
                    f"{c['label']}: ≥ {TARGET_SPARSE_SPEEDUP:g}× faster than sparse baseline",
                    f"{c['speedup_vs_baseline']:.2f}×",
                    verdict(c["speedup_vs_baseline"] >= TARGET_SPARSE_SPEEDUP, quick),
                )
            )
    n_frag = fragility["n"]
    name = f"fragility {FRAGILITY_ASSETS:,} × 1, 4 states, 2 channels: < {TARGET_FRAGILITY_S:g} s"
    seconds = statistics.median(fragility["engine_2_s"])
    if n_frag == FRAGILITY_ASSETS:
        rows.append((name, f"{seconds:.3f} s", verdict(seconds < TARGET_FRAGILITY_S, False)))
    else:
        rows.append((name, f"{seconds:.3f} s at {n_frag:,}", "NOT MEASURED"))
    rel = fragility["loss_max_rel_diff_vs_library"]
    rows.append(
        (
            f"fragility: loss vs FragilityCurves.state_probabilities within {TARGET_REL:g}",
            f"{rel:.1e}",
            verdict(rel <= TARGET_REL, quick),
        )
    )
    n_t, e_t = TARGET_PEAK_SIZE
    for c in cases:
        if (c["n"], c["e"]) != TARGET_PEAK_SIZE:
            continue
        eng = c["engine"]
        during = eng["runs"][str(DEFAULT_CHUNK)]["peak_engine_mb"]
        for what, mb in (
            ("whole engine process", eng["peak_process_mb"]),
            ("during damage_function_impact", during),
        ):
            rows.append(
                (
                    f"{c['label']}: peak RSS, {what} < {TARGET_PEAK_MB:,.0f} MB",
                    f"{mb:,.0f} MB",
                    verdict(mb < TARGET_PEAK_MB, False),
                )
            )
    if not any((c["n"], c["e"]) == TARGET_PEAK_SIZE for c in cases):
        rows.append((f"{n_t:,} × {e_t}: peak RSS < {TARGET_PEAK_MB:,.0f} MB", "-", "NOT MEASURED"))
    for c in cases:
        threads = c["checks"]["threads_1_vs_2"]["eai"]["max_rel_diff"]
        rows.append(
            (
                f"{c['label']}: EAI 1 vs 2 threads within {TARGET_REL:g} relative",
                f"{threads:.1e}",
                verdict(threads <= TARGET_REL, False),
            )
        )
        worst = max(v["eai"]["max_rel_diff"] for v in c["checks"]["chunks"].values())
        rows.append(
            (
                f"{c['label']}: EAI chunks of {CHUNKS_TEXT} vs {DEFAULT_CHUNK:,} entries "
                f"within {TARGET_REL:g} relative",
                f"{worst:.1e}",
                verdict(worst <= TARGET_REL, False),
            )
        )
    return rows


def report(payload: Result, console: Console) -> list[str]:
    """Print the tables; return the verdicts of the targets."""
    env, cases, frag = payload["environment"], payload["cases"], payload["fragility"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    console.print(
        f"[bold]{env['cpu']}[/], {env['nproc']} CPUs, {env['memory_gb']} GB, "
        f"Python {env['python']}; {versions}; BLAS {env['blas']}; commit {env['commit']}"
    )
    main = Table(
        title=f"Damage-function impact: engine vs baselines (median of {payload['repeat']})"
    )
    main.add_column("metric")
    for c in cases:
        main.add_column(c["label"], justify="right")

    def row(label: str, values: list[str]) -> None:
        main.add_row(label, *values)

    row("stored entries (nnz)", [f"{c['engine']['nnz']:,}" for c in cases])
    row("engine input", [c["engine"]["input"] for c in cases])
    row("engine input (MB)", [f"{c['engine']['input_mb']:,.0f}" for c in cases])
    row("build inputs (s)", [f"{c['engine']['generate_s']:.2f}" for c in cases])
    row("HazardEvents(...) validation (s)", [f"{c['engine']['events_s']:.2f}" for c in cases])
    row(
        "engine (s) [min–max]",
        [
            f"{c['engine_s']:.2f} [{min(t):.2f}–{max(t):.2f}]"
            for c in cases
            for t in [c["engine"]["runs"][str(DEFAULT_CHUNK)]["times_s"]]
        ],
    )
    row(
        "engine, ns per stored entry",
        [f"{c['engine_s'] / c['engine']['nnz'] * 1e9:.1f}" for c in cases],
    )
    row(
        "NumPy baseline (s) [min–max]",
        [
            f"{c['baseline_s']:.2f} [{min(t):.2f}–{max(t):.2f}]"
            for c in cases
            for t in [c["baseline"]["times_s"]]
        ],
    )
    row("bound: multiply (s)", [f"{c['baseline']['bound']['multiply_s']:.3f}" for c in cases])
    row("bound: copyto (s)", [f"{c['baseline']['bound']['copyto_s']:.3f}" for c in cases])
    row("bound (GB/s read + write)", [f"{c['baseline']['bound']['bound_gb_s']:.1f}" for c in cases])
    row("engine / baseline", [f"{1 / c['speedup_vs_baseline']:.2f}" for c in cases])
    row(
        "[bold]baseline / engine (speed-up)",
        [f"[bold]{c['speedup_vs_baseline']:.2f}" for c in cases],
    )
    row("[bold]engine / bound", [f"[bold]{c['engine_over_bound']:.1f}" for c in cases])
    row("peak RSS, engine process (MB)", [f"{c['engine']['peak_process_mb']:,.0f}" for c in cases])
    row(
        "RSS holding the events (MB)",
        [f"{c['engine']['rss_before_engine_mb']:,.0f}" for c in cases],
    )
    row(
        "peak RSS during engine (MB)",
        [f"{c['engine']['runs'][str(DEFAULT_CHUNK)]['peak_engine_mb']:,.0f}" for c in cases],
    )
    row("peak RSS, baseline process (MB)", [f"{c['baseline']['peak_mb']:,.0f}" for c in cases])
    row(
        "EAI engine vs baseline (max rel.)",
        [f"{c['engine_vs_baseline']['eai']['max_rel_diff']:.1e}" for c in cases],
    )
    console.print(main)

    inv = Table(
        title="Invariance: EAI max relative difference to 2 threads, default chunks "
        "(one run in a fresh process: time s, peak RSS MB)"
    )
    inv.add_column("run")
    for c in cases:
        inv.add_column(c["label"], justify="right")
    inv.add_row(
        "1 thread",
        *(
            f"{c['checks']['threads_1_vs_2']['eai']['max_rel_diff']:.1e} "
            f"({c['engine_1_thread']['runs'][str(DEFAULT_CHUNK)]['times_s'][0]:.2f} s)"
            for c in cases
        ),
    )
    for chunk in CHECK_CHUNKS:
        inv.add_row(
            f"chunks of {chunk}",
            *(
                f"{c['checks']['chunks'][str(chunk)]['eai']['max_rel_diff']:.1e} "
                f"({c['engine_chunks']['runs'][str(chunk)]['times_s'][0]:.2f} s, "
                f"{c['engine_chunks']['runs'][str(chunk)]['peak_engine_mb']:,.0f} MB)"
                for c in cases
            ),
        )
    console.print(inv)

    fr = Table(title=f"Fragility: {FRAGILITY_CURVE}, {frag['n']:,} buildings × 1 event (median s)")
    fr.add_column("step")
    fr.add_column("seconds", justify="right")
    med = statistics.median
    fr.add_row("fragility_impact, 2 threads (loss + functional)", f"{med(frag['engine_2_s']):.3f}")
    fr.add_row("fragility_impact, 1 thread", f"{med(frag['engine_1_s']):.3f}")
    fr.add_row("NumPy: state_probabilities @ ratios × value", f"{med(frag['library_s']):.3f}")
    fr.add_row("SciPy direct: ndtr(...) @ Δratio × value", f"{med(frag['direct_s']):.3f}")
    fr.add_row("loss vs NumPy (max rel.)", f"{frag['loss_max_rel_diff_vs_library']:.1e}")
    fr.add_row("loss vs SciPy direct (max rel.)", f"{frag['loss_max_rel_diff_vs_direct']:.1e}")
    fr.add_row("1 vs 2 threads bitwise identical", str(frag["threads_bitwise_identical"]))
    fr.add_row(
        "mean damage ratio / mean P(functional)",
        f"{frag['mean_damage_ratio']:.4f} / {frag['mean_functional']:.4f}",
    )
    fr.add_row("peak RSS (MB)", f"{frag['peak_mb']:,.0f}")
    console.print(fr)
    console.print(
        f"RES1 repair cost ratios {RES1_STR_REPAIR_RATIO}: {payload['consequence_check']}"
    )

    verdicts = targets(cases, frag, payload["quick"])
    tab = Table(title="Targets of issue 3")
    for col in ("target", "measured", "verdict"):
        tab.add_column(col)
    for target, measured, v in verdicts:
        style = (
            "green" if v.startswith("PASS") else "bold red" if v.startswith("FAIL") else "yellow"
        )
        tab.add_row(target, measured, f"[{style}]{v}[/]")
    console.print(tab)
    return [v for _, _, v in verdicts]


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, measure every case in fresh processes, print and save results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="assets / 10 (a fast run)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case (median)")
    parser.add_argument("--json", type=Path, default=None, help="write all figures to this file")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--spec", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child is not None:
        result = CHILDREN[args.child](json.loads(args.spec))
        args.child_out.write_text(json.dumps(result))
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")

    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    scale = 10 if args.quick else 1
    started = time.perf_counter()
    cases: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="rc-bench-impact-") as tmp:
        for n, e in SIZES:
            for density_name in DENSITIES:
                cases.append(
                    measure_case(n // scale, e, density_name, args.repeat, Path(tmp), console)
                )
    console.print("fragility ...")
    fragility = run_child(
        "fragility",
        {"n": FRAGILITY_ASSETS // scale, "seed": SEED, "repeat": max(5, args.repeat)},
    )
    payload: Result = {
        "environment": environment(),
        "quick": args.quick,
        "repeat": args.repeat,
        "seed": SEED,
        "consequence_check": dlml_check(),
        "cases": cases,
        "fragility": fragility,
    }
    verdicts = report(payload, console)
    payload["targets"] = targets(cases, fragility, args.quick)
    payload["wall_s"] = time.perf_counter() - started
    console.print(f"whole run: {payload['wall_s']:.0f} s")
    if any(v.startswith("FAIL") for v in verdicts):
        console.print("[bold red]A target of issue 3 is NOT met[/] (exit code 0: a measurement).")
    else:
        console.print("[green]Every measured target of issue 3 is met.[/]")
    if args.json is not None:
        args.json.write_text(json.dumps(payload, indent=2))
        console.print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
