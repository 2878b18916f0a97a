"""Every update rule of the lab, written once as plain arithmetic.

The operands may be floats, numpy arrays, torch tensors or `xlopt.expr` symbols: the engine, the
workbook's formula text and torch_side's optimizers all call these functions, so they cannot drift.
The order of operations is part of the definition (the workbook evaluates left to right, and the
engine, the workbook and torch must agree to the last bit), so do not "simplify" these expressions.
"""
from xlopt.core.expr import sign, sqrt, square, where

FD_STEP = 0.01  # the basic sheet's finite-difference step, a literal in its formulas


# --- the model: y = a·x + b, squared error -------------------------------------------------
def predict(a, b, x):
    """y_pred as the basic sheet writes it: intercept plus slope times x."""
    return b + a * x


def sq_err(y, pred):
    return square(y - pred)


def err_b_shifted(a, b, x, y, h=FD_STEP):
    """errb1: the squared error with the intercept nudged by h."""
    return square((b + h) + x * a - y)


def err_a_shifted(a, b, x, y, h=FD_STEP):
    """erra1: the squared error with the slope nudged by h."""
    return square((a + h) * x + b - y)


def finite_diff(err_shifted, err, h=FD_STEP):
    """A one-sided estimate of de/dp: how far the error moved per unit nudge."""
    return (err_shifted - err) / h


def grad_b_of_pred(pred, y):
    """de/db from the prediction column (basic sheet)."""
    return 2 * (pred - y)


def grad_b(a, b, x, y):
    """de/db written out (the momentum, rmsprop and adam sheets)."""
    return 2 * (a * x + b - y)


def grad_a(g_b, x):
    """de/da = de/db · x (chain rule through a·x)."""
    return g_b * x


# --- optimizer pieces ------------------------------------------------------------------------
def ewma(avg, new, beta):
    """An exponentially weighted average: avg·β + (1−β)·new (momentum and the squared averages)."""
    return avg * beta + (1 - beta) * new


def sgd_step(p, step, lr):
    """p − step·lr: the plain step, and momentum's step when `step` is the average."""
    return p - step * lr


def scaled_step(p, step, lr, sq_avg):
    """p − step·lr/√avg: the sheets' RMSProp/Adam step, no epsilon."""
    return p - step * lr / sqrt(sq_avg)


def scaled_step_eps(p, step, lr, sq_avg, eps):
    """The usual RMSProp step: p − step·lr/(√avg + ε)."""
    return p - step * lr / (sqrt(sq_avg) + eps)


def adam_step(p, m, v, lr, b1, b2, t, eps):
    """The usual Adam step: bias-corrected averages, ε outside the root (as torch.optim.Adam)."""
    return p - lr / (1 - b1 ** t) * m / (sqrt(v) / sqrt(1 - b2 ** t) + eps)


def sign_step(p, c, lr):
    """Lion's step: p − lr·sign(c) — every parameter moves by exactly lr, whatever the gradient's size."""
    return p - lr * sign(c)


def step_count(t):
    """The step number t of a bias correction: one more than the row above's."""
    return t + 1


def decay(p, lr, wd):
    """Decoupled weight decay (AdamW): shrink the weights before the step."""
    return p * (1 - lr * wd)


# --- PyTorch's optimizer options (torch_side.optim): SGD's heavy ball, L2, centred RMSprop -------
def l2(g, p, wd):
    """L2 weight decay (torch.optim's ``weight_decay``): the gradient of wd/2·p² added to g."""
    return g + wd * p


def heavy_ball(buf, g, momentum, dampening):
    """torch.optim.SGD's momentum buffer: buf·μ + (1−dampening)·g (dampening = μ is `ewma`)."""
    return buf * momentum + (1 - dampening) * g


def nesterov(g, buf, momentum):
    """Nesterov's look-ahead direction from the buffer: g + μ·buf."""
    return g + momentum * buf


def centered(sq_avg, avg):
    """Centred RMSprop's variance estimate: the average of g² minus the square of g's average."""
    return sq_avg - square(avg)


def rms_momentum(buf, g, sq_avg, momentum, eps):
    """RMSprop with momentum: buf·μ + g/(√avg + ε); the step is then p − buf·lr (`sgd_step`)."""
    return buf * momentum + g / (sqrt(sq_avg) + eps)


# --- adam_ann's automatic annealer ---------------------------------------------------------------
def avg_grad2(sq_avg_b, sq_avg_a):
    """The size of the squared-gradient averages, √s_b + √s_a."""
    return sqrt(sq_avg_b) + sqrt(sq_avg_a)


def gradrat(avg, prev):
    return avg / prev


ANNEAL_THRESHOLD = 2  # gradrat above this ...
ANNEAL_FACTOR = 4     # ... divides lr by this
LR_FLOOR = 2.0 ** -1022  # the smallest positive normal double (sys.float_info.min)


def annealed_lr(lr, factor=ANNEAL_FACTOR):
    """lr after one anneal: lr / factor, unless that would fall below LR_FLOOR; then lr stays.

    Quartering 1 lands on 2**-1022 exactly after 511 anneals; one more would give a subnormal, which
    Excel's cells flush to 0 (and lr 0 stops training, which torch's optimizers refuse). So the
    annealer stops there: the engine, the workbook's buttons and torch all call this, and lr is
    always a positive normal number that every one of them accepts.
    """
    new = lr / factor
    return where(new < LR_FLOOR, lr, new)


def anneal_lr(lr, gradrat_, threshold=ANNEAL_THRESHOLD, factor=ANNEAL_FACTOR):
    """adam_ann's Run after each epoch: lr annealed (`annealed_lr`) where the gradients' size grew
    past `threshold` times the best seen, else unchanged. Element-wise on arrays (a sweep anneals
    every configuration at once); torch_side.sched.AutoAnneal calls it too."""
    return where(gradrat_ > threshold, annealed_lr(lr, factor), lr)


def keep_best(avg, prev):
    """adam_ann's Run after each epoch: prev_grad2 takes avg_grad2 where it is smaller (the best seen)."""
    return where(avg < prev, avg, prev)
