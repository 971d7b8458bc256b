"""Plain helper functions shared by test modules (fixtures live in conftest.py)."""
from __future__ import annotations

import io

import torch


def checkpoint_bytes(obj) -> bytes:
    """``obj`` as torch.save writes it, in memory."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def page_test(page: str, *, timeout: float = 180, run: bool = True, through_app: bool = False, **query):
    """The one AppTest builder: the page script ``page`` (a path under pages/, e.g. "photo/predict.py",
    or app.py) with ``query`` in its URL, run once unless ``run=False``. ``through_app``: app.py runs and
    its navigation opens the page (language setup, sidebar, presenter view), as in the browser."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parents[1]
    script = root / "app.py" if through_app or page == "app.py" else root / "pages" / page
    at = AppTest.from_file(str(script), default_timeout=timeout)
    for k, v in query.items():
        at.query_params[k] = v
    if through_app:
        at.switch_page(f"pages/{page}")
    return at.run() if run else at


def assert_ok(at, *, errors: bool = False) -> None:
    """No exception on the page (and, with ``errors=True``, no st.error box either)."""
    assert not at.exception, [e.value for e in at.exception]
    if errors:
        assert not at.error, [e.value for e in at.error]


def fingerprint(model: torch.nn.Module) -> dict:
    """Everything a careless CAM could change: hooks of every kind, flags, gradients, weights."""
    hooks = {name: {k: len(v) for k, v in vars(m).items() if "hook" in k and isinstance(v, dict)}
             for name, m in model.named_modules()}
    tensor_hooks = [bool(p._backward_hooks) or bool(getattr(p, "_post_accumulate_grad_hooks", None))
                    for p in model.parameters()]
    return {
        "hooks": hooks,
        "tensor_hooks": tensor_hooks,
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grads": [p.grad is None for p in model.parameters()],
        "training": [m.training for m in model.modules()],
        "inplace": [getattr(m, "inplace", None) for m in model.modules()],
        "device": {str(p.device) for p in model.parameters()},
        "weights": float(sum(p.detach().double().sum() for p in model.parameters())),
        "attrs": sorted(k for k in vars(model) if k.startswith("zoo_")),
    }
