"""Lab: weight decay, as L2 penalty and decoupled (Loshchilov & Hutter 2019, "Decoupled weight decay").

Random numbers come from ``zoo.concurrency.generator``: deterministic per seed, global RNG untouched.
"""
from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from zoo.concurrency import generator
from zoo.i18n import _

# As the papers report them (section numbers in ``source``). Weight decay is the coupled L2 form.
PAPER_OPTIMIZERS = pd.DataFrame([
    {"paper": "AlexNet (2012)", "optimizer": "SGD", "momentum": 0.9, "weight_decay": 5e-4, "batch": 128,
     "learning_rate": "0.01, ÷10 when validation error plateaus", "source": "section 5"},
    {"paper": "VGG (2014)", "optimizer": "SGD", "momentum": 0.9, "weight_decay": 5e-4, "batch": 256,
     "learning_rate": "0.01, ÷10 when validation accuracy plateaus", "source": "section 3.1"},
    {"paper": "GoogLeNet (2014)", "optimizer": "asynchronous SGD", "momentum": 0.9, "weight_decay": None,
     "batch": None, "learning_rate": "−4% every 8 epochs (weight decay not stated)", "source": "section 6"},
    {"paper": "ResNet (2015)", "optimizer": "SGD", "momentum": 0.9, "weight_decay": 1e-4, "batch": 256,
     "learning_rate": "0.1, ÷10 when error plateaus", "source": "section 3.4"},
    {"paper": "DenseNet (2017)", "optimizer": "SGD, Nesterov", "momentum": 0.9, "weight_decay": 1e-4, "batch": 256,
     "learning_rate": "0.1, ÷10 at epochs 30 and 60", "source": "section 4.2"},
])

# The demo's choices: λ from none through the papers' 1e-4 / 5e-4 to values strong enough to
# see within a few hundred steps; learning rates below the toy problem's stability limit.
DECAY_LAMBDAS = (0.0, 1e-4, 5e-4, 1e-3, 1e-2, 3e-2, 0.1)
DECAY_LRS = (0.001, 0.003, 0.01, 0.03, 0.05, 0.1)
DECAY_MOMENTA = (0.0, 0.9)


def sgd_decay_only(steps: int, lr: float, weight_decay: float, momentum: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """||w|| under SGD when the loss gradient is zero: only weight decay acts.

    Without momentum each step is w <- w - lr·λ·w, so ||w_t|| = (1 - lr·λ)^t ||w_0||.
    """
    w = nn.Parameter(torch.randn(100, generator=generator(seed)))
    opt = torch.optim.SGD([w], lr=lr, momentum=momentum, weight_decay=weight_decay)
    w0 = w.norm().item()
    rows = [{"step": 0, "w_norm": w0, "w_norm_formula": w0}]
    for t in range(1, steps + 1):
        opt.zero_grad()
        (w * 0).sum().backward()  # a loss with zero gradient
        opt.step()
        rows.append({"step": t, "w_norm": w.norm().item(),
                     "w_norm_formula": w0 * (1 - lr * weight_decay) ** t if momentum == 0 else float("nan")})
    return pd.DataFrame(rows)


def weight_decay_demo(steps: int = 200, lr: float = 0.01, weight_decay: float = 5e-4, momentum: float = 0.9,
                      seed: int = 0) -> pd.DataFrame:
    """Fit an under-determined linear regression (20 samples, 50 weights) with and without decay.

    Many weight vectors fit the data exactly; plain SGD keeps whatever part of the start it
    never touches, decay shrinks it, so ||w|| ends smaller at almost the same training loss.
    """
    gen = generator(seed)
    X = torch.randn(20, 50, generator=gen)
    y = X @ torch.randn(50, generator=gen)
    w_init = 3 * torch.randn(50, generator=gen)
    rows = []
    for wd in (0.0, weight_decay):
        w = nn.Parameter(w_init.clone())
        opt = torch.optim.SGD([w], lr=lr, momentum=momentum, weight_decay=wd)
        for t in range(steps + 1):
            loss = 0.5 * ((X @ w - y) ** 2).mean()
            rows.append({"run": _("weight decay {wd:g}").format(wd=wd) if wd else _("no weight decay"), "weight_decay": wd,
                         "step": t, "loss": loss.item(), "w_norm": w.norm().item()})
            if t < steps:
                opt.zero_grad()
                loss.backward()
                opt.step()
    return pd.DataFrame(rows)


def decay_equivalences(lr: float = 0.1, weight_decay: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """One optimiser step, compared with what each kind of weight decay claims to be.

    - SGD(weight_decay=λ) == SGD on L + (λ/2)||w||² (the L2 penalty adds λw to the gradient).
    - Adam(weight_decay=λ) == Adam on L + (λ/2)||w||² (coupled: λw is then rescaled by Adam).
    - AdamW(weight_decay=λ) == Adam step on L, plus w <- w - lr·λ·w (decoupled, Loshchilov & Hutter).
    - Adam(weight_decay=λ) vs AdamW: not the same update.
    """
    gen = generator(seed)
    X, y, w0 = torch.randn(8, 5, generator=gen), torch.randn(8, generator=gen), torch.randn(5, generator=gen)

    def step(opt_cls, wd: float, penalty: float, decoupled_shrink: bool = False, **kw) -> torch.Tensor:
        w = nn.Parameter(w0.clone())
        opt = opt_cls([w], lr=lr, weight_decay=wd, **kw)
        loss = ((X @ w - y) ** 2).mean() + penalty / 2 * (w**2).sum()
        loss.backward()
        before = w.detach().clone()
        opt.step()
        out = w.detach().clone()
        if decoupled_shrink:
            out -= lr * weight_decay * before
        return out

    lam = weight_decay
    cases = [
        ("SGD(weight_decay=λ)", "SGD on L + (λ/2)‖w‖²",
         step(torch.optim.SGD, lam, 0.0), step(torch.optim.SGD, 0.0, lam)),
        ("Adam(weight_decay=λ)", "Adam on L + (λ/2)‖w‖²",
         step(torch.optim.Adam, lam, 0.0), step(torch.optim.Adam, 0.0, lam)),
        ("AdamW(weight_decay=λ)", "Adam on L, then w ← w − lr·λ·w",
         step(torch.optim.AdamW, lam, 0.0), step(torch.optim.Adam, 0.0, 0.0, decoupled_shrink=True)),
        ("Adam(weight_decay=λ)", "AdamW(weight_decay=λ)",
         step(torch.optim.Adam, lam, 0.0), step(torch.optim.AdamW, lam, 0.0)),
    ]
    return pd.DataFrame([{"update": a, "compared_with": b, "max_abs_difference": float((u - v).abs().max())}
                         for a, b, u, v in cases])
