"""Every update rule of the lab, written once as plain arithmetic.

The operands may be floats, numpy arrays, torch tensors or `xlopt.expr` symbols: the engine, the
workbook's formula text and torch_side's optimizers all call these functions, so they cannot drift.
The order of operations is part of the definition (the workbook evaluates left to right, and the
engine, the workbook and torch must agree to the last bit), so do not "simplify" these expressions.
"""
import math

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


# --- Adagrad (Duchi et al. 2011), as torch.optim.Adagrad ----------------------------------------
def accumulate(sq_sum, g):
    """Adagrad's running sum of squared gradients: s + g² (never forgets, unlike `ewma`)."""
    return sq_sum + square(g)


def decayed_lr(lr, t, lr_decay):
    """Adagrad's learning rate at step t: lr / (1 + (t − 1)·lr_decay) (lr itself when lr_decay = 0)."""
    return lr / (1 + (t - 1) * lr_decay)


# --- Schedule-Free AdamW (Defazio et al. 2024, "The Road Less Scheduled", Algorithm 1) ------------
def warmup_lr(lr, b2, t, warmup):
    """γ_t = γ·√(1 − β2^t)·min(1, t/warmup): the paper's bias correction and linear warm-up.
    min(1, t/warmup) is written t / max(t, warmup), which needs no division by a zero warm-up."""
    return lr * sqrt(1 - b2 ** t) * (t / where(warmup < t, t, warmup))


def weight_sum(wsum, lr_t):
    """Σ γ_i² over the steps so far: what the average x is normalised by."""
    return wsum + square(lr_t)


def avg_weight(lr_t, wsum):
    """c_{t+1} = γ_t² / Σ γ_i²: the weight of the new z in the average x (1 at the first step)."""
    return square(lr_t) / wsum


def sf_z(z, g, v, lr_t, eps):
    """The base sequence: z − γ_t·g/(√v + ε), an Adam-normalised SGD step taken from z."""
    return z - lr_t * g / (sqrt(v) + eps)


def sf_decay(z, y, lr_t, wd):
    """Schedule-Free's decoupled weight decay, evaluated at y: z − γ_t·λ·y."""
    return z - lr_t * wd * y


def sf_x(x, z, c):
    """The average: x·(1 − c) + c·z — x is the point to evaluate (and to keep at the end)."""
    return x * (1 - c) + c * z


def sf_y(z, x, b1):
    """Where the next gradient is taken: y = (1 − β1)·z + β1·x (written z·(1 − β1) + β1·x)."""
    return z * (1 - b1) + b1 * x


# --- Muon (Jordan et al. 2024), as torch.optim.Muon in torch 2.13 ---------------------------------
NS_COEFFICIENTS = (3.4445, -4.775, 2.0315)


def newton_schulz(X, coefficients=NS_COEFFICIENTS, steps=5, eps=1e-7):
    """Orthogonalise a matrix (push its singular values towards 1) by `steps` quintic
    Newton–Schulz iterations: X ← a·X + (b·A + c·A·A)·X with A = X·Xᵀ, after scaling X to unit
    Frobenius norm (at least eps). A wide orientation keeps A small: a tall X is transposed and back.
    Matrix operands only (numpy arrays or tensors): a 2-parameter sheet has no matrix."""
    a, b, c = coefficients
    tall = X.shape[0] > X.shape[1]
    if tall:
        X = X.T
    norm = sqrt((X * X).sum())
    X = X / where(norm > eps, norm, eps)
    for _ in range(steps):
        A = X @ X.T
        B = b * A + c * (A @ A)
        X = a * X + B @ X
    return X.T if tall else X


def muon_lr(lr, rows, cols):
    """Muon's learning rate for a rows×cols matrix (torch's adjust_lr_fn 'original'):
    lr·√max(1, rows/cols), so tall matrices' updates have the same RMS per element."""
    return lr * math.sqrt(max(1, rows / cols))


# Rules over whole matrices (Muon's): not element-wise, so no cell formula and no sheet prints them;
# tests/test_optim_frontier.py checks them against torch.optim.Muon.
MATRIX_RULES = (newton_schulz, muon_lr)
