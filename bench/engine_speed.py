"""How long 1000 epochs (Run pressed 200 times) of each sheet take in the engine, in-process.

    .venv/bin/python bench/engine_speed.py
"""
import time

from xlopt.core import buttons, sheets, state


def main(epochs=1000, repeats=3):
    print(f"{'sheet':10} {'epochs':>6} {'best s':>8} {'us/epoch':>9}")
    for name in sheets.SHEETS:
        best = float("inf")
        for _ in range(repeats):
            book = state.fresh(name)
            t = time.perf_counter()
            try:
                buttons.run(book, epochs)
            except Exception as e:  # a diverging sheet still counts the epochs it ran
                print(f"{name}: {e}")
            best = min(best, time.perf_counter() - t)
        print(f"{name:10} {epochs:6d} {best:8.3f} {best / epochs * 1e6:9.1f}")


if __name__ == "__main__":
    main()
