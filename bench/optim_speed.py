"""Optimizer step time: torch_side.optim against torch.optim, side by side, as JSON.

  python bench/optim_speed.py                       # CPU, float32, one thread, the lesson's ResNet
  python bench/optim_speed.py --steps 200 --repeats 7
  python bench/optim_speed.py --device cuda         # adds torch.optim fused and a torch.compile'd step

Every contender steps the same 1.23 M parameters (torch_side.models.resnet) with the same fixed
gradients. The contenders are timed in alternating rounds of ``--steps`` steps and each keeps its
fastest round, because a shared machine's other load only ever slows a run down. Printed: ms per
step and the ratios the issue sets targets for (ours foreach / torch foreach ≤ 1.2 on CPU and GPU;
on a GPU also the compiled step / torch fused ≤ 1.5). One JSON object is written to
bench/results/<device>-<date>-optim_speed.json and printed.
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
from torch_side.models import resnet  # noqa: E402

TARGETS = {"foreach_ratio": 1.2, "compiled_over_fused": 1.5}


def contenders(device):
    """name -> (optimizer factory, family) ; the families pair ours with torch's."""
    c = {
        "ours Adam foreach": lambda p: optim.Adam(p, lr=1e-3, foreach=True),
        "torch Adam foreach": lambda p: torch.optim.Adam(p, lr=1e-3, foreach=True),
        "ours Adam for-loop": lambda p: optim.Adam(p, lr=1e-3, foreach=False),
        "torch Adam for-loop": lambda p: torch.optim.Adam(p, lr=1e-3, foreach=False),
        "torch Adam fused": lambda p: torch.optim.Adam(p, lr=1e-3, fused=True),
        "ours AdamW foreach": lambda p: optim.AdamW(p, lr=1e-3, foreach=True),
        "torch AdamW foreach": lambda p: torch.optim.AdamW(p, lr=1e-3, foreach=True),
        "ours SGD momentum foreach": lambda p: optim.SGD(p, lr=1e-3, momentum=0.9, foreach=True),
        "torch SGD momentum foreach": lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9, foreach=True),
        "ours RMSprop foreach": lambda p: optim.RMSprop(p, lr=1e-3, foreach=True),
        "torch RMSprop foreach": lambda p: torch.optim.RMSprop(p, lr=1e-3, foreach=True),
    }
    if device.type == "cuda":
        c["ours Adam foreach, torch.compile'd step"] = "compile"
    return c


def setup(factory, device, seed=0):
    torch.manual_seed(seed)
    model = resnet().to(device)
    params = [p for p in model.parameters()]
    g = torch.Generator(device="cpu").manual_seed(seed + 1)
    for p in params:
        p.grad = (torch.randn(p.shape, generator=g) * 1e-2).to(device)
    if factory == "compile":
        opt = optim.Adam(params, lr=1e-3, foreach=True)
        step = torch.compile(opt.step)
    else:
        opt = factory(params)
        step = opt.step
    return step, sum(p.numel() for p in params)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=50, help="steps per timed round")
    ap.add_argument("--repeats", type=int, default=5, help="rounds per contender (fastest kept)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (the issue's: one)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    names = contenders(device)
    steps, n_params = {}, 0
    for name, f in names.items():
        steps[name], n_params = setup(f, device)
        for _ in range(5):  # warm up (and compile)
            steps[name]()
    best = {name: float("inf") for name in names}
    for _ in range(args.repeats):
        for name, step in steps.items():
            sync(device)
            t = time.perf_counter()
            for _ in range(args.steps):
                step()
            sync(device)
            best[name] = min(best[name], (time.perf_counter() - t) / args.steps * 1e3)

    def ratio(a, b):
        return round(best[a] / best[b], 3) if a in best and b in best else None
    ratios = {
        "Adam foreach: ours / torch foreach": ratio("ours Adam foreach", "torch Adam foreach"),
        "Adam foreach: ours / torch for-loop": ratio("ours Adam foreach", "torch Adam for-loop"),
        "Adam foreach: ours / torch fused": ratio("ours Adam foreach", "torch Adam fused"),
        "Adam for-loop: ours / torch for-loop": ratio("ours Adam for-loop", "torch Adam for-loop"),
        "AdamW foreach: ours / torch foreach": ratio("ours AdamW foreach", "torch AdamW foreach"),
        "SGD momentum foreach: ours / torch foreach": ratio("ours SGD momentum foreach", "torch SGD momentum foreach"),
        "RMSprop foreach: ours / torch foreach": ratio("ours RMSprop foreach", "torch RMSprop foreach"),
    }
    if device.type == "cuda":
        ratios["Adam compiled: ours / torch fused"] = ratio("ours Adam foreach, torch.compile'd step",
                                                            "torch Adam fused")
    result = {
        "bench": "optim_speed", "date": datetime.date.today().isoformat(), "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
        or platform.machine(),
        "torch": torch.__version__, "threads": args.threads, "dtype": "float32", "params": n_params,
        "steps_per_round": args.steps, "rounds": args.repeats,
        "ms_per_step": {k: round(v, 3) for k, v in best.items()},
        "ratios": ratios, "targets": TARGETS,
        "gpu": "measured" if device.type == "cuda" else "unmeasured (this run is on CPU)",
    }
    print(f"{n_params:,} parameters, {device}, float32, {args.threads} thread(s), "
          f"fastest of {args.repeats} rounds x {args.steps} steps")
    w = max(map(len, best))
    for name, ms in best.items():
        print(f"  {name:<{w}}  {ms:8.3f} ms/step")
    w = max(map(len, ratios))
    for name, r in ratios.items():
        print(f"  {name:<{w}}  {r}x")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{device.type}-{result['date']}-optim_speed.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
