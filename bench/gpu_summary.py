"""The GPU run's results as one markdown page: `python bench/gpu_summary.py WORK` (gpu_table.sh).

Reads WORK/speed/*.json (train_speed.py, optim_speed.py) and WORK/seed-*/results.json (reproduce)
and prints the speed figures with their targets, then every trained row with its seed, so a run
cut short still reports what finished.
"""
import json
import sys
from pathlib import Path

TARGETS = {"hires-5ep": .94, "ours-5ep": .94, "resnet-5ep": .94, "hires-20ep": .95,
           "ours-20ep": .95}
SPEED_TARGET = 0.3  # seconds per epoch, the 1.23M ResNet at batch size 1024 (issue 24)


def _pct(v):
    return "" if v is None else f"{100 * v:.2f}"


def main(work):
    work = Path(work)
    out = ["# GPU run: results", ""]
    for f in sorted((work / "speed").glob("*.json")):
        d = json.loads(f.read_text())
        if d.get("bench") == "optim_speed":
            out.append(f"- optimizer step ({d['device_name']}, {d['params']:,} parameters): "
                       + ", ".join(f"{k} {v}x" for k, v in d["ratios"].items() if v is not None))
        else:
            met = "met" if d["seconds_per_epoch"] <= SPEED_TARGET else "NOT met"
            out.append(f"- speed `{f.stem}` ({d['device_name']}, compile {d['compile']}, "
                       f"{d['train_images']} images, bs {d['batch_size']}): "
                       f"{d['seconds_per_epoch']} s/epoch, {d['images_per_second']:,} images/s "
                       f"(target <= {SPEED_TARGET} s: {met}), accuracy {_pct(d['accuracy'])} % "
                       f"after {d['epochs']} epochs")
    out += ["", "| recipe | seed | epochs | accuracy | TTA | ensemble | target | s/epoch | "
            "train images | device |", "|---|---|---|---|---|---|---|---|---|---|"]
    for f in sorted(work.glob("seed-*/results.json")):
        seed = f.parent.name.split("-", 1)[1]
        for name, r in json.loads(f.read_text())["rows"].items():
            best = max(v for v in (r.get("accuracy"), r.get("tta_accuracy"),
                                   r.get("ensemble_accuracy")) if v is not None)
            t = TARGETS.get(name)
            target = "" if t is None else f"{_pct(t)}: {'met' if best >= t else 'NOT met'}"
            ep = r["epochs"] if r.get("full_scale") else f"{r['epochs']} (smoke)"
            out.append(f"| {name} | {seed} | {ep} | {_pct(r.get('accuracy'))} | "
                       f"{_pct(r.get('tta_accuracy'))} | {_pct(r.get('ensemble_accuracy'))} | "
                       f"{target} | {r.get('seconds_per_epoch', '')} | {r['train_images']} | "
                       f"{r.get('device_name', '')} |")
    for f in sorted(work.glob("variants/*/metrics.json")):
        r = json.loads(f.read_text())
        best = max(v for v in (r.get("accuracy"), r.get("tta_accuracy")) if v is not None)
        t = TARGETS.get(r["recipe"])
        target = "" if t is None else f"{_pct(t)}: {'met' if best >= t else 'NOT met'}"
        out.append(f"| {f.parent.name} (variant of {r['recipe']}) | {r['seed']} | {r['epochs']} | "
                   f"{_pct(r.get('accuracy'))} | {_pct(r.get('tta_accuracy'))} |  | {target} | "
                   f"{r.get('seconds_per_epoch', '')} | {r['train_images']} | "
                   f"{r.get('device_name', r['device'])} |")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
