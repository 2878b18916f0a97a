"""Optimizer step time: torch_side.optim against torch.optim, side by side, as JSON.

  python bench/optim_speed.py                       # CPU, float32, one thread, the lesson's ResNet
  python bench/optim_speed.py --steps 100 --repeats 7
  python bench/optim_speed.py --device cuda         # the same contenders on a GPU

Every contender steps the same 1.23 M parameters (torch_side.fashion.models.resnet, 63 tensors) with the
same fixed gradients. The contenders are timed in interleaved rounds of ``--steps`` steps and each
keeps its fastest round, because a shared machine's other load only ever slows a run down; only
ratios from one such run mean anything. Three paths, each against torch.optim's same path:

  default  foreach=None (ours: the multi-tensor path everywhere; torch: for-loop on CPU,
           foreach on CUDA)                                 target ours/torch <= 1.1
  foreach  foreach=True                                     target <= 1.05
  fused    fused=True (ours: the rule compiled by torch.compile; torch: its fused kernels,
           Adam, AdamW and SGD only)                        target <= 1.2

Ours fused also runs for optimizers torch has no fused kernel of (Lion, Adagrad, Schedule-Free);
their times are printed without a ratio. One JSON object is written to
bench/results/<device>-<date>-optim_speed[-<tag>].json, naming the machine, and printed.
"""
import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from torch_side import optim  # noqa: E402
from torch_side.fashion.models import resnet  # noqa: E402

TARGETS = {"default": 1.1, "foreach": 1.05, "fused": 1.2}
FAMILIES = {  # name -> (ours, torch's, keywords); torch's None: no torch twin with that path
    "Adam": (optim.Adam, torch.optim.Adam, dict(lr=1e-3)),
    "AdamW": (optim.AdamW, torch.optim.AdamW, dict(lr=1e-3)),
    "SGD momentum": (optim.SGD, torch.optim.SGD, dict(lr=1e-3, momentum=0.9)),
    "RMSprop": (optim.RMSprop, torch.optim.RMSprop, dict(lr=1e-3)),
    "Adagrad": (optim.Adagrad, torch.optim.Adagrad, dict(lr=1e-2)),
    "Lion": (optim.Lion, None, dict(lr=1e-4)),
    "ScheduleFreeAdamW": (optim.ScheduleFreeAdamW, None, dict(lr=2.5e-3)),
}
TORCH_FUSED = ("Adam", "AdamW", "SGD momentum")  # torch.optim's fused kernels exist on CPU and CUDA
PATHS = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def machine(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def contenders(device, families):
    """'<family> <path> ours|torch' -> optimizer factory."""
    c = {}
    for fam in families:
        ours, theirs, kw = FAMILIES[fam]
        for path, extra in PATHS.items():
            c[f"{fam} {path} ours"] = lambda p, o=ours, k={**kw, **extra}: o(p, **k)
            if theirs is not None and (path != "fused" or fam in TORCH_FUSED):
                c[f"{fam} {path} torch"] = lambda p, o=theirs, k={**kw, **extra}: o(p, **k)
    return c


def setup(factory, device, seed=0):
    torch.manual_seed(seed)
    model = resnet().to(device)
    params = list(model.parameters())
    g = torch.Generator(device="cpu").manual_seed(seed + 1)
    for p in params:
        p.grad = (torch.randn(p.shape, generator=g) * 1e-2).to(device)
    return factory(params).step, sum(p.numel() for p in params), len(params)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=50, help="steps per timed round")
    ap.add_argument("--repeats", type=int, default=5, help="rounds per contender (fastest kept)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (the issue's: one)")
    ap.add_argument("--families", default=",".join(FAMILIES), help=f"comma list of {', '.join(FAMILIES)}")
    ap.add_argument("--tag", default="", help="appended to the result file's name")
    ap.add_argument("--note", default="", help="stored in the JSON (e.g. 'machine shared with 4 builds')")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    for f in families:
        if f not in FAMILIES:
            ap.error(f"--families: unknown {f!r}; choose from {', '.join(FAMILIES)}")
    names = contenders(device, families)
    steps, compile_s = {}, {}
    n_params = n_tensors = 0
    for name, f in names.items():
        t = time.perf_counter()
        steps[name], n_params, n_tensors = setup(f, device)
        for _ in range(5):  # warm up (and compile the fused steps)
            steps[name]()
        sync(device)
        compile_s[name] = round(time.perf_counter() - t, 2)
        print(f"  ready: {name} ({compile_s[name]} s)", flush=True)
    best = {name: float("inf") for name in names}
    for _ in range(args.repeats):
        for name, step in steps.items():
            sync(device)
            t = time.perf_counter()
            for _ in range(args.steps):
                step()
            sync(device)
            best[name] = min(best[name], (time.perf_counter() - t) / args.steps * 1e3)

    ratios = {}
    for fam in families:
        for path in PATHS:
            a, b = f"{fam} {path} ours", f"{fam} {path} torch"
            if a in best and b in best:
                ratios[f"{fam} {path}: ours / torch"] = round(best[a] / best[b], 3)
    worst = {path: max((r for k, r in ratios.items() if k.endswith(f" {path}: ours / torch")
                        and (path != "fused" or k.split(f" {path}:")[0] in TORCH_FUSED)), default=None)
             for path in PATHS}
    result = {
        "bench": "optim_speed", "date": datetime.date.today().isoformat(), "device": str(device),
        "machine": machine(device), "cpus": __import__("os").cpu_count(), "note": args.note,
        "torch": torch.__version__, "threads": args.threads, "dtype": "float32", "params": n_params,
        "tensors": n_tensors, "steps_per_round": args.steps, "rounds": args.repeats,
        "ms_per_step": {k: round(v, 3) for k, v in best.items()},
        "setup_and_warmup_s": compile_s,
        "ratios": ratios, "worst_ratio_per_path": worst, "targets": TARGETS,
        "met": {p: (w is not None and w <= TARGETS[p]) for p, w in worst.items()},
    }
    print(f"{n_params:,} parameters in {n_tensors} tensors, {device} ({result['machine']}), float32, "
          f"{args.threads} thread(s), fastest of {args.repeats} interleaved rounds x {args.steps} steps")
    w = max(map(len, best))
    for name, ms in best.items():
        print(f"  {name:<{w}}  {ms:8.3f} ms/step")
    w = max(map(len, ratios))
    for name, r in ratios.items():
        print(f"  {name:<{w}}  {r}x")
    for p, r in worst.items():
        print(f"  worst {p:<8} ratio {r}x  (target <= {TARGETS[p]})  {'met' if result['met'][p] else 'NOT met'}")
    args.out.mkdir(parents=True, exist_ok=True)
    tag = f"-{args.tag}" if args.tag else ""
    path = args.out / f"{device.type}-{result['date']}-optim_speed{tag}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
