"""Trials per hour for a small `torch-side compare` grid with 1 and 2 Ray workers (and sequential).

  python bench/grid_speed.py                      # 2 opts x 2 schedules, 1 epoch of 1200 images
  python bench/grid_speed.py --workers 1,2,4 --device cuda --subset 0 --epochs 1

Each run is `torch-side compare --workers N` into a fresh folder (so nothing is kept from an
earlier run), timed end to end: Ray's start-up, every worker's torch import and data load are
inside the figure. Writes bench/results/<device>-<date>-grid_speed.json and prints it.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", default="seq,1,2", help="comma list: seq (no Ray, one process) and worker counts")
    p.add_argument("--opts", default="sgd,adam")
    p.add_argument("--scheds", default="constant,cosine")
    p.add_argument("--subset", type=int, default=1200)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--bs", type=int, default=100)
    p.add_argument("--device", default="cpu")
    p.add_argument("--ray-address")
    args = p.parse_args(argv)
    n_trials = len(args.opts.split(",")) * len(args.scheds.split(","))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    runs = []
    for w in args.workers.split(","):
        out = Path(tempfile.mkdtemp(prefix="grid_speed-"))
        cmd = [sys.executable, "-m", "torch_side.cli", "compare", "--opts", args.opts, "--scheds", args.scheds,
               "--subset", str(args.subset), "--epochs", str(args.epochs), "--bs", str(args.bs),
               "--device", args.device, "--no-progress", "--out", str(out)]
        if w != "seq":
            cmd += ["--workers", w] + (["--ray-address", args.ray_address] if args.ray_address else [])
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if r.returncode:
            sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
        import pandas as pd
        df = pd.read_csv(out / "compare.csv")
        shutil.rmtree(out, ignore_errors=True)
        runs.append({"workers": w, "trials": n_trials, "wall_seconds": round(wall, 1),
                     "trials_per_hour": round(n_trials / wall * 3600, 1),
                     "mean_trial_seconds": round(float(df["seconds"].mean()), 2),
                     "all_ok": bool((df["status"] == "ok").all())})
        print(json.dumps(runs[-1]))
    import torch
    res = {"bench": "grid_speed", "date": datetime.date.today().isoformat(), "device": args.device,
           "device_name": (torch.cuda.get_device_name(0) if args.device.startswith("cuda") else
                           f"{_cpu_name()}, {os.cpu_count()} cores (shared with other jobs while measured)"),
           "torch": torch.__version__, "grid": {"opts": args.opts, "scheds": args.scheds, "model": "resnet",
                                                "subset": args.subset, "epochs": args.epochs, "bs": args.bs},
           "note": "wall time per whole compare run, Ray start-up and each worker's torch import and data load "
                   "included; sequential ('seq') runs in one process at torch's default thread count, each Ray "
                   "worker with cores/N threads",
           "runs": runs}
    try:
        import ray
        res["ray"] = ray.__version__
    except ImportError:
        pass
    path = ROOT / "bench" / "results" / f"{args.device.split(':')[0]}-{res['date']}-grid_speed.json"
    path.write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
