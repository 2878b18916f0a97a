"""Run's per-epoch hooks: what a sheet's macro does after each epoch's carry (adam_ann anneals)."""
from dataclasses import dataclass

from xlopt.core import rules


@dataclass(frozen=True)
class Anneal:
    """adam_ann: quarter lr when the gradients' size doubled past the best seen; keep the best."""
    threshold: float = rules.ANNEAL_THRESHOLD
    factor: float = rules.ANNEAL_FACTOR
    reads = ("lr", "gradrat", "avg_grad2", "prev_grad2")
    writes = ("lr", "prev_grad2")

    def __call__(self, book):
        avg, prev = book.get("avg_grad2"), book.get("prev_grad2")
        book.set("lr", rules.anneal_lr(book.get("lr"), book.get("gradrat"), self.threshold, self.factor))
        book.set("prev_grad2", rules.keep_best(avg, prev))
