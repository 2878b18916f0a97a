"""One training run on several processes with DistributedDataParallel (``torch-side train --ddp``).

Launch: ``torchrun --nproc_per_node=K -m torch_side train --recipe ... [--ddp]`` (under torchrun,
--ddp is implied). Backend: NCCL on CUDA (one GPU per process, ``cuda:LOCAL_RANK``), gloo on CPU.

- Data: every process holds the (same, seeded) data set on its device and draws the same
  permutation from the same generator; each global batch of ``bs`` images (the recipe's batch
  size, so the schedule and step count are the single-process run's) is split into K contiguous
  chunks and process r trains on chunk r. DDP averages the gradients, so a step sees the same
  images as a single-process step with batch ``bs``.
- BatchNorm is the lesson's ``nn.BatchNorm2d``, not SyncBatchNorm: each process normalises with
  its own chunk's statistics (PyTorch's SyncBatchNorm runs on GPUs only, and the lesson's nets are
  what is compared). DDP broadcasts rank 0's running statistics before every training forward,
  and again before evaluation, so all processes evaluate with the same buffers.
- Evaluation: every process evaluates the whole test set with the unwrapped model (no collective
  in the loop); the training loss and metrics of an epoch are summed over all processes.
- Only rank 0 writes: checkpoint, history.csv, plots, metrics.json, and the console. Every rank
  reads the checkpoint on ``--resume``, so all continue from the same state.
"""
import os

import torch
import torch.distributed as tdist

from torch_side.errors import UsageError
from torch_side.learn.callbacks import MetricsCB
from torch_side.learn.checkpoint import CheckpointCB
from torch_side.fashion.data import DataLoaders
from torch_side.learn.learner import Callback

__all__ = ["DDPError", "ENV", "add_arguments", "wanted", "setup", "Dist", "ShardLoader", "DDPCB"]

ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")  # what torchrun sets
LAUNCH = "torchrun --nproc_per_node=K -m torch_side train ..."
# Test hook: every rank ends abruptly right after epoch N's checkpoint (a crash, to resume from).
EXIT_ENV = "XLOPT_DDP_EXIT_AFTER_EPOCH"


class DDPError(UsageError):
    """A DDP launch that cannot work (no torchrun environment, a batch that does not split)."""


def add_arguments(p):
    p.add_argument("--ddp", action="store_true", help="DistributedDataParallel over the processes torchrun "
                   f"starts ({LAUNCH}; implied under torchrun): the batch size is the global batch")


def wanted(args):
    return bool(getattr(args, "ddp", False) or os.environ.get("TORCHELASTIC_RUN_ID"))


def setup(args, device, bs):
    """Check torchrun's environment and the batch split, then join the process group: a ``Dist``."""
    missing = [k for k in ENV if not os.environ.get(k)]
    if missing:
        raise DDPError(f"--ddp needs the environment torchrun sets ({', '.join(missing)} missing): launch with "
                       f"`{LAUNCH}`")
    rank, world, local = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    if bs % world:
        raise DDPError(f"the batch size {bs} is the global batch and must split evenly over the {world} "
                       f"processes; use a multiple of {world}")
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    tdist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world, local, device)


class Dist:
    """This process's place in the group, and the pieces ``train`` plugs in."""

    def __init__(self, rank, world, local_rank, device):
        self.rank, self.world, self.local_rank, self.device = rank, world, local_rank, device
        self.is_main = rank == 0

    def summary(self):
        return {"processes": self.world, "sync_batchnorm": False}

    def shard(self, dls):
        return DataLoaders(ShardLoader(dls.train, self.rank, self.world), dls.valid)

    def callbacks(self):
        return [DDPCB(self)]

    def checkpoint_cb(self, *args, **kw):
        return RankZeroCheckpointCB(self, *args, **kw)

    def close(self):
        if tdist.is_initialized():
            tdist.destroy_process_group()


class ShardLoader:
    """Rank r's contiguous chunk of each global batch of a shuffled ``DeviceLoader``.

    Same generator, same permutation, same number of batches as the loader it wraps, so the
    chunks of all ranks together are exactly the single-process batches."""

    def __init__(self, base, rank, world):
        self.base, self.rank, self.world = base, rank, world
        self.x, self.y, self.bs, self.gen = base.x, base.y, base.bs, base.gen
        last = len(self.y) % self.bs
        if last and last < world:
            raise DDPError(f"the last batch holds {last} image(s), fewer than the {world} processes; "
                           "change --subset or the batch size")

    def __len__(self):
        return len(self.base)

    def __iter__(self):
        n = len(self.y)
        idx = (torch.randperm(n, generator=self.gen) if self.base.shuffle else torch.arange(n)).to(self.x.device)
        for i in range(len(self)):
            j = idx[i * self.bs:(i + 1) * self.bs].tensor_split(self.world)[self.rank]
            yield self.x[j], self.y[j]


class DDPCB(Callback):
    """Wrap the model in DDP for training epochs; sum each epoch's training metrics over the ranks."""
    order = -5  # after DeviceCB has moved the model; before MetricsCB closes an epoch

    def __init__(self, dist):
        self.dist = dist

    def before_fit(self, learn):
        from torch.nn.parallel import DistributedDataParallel
        self.inner = learn.model
        ids = [self.dist.device] if self.dist.device.type == "cuda" else None
        self.ddp = learn.model = DistributedDataParallel(self.inner, device_ids=ids)  # buffers: rank 0 broadcasts

    def before_epoch(self, learn):
        learn.model = self.ddp if learn.training else self.inner

    def after_epoch(self, learn):
        if not learn.training:
            return
        m = next((cb for cb in learn.cbs if isinstance(cb, MetricsCB)), None)
        if m is not None and m._sums is not None:
            n = torch.tensor([float(m._n)], device=m._sums.device)
            tdist.all_reduce(m._sums)
            tdist.all_reduce(n)
            m._n = int(n.item())
        for b in self.inner.buffers():  # evaluate with rank 0's running statistics everywhere
            tdist.broadcast(b, 0)

    def cleanup_fit(self, learn):
        learn.model = self.inner


class RankZeroCheckpointCB(CheckpointCB):
    """Every rank resumes from the checkpoint; only rank 0 writes it."""

    def __init__(self, dist, *args, **kw):
        super().__init__(*args, **kw)
        self.dist = dist

    def after_epoch(self, learn):
        if self.dist.is_main:
            super().after_epoch(learn)
        stop = os.environ.get(EXIT_ENV)
        if stop is not None and learn.epoch == int(stop) and not learn.training:
            tdist.barrier()  # rank 0's file is complete
            os._exit(1)
