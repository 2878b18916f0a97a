"""`torch-side sweep`: `xlopt sweep` with every configuration's arithmetic on torch float64 tensors.

Same arguments and output as `xlopt sweep`, plus --device. The sheet's rule trees run on tensors of
configurations (the `VectorBook` of xlopt.core.sweep with `TorchOps`); + − × ÷ and √ are correctly
rounded on the CPU (√ through `optim.exact_sqrt`) and on CUDA, and the squares go through libm's pow like the engine's
(v·v, with the few near-tie squares recomputed on the host), so the result equals numpy's to the bit.

  torch-side sweep adam --grid lr=1e-3..3:25:log,mom=0.5..0.99:20 --device cuda --format json
"""
import numpy as np
import torch

from xlopt.cli import sweep as cli_sweep
from xlopt.core import sweep
from xlopt.core.errors import BadInput

from torch_side import optim

DTYPE = torch.float64


class TorchOps:
    """The array operations a VectorBook needs, on torch tensors of one device."""

    def __init__(self, device="cpu"):
        self.device = torch.device(device)
        self.name = f"torch:{self.device}"

    def sqrt(self, x):
        return optim.exact_sqrt(x) if isinstance(x, torch.Tensor) else float(x) ** 0.5

    def isfinite(self, x):
        return torch.isfinite(x) if isinstance(x, torch.Tensor) else torch.tensor(np.isfinite(x))

    def where(self, c, a, b):
        return torch.where(c, a, b)

    def zeros_like(self, x):
        return torch.zeros_like(x)

    def pow(self, x, p):
        if not isinstance(x, torch.Tensor):
            return float(x) ** p
        if isinstance(p, (int, float)) and p == 2:
            sq = x * x
            mask = sweep.near_tie(x.detach().cpu().numpy().view(np.uint64))  # host-side integer test
            idx = np.flatnonzero(mask)
            if idx.size:
                xs = x.detach().cpu().numpy()[idx]
                fixed = torch.from_numpy(np.power(xs, np.full(idx.size, 2.0))).to(x.device)
                sq[torch.from_numpy(idx).to(x.device)] = fixed
            return sq
        return torch.from_numpy(sweep.NumpyOps.pow(x.detach().cpu().numpy(), p)).to(x.device)

    def full(self, n, v):
        return torch.full((n,), float(v), dtype=DTYPE, device=self.device)

    def asarray(self, v):
        if isinstance(v, torch.Tensor):
            return v.to(self.device, DTYPE)
        return torch.as_tensor(np.asarray(v, dtype=np.float64), device=self.device)

    def to_numpy(self, v):
        return v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)

    def asindex(self, idx):
        return torch.as_tensor(idx, device=self.device)

    def take(self, v, idx):
        return v[idx]

    def copy(self, v):
        return v.clone()

    def put(self, v, idx, w):
        v[idx] = w

    def errstate(self):
        return np.errstate(all="ignore")

    def exact(self):
        """The summaries' √ (expr.sqrt calls Tensor.sqrt, up to 1 ulp off on CPU): made exact."""
        return optim.exact_sqrt_mode()


def add_arguments(parser):
    cli_sweep.add_arguments(parser)
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")


def main(args) -> int:
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise BadInput(f"--device {args.device}: CUDA is not available here; use --device cpu")
    return cli_sweep.main(args, ops=TorchOps(args.device))
