"""`RuleOptimizer`: what every optimizer of `torch_side.optim` shares (validation, state, state_dict
interchange with torch.optim, the three paths that run a rule, and the composed weight decay and
maximize); each class adds its state keys, its checks and its ``_math``."""
import torch

from torch_side.optim.compose import L2, ascend, decayed
from torch_side.optim.fused import check_compiler, compiled, printed
from torch_side.optim.graph import plan, sym
from torch_side.optim.numerics import (UNSUPPORTED, check_flag, check_lr, check_nonneg, exact_sqrt, numbers,
                                       real_view)

__all__ = ["RuleOptimizer", "RULE_CLASSES", "sqr_avg_key_of"]

RULE_CLASSES = {}  # class name -> our optimizer class (torch.optim's twin has the same name)


def sqr_avg_key_of(opt):
    """The state key of the squared-gradient average annealing reads, for an optimizer or its class,
    ours or torch.optim's twin of the same name (torch.optim.AdamW: AdamW's); None when it keeps none."""
    cls = opt if isinstance(opt, type) else type(opt)
    if not issubclass(cls, RuleOptimizer):
        cls = RULE_CLASSES.get(cls.__name__)
    return getattr(cls, "sqr_avg_key", None)


class RuleOptimizer(torch.optim.Optimizer):
    """What every optimizer here shares: validation, state, state_dict interchange, three paths.

    A subclass lists its state tensors in ``state_keys`` (PyTorch's names) and their lesson names
    in ``lesson_names``, says which a group needs in ``_keys(group)``, checks a group in
    ``_check_group`` and writes its update once, in ``_math(group, p, g, state, step)``: p, g and
    the state values are tensors (fused path) or symbols (per-tensor and multi-tensor paths); it
    returns ``(new p, {state key: new value})`` computed by `xlopt.rules` functions.

    What the classes share is composed here, once (`torch_side.optim.compose`): ``maximize``
    negates the gradients before any path runs the rule, and the class's kind of weight decay
    (``decay``: L2, DECOUPLED or None; `decay_kind` when a group chooses) is applied to (p, g)
    before ``_math`` sees them. ``sqr_avg_key`` names the state that is the squared-gradient
    average `torch_side.optim.sched.AutoAnneal` reads (None: the class keeps none).

    The paths: ``foreach=True`` evaluates the rule's graph once over lists of all a bucket's
    tensors (`torch_side.optim.graph`); ``foreach=False`` evaluates the same graph once per parameter,
    so the two give the same bits in every dtype (same operations, same fusions); ``foreach=None``
    takes the multi-tensor path on every device (measured faster than the per-tensor one on CPU
    and CUDA, see bench/optim_speed.py). ``fused=True`` compiles the per-tensor math of a whole
    bucket with torch.compile (Inductor) into fused kernels: its float32 results agree with the
    other paths to a few ulps (the compiler reassociates), float64 to 1e-12 relative.
    """
    state_keys = ()
    lesson_names = {}
    lazy_keys = ()          # state that the first step creates from the gradient (SGD's buffer)
    counts_steps = False    # keeps state['step']
    scalar_keys = ("step",)  # per-parameter Python-number state (init_state/linreg seed them as numbers)
    elementwise = True      # False: the math is not element-wise (Muon), it runs on tensors only
    decay = L2              # the kind of weight_decay (compose.L2, compose.DECOUPLED, None: _math's own)
    sqr_avg_key = None      # the state key of the squared-gradient average annealing reads
    EXACT_SQRT = True
    FMA = True

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        RULE_CLASSES.setdefault(cls.__name__, cls)

    def __init__(self, params, defaults):
        # every argument is checked before params is read (a generator is left untouched)
        self._check_group(dict(defaults))
        super().__init__(params, defaults)

    # --- param groups -------------------------------------------------------------------------
    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        try:
            group = self.param_groups[-1]
            self._check_group(group)
            for p in group["params"]:
                if p.is_sparse or p.layout != torch.strided:
                    raise ValueError(f"{type(self).__name__} does not support sparse parameters "
                                     "(use torch.optim.SparseAdam)")
        except ValueError:
            self.param_groups.pop()
            raise

    def _check_group(self, group):
        for key, (ok, why) in UNSUPPORTED.items():
            if key in group and group[key] not in ok:
                raise ValueError(f"{type(self).__name__}: {why}")
        check_lr(group["lr"])
        check_nonneg("weight_decay", group["weight_decay"])
        check_flag("maximize", group["maximize"])
        if group.get("foreach") not in (None, True, False):
            raise ValueError(f"foreach must be None, True or False, got {group['foreach']!r}")
        if group.get("fused") not in (None, True, False):
            raise ValueError(f"fused must be None, True or False, got {group['fused']!r}")
        if group.get("fused") and group.get("foreach"):
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    # --- state ---------------------------------------------------------------------------------
    def state_name(self, name):
        """The state key for ``name``, a PyTorch key or one of the lesson's names (grad_avg, sqr_avg)."""
        if name in self.state_keys:
            return name
        if name in self.lesson_names:
            return self.lesson_names[name]
        known = list(self.state_keys) + [f"{k} (= {v})" for k, v in self.lesson_names.items()]
        raise ValueError(f"{type(self).__name__} keeps no state {name!r}; its state is "
                         f"{', '.join(known) or 'empty'}")

    def init_state(self, p, **tensors):
        """Seed a parameter's state (e.g. ``grad_avg=momtarget``) before its first step."""
        keys = {k: self.state_name(k) for k in tensors}
        st = self.state[p]
        for k, v in tensors.items():
            t = torch.as_tensor(v, dtype=p.dtype, device=p.device)
            st[keys[k]] = t.expand_as(p).clone() if t.shape != p.shape else t.clone()

    def _keys(self, group):
        return self.state_keys

    def decay_kind(self, group):
        """The group's kind of weight decay: the class's ``decay`` unless a group key chooses."""
        return self.decay

    def _update(self, group, p, g, st, scalars):
        """The composed step: the class's weight decay, then its own ``_math``."""
        p, g = decayed(self.decay_kind(group), p, g, group["lr"], group["weight_decay"])
        return self._math(group, p, g, st, scalars)

    def _scalars(self, group, st):
        """Advance the per-parameter numbers a step reads (the step count) and return them."""
        if not self.counts_steps:
            return None
        st["step"] = int(st.get("step", 0)) + 1
        return st["step"]

    def _fresh(self, p, key):
        """A missing state tensor: zeros, as in PyTorch."""
        return torch.zeros_like(p, memory_format=torch.preserve_format)

    def _prepare(self, p, group, keys):
        """One parameter's state, missing entries made (`_fresh`), and its scalars."""
        st = self.state[p]
        for k in keys:
            if k not in st and k not in self.lazy_keys:
                st[k] = self._fresh(p, k)
        return st, self._scalars(group, st)

    def load_state_dict(self, state_dict):
        """torch.optim's, after checking every saved group as a new one would be (nothing is
        changed when a group is refused); groups lacking one of our keys get the class default,
        keys we do not know are kept (as torch.optim keeps them)."""
        for g in state_dict["param_groups"]:
            self._check_group({**self.defaults, **g})
        super().load_state_dict(state_dict)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            for k, v in self.defaults.items():
                group.setdefault(k, v)
        for st in self.state.values():
            if isinstance(st, dict) and torch.is_tensor(st.get("step")):
                st["step"] = int(st["step"].item())

    # --- stepping --------------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for gi, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                if p.grad is not None and (p.grad.is_sparse or p.grad.layout != torch.strided):
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients "
                                       f"(param group {gi}, parameter {i}); no parameter was updated")
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            hp = numbers(group)
            if hp.get("fused"):
                self._step_fused(group, hp, params)
            elif not self.elementwise:
                self._step_tensors(hp, params)
            else:
                self._step_graph(group, hp, params, per_tensor=hp.get("foreach") is False)
        return loss

    def _buckets(self, group, params, per_tensor):
        """Parameters that step together: same device, dtype, scalars and state present.
        Returns [(params, scalars, state keys present, their state dicts)]."""
        keys = self._keys(group)
        if not keys and not self.counts_steps:  # no state at all (plain SGD): none is created
            return [([p], None, [], []) for p in params] if per_tensor else [(params, None, [], [])]
        state, lazy = self.state, self.lazy_keys
        sts = [state[p] for p in params]
        for k in keys:
            if k not in lazy:
                for p, st in zip(params, sts):
                    if k not in st:
                        st[k] = self._fresh(p, k)
        scalars = [self._scalars(group, st) for st in sts] if self.counts_steps else [None] * len(params)
        if per_tensor:
            return [([p], sc, [k for k in keys if k in st], [st]) for p, sc, st in zip(params, scalars, sts)]
        s0, st0 = scalars[0], sts[0]
        here0 = [k for k in keys if k in st0]
        n0 = len(st0)
        if all(sc == s0 for sc in scalars) and all(len(st) == n0 for st in sts) and \
                all(k in st for st in sts for k in here0) and len({(p.device, p.dtype) for p in params}) == 1:
            return [(params, s0, here0, sts)]  # the usual case: one bucket
        buckets = {}
        for p, sc, st in zip(params, scalars, sts):
            present = tuple(k in st for k in keys)
            b = buckets.setdefault((p.device, p.dtype, sc, present), ([], sc, [k for k in keys if k in st], []))
            b[0].append(p)
            b[3].append(st)
        return list(buckets.values())

    def _step_graph(self, group, hp, params, per_tensor):
        """The per-tensor (a bucket per parameter) and multi-tensor paths: one graph of the rule,
        evaluated with ``torch._foreach_*`` over the bucket's lists."""
        exact = exact_sqrt if self.EXACT_SQRT else None
        graphs = {}
        for ps, scalars, keys, states in self._buckets(group, params, per_tensor):
            cplx = ps[0].dtype.is_complex  # a bucket has one dtype
            env = {"p": [real_view(p) for p in ps] if cplx else list(ps),
                   "g": [real_view(p.grad) for p in ps] if cplx else [p.grad for p in ps]}
            env["g"] = ascend(env["g"], hp["maximize"])
            for k in keys:
                env[k] = [real_view(s[k]) for s in states] if cplx else [s[k] for s in states]
            gkey = (scalars, tuple(keys))
            if gkey not in graphs:  # one graph per distinct step and state, run over each bucket
                graphs[gkey] = self._plan(hp, scalars, keys)
            graph, made = graphs[gkey]
            fma = self.FMA and ps[0].dtype not in (torch.float64, torch.complex128)
            created = graph.run(env, fma=fma, exact_sqrt=exact)
            for k, vals in zip(made, created):
                for s, p, v in zip(states, ps, vals):
                    s[k] = torch.view_as_complex(v) if p.is_complex() else v

    def _plan(self, hp, scalars, keys):
        """The analysed graph of one step (and the state keys it creates), kept while the numbers it
        folds in are the same (SGD's every step; Adam's changes with the step count)."""
        try:
            key = (scalars, tuple(keys), tuple(sorted((k, v) for k, v in hp.items() if k != "param_names")))
            hash(key)
        except TypeError:  # an unhashable value in the group (a key we do not use): no reuse
            key = None
        cache = self.__dict__.setdefault("_plans", {})
        if key is not None and key in cache:
            return cache[key]
        new_p, new_st = self._update(hp, sym("p"), sym("g"), {k: sym(k) for k in keys}, scalars)
        outs = [(new_p, "p")] + [(v, k if k in keys else None) for k, v in new_st.items()]
        made = (plan(outs), [k for k in new_st if k not in keys])
        if key is not None:
            if len(cache) > 16:
                cache.clear()
            cache[key] = made
        return made

    def _fused_plan(self, hp, scalars, keys, device):
        """The compiled step and its numbers (one float64 tensor, read in the kernel), kept while
        the numbers are the same (as `_plan`)."""
        try:
            key = (device, scalars, tuple(keys), tuple(sorted((k, v) for k, v in hp.items() if k != "param_names")))
            hash(key)
        except TypeError:
            key = None
        cache = self.__dict__.setdefault("_fused_plans", {})
        if key is not None and key in cache:
            return cache[key]
        new_p, new_st = self._update(hp, sym("p"), sym("g"), {k: sym(k) for k in keys}, scalars)
        source, consts = printed([(new_p, "p")] + [(v, k) for k, v in new_st.items()], keys)
        made = compiled(source), torch.tensor(consts, dtype=torch.float64, device=device)
        if key is not None:
            if len(cache) > 16:
                cache.clear()
            cache[key] = made
        return made

    def _step_tensors(self, hp, params):
        """Math that is not element-wise (Muon's matrices): the rule on each parameter's tensors."""
        keys = self._keys(hp)
        for p in params:
            st, scalars = self._prepare(p, hp, keys)
            g = ascend([p.grad], hp["maximize"])[0]
            new_p, new_st = self._update(hp, p, g, {k: st[k] for k in keys if k in st}, scalars)
            p.copy_(new_p)
            for k, v in new_st.items():
                if k in st:
                    st[k].copy_(v)
                else:
                    st[k] = v

    def _step_fused(self, group, hp, params):
        """``fused=True``: the bucket's graph (the same one the other paths run) printed once as
        Python over one parameter (`torch_side.optim.fused.printed`) and compiled by torch.compile into
        fused kernels. Every number of the graph (lr, the bias corrections, β) is read from one
        float64 tensor argument, so the next step and a schedule run the same compiled code, and
        the scalar work happens once per step in Python, not per element."""
        if not self.__dict__.get("_compiler_ok"):  # before any state moves
            check_compiler(params[0].device)
            self._compiler_ok = True
        for ps, scalars, keys, states in self._buckets(group, params, False):
            kernel, c = self._fused_plan(hp, scalars, keys, ps[0].device)
            re = real_view if ps[0].dtype.is_complex else (lambda t: t)  # a bucket has one dtype
            sts = {k: [re(s[k]) for s in states] for k in keys}
            created = kernel([re(p) for p in ps], ascend([re(p.grad) for p in ps], hp["maximize"]), sts, c)
            for s, p, made in zip(states, ps, created):
                for k, v in made.items():
                    s[k] = torch.view_as_complex(v) if p.is_complex() else v
