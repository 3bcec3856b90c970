"""Driver of the numpy baselines for bench/numpy-baselines.bench.ts.

Usage: python3 driver.py SPEC.json   (SPEC: {"task": "time" | "check", "workload": ..., ...})

task "time": generates the workload's inputs with numpy (seeded; the shapes and distributions of
the gfra side, beta_n given in the spec), runs the algorithm once as a warm-up, then `runs` timed
loops of whole batches, each at least `minSeconds` long (at least one batch), and prints one JSON
line {"trialsPerSecond": [...], ...}.

task "check": reads the inputs gfra used from spec["input"] (JSON: complex arrays as
{"re": [...], "im": [...], "shape": [...]}, real ones as {"data": [...], "shape": [...]}),
runs the algorithm on them and prints one JSON line with the outputs, in the same encoding.

The bench sets OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = 1 in this process's
environment (one BLAS thread); they are echoed in the output.
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import covariance_ml  # noqa: E402
import mmv_amp  # noqa: E402
import scma_mpa  # noqa: E402


def decode(v):
    if "re" in v:
        return (np.asarray(v["re"], dtype=np.float64) + 1j * np.asarray(v["im"], dtype=np.float64)).reshape(v["shape"])
    return np.asarray(v["data"], dtype=np.float64).reshape(v["shape"])


def encode(a):
    a = np.asarray(a)
    if np.iscomplexobj(a):
        return {"re": a.real.ravel().tolist(), "im": a.imag.ravel().tolist(), "shape": list(a.shape)}
    return {"data": a.astype(np.float64).ravel().tolist(), "shape": list(a.shape)}


def timed(fn, batch, runs, min_seconds):
    fn()  # warm-up
    rates = []
    for _ in range(runs):
        n = 0
        t0 = time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= min_seconds:
                break
        rates.append(n * batch / elapsed)
    return rates


def make(spec):
    """(function running one batch, batch size) for a timing spec."""
    w = spec["workload"]
    p = spec["params"]
    rng = np.random.default_rng(spec.get("seed", 1))
    B = p["batch"]
    if w == "mmv-amp":
        d = mmv_amp.generate(rng, B, p["N"], p["L"], p["M"], p["eps"], p["beta"], p["noiseVar"], p["perTrial"])
        return (lambda: mmv_amp.mmv_amp(d["y"], d["S"], d["beta"], d["eps"], 1, p["iterations"])), B
    if w == "scma-mpa":
        cb = scma_mpa.scma6x4()
        g = scma_mpa.build_graph(cb, 6, 4, 2)  # built once per codebook (gfra caches it too)
        d = scma_mpa.generate(rng, B, p["M"], p["noiseVar"], cb)
        return (lambda: scma_mpa.scma_mpa(d["y"], d["channel"], p["noiseVar"], g, p["iterations"])), B
    if w == "covariance-ml":
        d = covariance_ml.generate(rng, B, p["N"], p["L"], p["M"], p["eps"], p["beta"], p["noiseVar"], p.get("perTrial", False))
        orders = covariance_ml.random_orders(rng, p["N"], p["sweeps"])  # once per run, shared by all trials
        return (lambda: covariance_ml.covariance_ml(d["y"], d["S"], p["noiseVar"], orders, beta=d["beta"])), B
    raise ValueError(f"unknown workload {w}")


def check(spec):
    w = spec["workload"]
    with open(spec["input"]) as f:
        inp = json.load(f)
    x = {k: decode(v) if isinstance(v, dict) else v for k, v in inp.items()}
    if w == "mmv-amp":
        cdt = np.complex64
        o = mmv_amp.mmv_amp(x["y"].astype(cdt), x["codebook"].astype(cdt), x["beta"].astype(np.float32), x["eps"].astype(np.float32), 1, x["iterations"])
        return {"activityScore": encode(o["llr"]), "channel": encode(o["channel"]), "activity": encode(o["activity"])}
    if w == "scma-mpa":
        cb = x["codebook"].astype(np.complex64)
        N, Q, J = x["N"], x["Q"], x["J"]
        g = scma_mpa.build_graph(cb, N, Q, J)
        o = scma_mpa.scma_mpa(x["y"].astype(np.complex64), x["channel"].astype(np.complex64), x["noiseVar"], g, x["iterations"])
        return {"bitLLR": encode(o["bit_llr"]), "message": encode(o["message"])}
    if w == "covariance-ml":
        orders = [np.asarray(o, dtype=np.int64) for o in x["orders"]]
        o = covariance_ml.covariance_ml(x["y"], x["codebook"], x["noiseVar"], orders, beta=x["beta"])
        return {"gamma": encode(o["gamma"]), "activity": encode(o["activity"])}
    raise ValueError(f"unknown workload {w}")


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    threads = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    info = {"python": sys.executable, "numpy": np.__version__, "threads": threads}
    if spec["task"] == "time":
        fn, batch = make(spec)
        rates = timed(fn, batch, spec.get("runs", 3), spec.get("minSeconds", 2.0))
        print(json.dumps({**info, "workload": spec["workload"], "batch": batch, "trialsPerSecond": rates}))
    elif spec["task"] == "check":
        print(json.dumps({**info, "outputs": check(spec)}))
    else:
        raise ValueError(f"unknown task {spec['task']}")


if __name__ == "__main__":
    main()
