"""`torch-side sweep`: `xlopt sweep` with every configuration's arithmetic on torch float64 tensors.

Same arguments and output as `xlopt sweep`, plus --device. The sheet's rule trees run on tensors of
configurations (the `VectorBook` of xlopt.core.vector_book with `TorchOps`); + − × ÷ and √ are correctly
rounded on the CPU (√ through `optim.exact_sqrt`) and on CUDA, a square is x·x (`expr.square`), and the one
power left (adam_bc's β^t, a few distinct values) is libm's pow on the host, so the result equals numpy's to the bit.

  torch-side sweep adam --grid lr=1e-3..3:25:log,mom=0.5..0.99:20 --device cuda --format json
"""
import numpy as np
import torch

from xlopt.cli import sweep as cli_sweep
from xlopt.core import sweep_ops
from xlopt.core.errors import BadInput

from torch_side import optim
from torch_side.errors import check_device

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
        """libm's pow as the engine's (`sweep_ops.libm_pow`), on the host: only β^t reaches here."""
        if not isinstance(x, torch.Tensor) and not isinstance(p, torch.Tensor):
            return float(x) ** p
        device = next(v.device for v in (x, p) if isinstance(v, torch.Tensor))
        host = [v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v for v in (x, p)]
        return torch.from_numpy(sweep_ops.libm_pow(*host)).to(device)

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


def run(args) -> int:
    check_device(args.device)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise BadInput(f"--device {args.device}: CUDA is not available here; use --device cpu")
    return cli_sweep.main(args, ops=TorchOps(args.device))
