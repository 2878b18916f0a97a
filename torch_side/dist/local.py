"""The single-process stand-in for `torch_side.dist.ddp.Dist`: one process is rank 0 of a group
of one, so a training run calls the same pieces whether it is distributed or not."""
from torch_side.learn.checkpoint import CheckpointCB

__all__ = ["Local"]


class Local:
    """This process alone: it keeps the data whole, adds no callbacks, writes its own checkpoint."""
    rank, world, is_main = 0, 1, True

    def __init__(self, device):
        self.device = device

    def shard(self, dls):
        return dls

    def callbacks(self):
        return []

    def checkpoint_cb(self, *args, **kw):
        return CheckpointCB(*args, **kw)

    def summary(self):
        return {}  # nothing to add to metrics.json

    def close(self):
        pass
