"""The classroom quiz: questions generated from the catalogue and the analysis code, never typed numbers.

A round is a pure function of (seed, level): every generator draws from one private
``random.Random``, so ``/quiz?seed=42`` gives a whole class the same questions. A question keeps
its text as ``N_`` templates with language-free arguments (model names, formatted numbers) and is
translated where shown; its answer is computed from the real modules (``zoo.analysis``,
``zoo.labs``) when the question is made. Slider answers are scored by the log of the ratio between
guess and truth, so a guess 2× too high scores as a guess 2× too low.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from zoo import registry
from zoo.analysis import summarize
from zoo.analysis.receptive_field import receptive_fields
from zoo.i18n import N_, _
from zoo.labs import dense as dense_lab
from zoo.labs import vgg as vgg_lab

LEVELS: dict[str, str] = {"easy": N_("Easy"), "medium": N_("Medium"), "hard": N_("Hard")}
DEFAULT_LEVEL = "easy"
ROUND_SIZE = 5
# A slider guess this many times off (either way) scores nothing; within its square root it counts as right.
TOLERANCE: dict[str, float] = {"easy": 10.0, "medium": 6.0, "hard": 3.0}
# Slider ranges are fixed per unit, never derived from the answer, so the widget's ends give nothing away.
SLIDER_DECADES: dict[str, tuple[int, int]] = {"macs": (7, 11), "params": (5, 9)}
SLIDER_STEPS_PER_DECADE = 10


@dataclass(frozen=True)
class Text:
    """A translatable template and its (language-free) arguments."""

    template: str
    args: tuple[tuple[str, object], ...] = ()

    def __str__(self) -> str:
        return _(self.template).format(**dict(self.args))


def text(template: str, **args) -> Text:
    return Text(template, tuple(args.items()))


@dataclass(frozen=True)
class Link:
    """Where the app shows the answer: a page script, its label and the query string that opens that view."""

    page: str
    label: Text
    query: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Question:
    kind: str
    prompt: Text
    why: Text  # the one line shown with the answer
    link: Link
    value: float  # the number the reveal shows (computed)
    unit: str  # "params", "macs", "px", "channels"
    options: tuple[Text, ...] = ()  # a choice question's options; () for a slider question
    answer: int | None = None  # index of the right option (choice questions)
    number_args: tuple[tuple[str, object], ...] = field(default=())  # the inputs the value was computed from

    @property
    def is_slider(self) -> bool:
        return not self.options


@dataclass(frozen=True)
class Score:
    points: float  # 0..1
    correct: bool


def count(n: float) -> str:
    """138357544 -> '138 M' (three significant figures, SI suffix); language-free."""
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(n) >= div:
            v = n / div
            return f"{v:.3g}{suffix}" if v < 100 else f"{v:.0f}{suffix}"
    return f"{n:,.0f}"


def slider_values(unit: str) -> list[float]:
    """The log-spaced values a slider question offers (10 per decade, two significant figures)."""
    lo, hi = SLIDER_DECADES[unit]
    return [float(f"{10 ** (k / SLIDER_STEPS_PER_DECADE):.2g}")
            for k in range(lo * SLIDER_STEPS_PER_DECADE, hi * SLIDER_STEPS_PER_DECADE + 1)]


def log_ratio_score(guess: float, truth: float, tolerance: float) -> Score:
    """1 for the exact value, 0 at ``tolerance``× off either way, linear in |log(guess / truth)| between."""
    if guess <= 0 or truth <= 0:
        return Score(0.0, False)
    off = abs(math.log(guess / truth))
    points = max(0.0, 1.0 - off / math.log(tolerance))
    return Score(points, points >= 0.5)


def score(q: Question, guess, level: str) -> Score:
    """A choice question's guess is an option index; a slider question's a number."""
    if q.is_slider:
        return log_ratio_score(float(guess), q.value, TOLERANCE[level])
    right = guess == q.answer
    return Score(1.0 if right else 0.0, right)


# --- the facts the questions ask about ------------------------------------------------------------

@lru_cache(maxsize=None)
def params(name: str) -> int:
    return summarize(name).params


@lru_cache(maxsize=None)
def macs(name: str) -> int:
    return summarize(name).macs


def biggest_stage(name: str, field_: str) -> tuple[str, float]:
    """(stage, share in %) of the stage holding most of ``name``'s params or MACs."""
    st = summarize(name).stages
    row = st.loc[st[f"{field_}_pct"].idxmax()]
    return str(row["stage"]), float(row[f"{field_}_pct"])


def last_conv_rf(name: str) -> tuple[str, int, list[int]]:
    """(last conv layer, its receptive field in px, the fields of every conv) from the traced graph."""
    from zoo.inference.cam import conv_layers

    rf = receptive_fields(name)
    layers = conv_layers(name)
    fields = [rf.layer(layer).rf for layer in layers]
    return layers[-1], fields[-1], fields


def dense_input_channels(k0: int, k: int, layer: int) -> int:
    """Input channels of dense layer ``layer`` (1-based), read from torchvision's own block."""
    block = dense_lab.torchvision_dense_block(k0, k, layer)
    return int(getattr(block, f"denselayer{layer}").norm1.num_features)


# --- generators: each takes the round's Random and the level, returns one Question ----------------

def _pool(level: str) -> list[str]:
    """Easy: the seven families' representatives; harder: every catalogue model with torchvision's metadata."""
    if level == "easy":
        return list(registry.FAMILY_DEFAULTS.values())
    return [e.name for e in registry.REGISTRY.values() if e.published_params]


def more_params(rng: random.Random, level: str) -> Question:
    # Pairs are chosen by torchvision's published counts (cheap); the answer is counted from the modules.
    pool = _pool(level)
    lo, hi = {"easy": (3.0, math.inf), "medium": (1.5, 3.0), "hard": (1.02, 1.5)}[level]
    pub = {n: registry.get(n).published_params for n in pool}
    pairs = [(a, b) for a in pool for b in pool if a < b and lo <= max(pub[a], pub[b]) / min(pub[a], pub[b]) < hi]
    a, b = rng.choice(sorted(pairs))
    if rng.random() < 0.5:
        a, b = b, a
    pa, pb = params(a), params(b)
    big, small = (a, b) if pa > pb else (b, a)
    stage, pct = biggest_stage(big, "params")
    da, db = registry.get(a).display, registry.get(b).display
    return Question(
        "more_params",
        text(N_("Which has more parameters, {a} or {b}?"), a=da, b=db),
        text(N_("{big} has {pbig} parameters, {small} {psmall} ({ratio:.2f}×); {pct:.0f}% of {big}'s are in its "
                "{stage}."), big=registry.get(big).display, small=registry.get(small).display,
             pbig=count(params(big)), psmall=count(params(small)), ratio=params(big) / params(small), pct=pct,
             stage=stage),
        Link("pages/explore/compare.py", text(N_("Compare {a} and {b}"), a=da, b=db), (("cmp", f"{a},{b}"),)),
        float(params(big)), "params",
        options=(text("{m}", m=da), text("{m}", m=db)), answer=0 if big == a else 1,
        number_args=(("models", (a, b)),),
    )


def macs_guess(rng: random.Random, level: str) -> Question:
    pool = [n for n in _pool(level) if registry.get(n).input_size <= 300]  # keep the count quick to make
    name = rng.choice(pool)
    e = registry.get(name)
    m = macs(name)
    stage, pct = biggest_stage(name, "macs")
    return Question(
        "macs",
        text(N_("About how many MACs does {m} need for one {px} px image?"), m=e.display, px=e.input_size),
        text(N_("{m} needs {macs} MACs at {px} px ({flops} FLOPs); {pct:.0f}% of them in its {stage}."),
             m=e.display, macs=count(m), px=e.input_size, flops=count(2 * m), pct=pct, stage=stage),
        Link("pages/explore/model.py", text(N_("{m}'s layer table"), m=e.display), (("model", name),)),
        float(m), "macs", number_args=(("model", name),),
    )


def rf_last_conv(rng: random.Random, level: str) -> Question:
    pool = {"easy": ["vgg16", "alexnet"], "medium": ["alexnet", "vgg11", "vgg13", "vgg16", "vgg19"],
            "hard": ["vgg11", "vgg19", "resnet18", "resnet50"]}[level]
    name = rng.choice(pool)
    e = registry.get(name)
    layer, rf, fields = last_conv_rf(name)
    others = sorted({f for f in fields if f != rf and f is not None}, key=lambda f: abs(f - rf))
    # Distractors: the fields of this model's other convs (nearest ones on the harder levels)
    picked = others[:3] if level == "hard" else rng.sample(others[:8], min(3, len(others[:8])))
    values = [rf, *picked]
    rng.shuffle(values)
    return Question(
        "rf",
        text(N_("What is the receptive field of {m}'s last convolution ({layer})?"), m=e.display, layer=layer),
        text(N_("{layer} sees {rf}×{rf} px of the {px} px input: every layer adds (kernel − 1) × the stride before "
                "it, and each pooling doubles that stride."), layer=layer, rf=rf, px=e.input_size),
        Link("pages/understand/receptive_fields.py", text(N_("{m}'s receptive fields"), m=e.display),
             (("rf_model", name), ("rf_layer", layer))),
        float(rf), "px", options=tuple(text("{v}×{v} px", v=v) for v in values), answer=values.index(rf),
        number_args=(("model", name), ("layer", layer)),
    )


def dense_channels(rng: random.Random, level: str) -> Question:
    k0 = 64 if level == "easy" else rng.choice([64, 128, 256])
    k = 32 if level == "easy" else rng.choice([12, 24, 32, 48])
    layer = rng.randint(2, {"easy": 6, "medium": 12, "hard": 24}[level])
    c = dense_input_channels(k0, k, layer)
    wrong = [k0 + layer * k, layer * k, k0 + (layer - 2) * k, k0 * layer]
    values = [c] + [v for v in dict.fromkeys(wrong) if v != c][:3]
    rng.shuffle(values)
    return Question(
        "dense",
        text(N_("How many input channels does layer {l} of a dense block with k₀ = {k0} and k = {k} get?"),
             l=layer, k0=k0, k=k),
        text(N_("It receives the block input's {k0} channels and k = {k} from each of the {n} layers before it: "
                "{k0} + {n}·{k} = {c}."), k0=k0, k=k, n=layer - 1, c=c),
        Link("pages/understand/labs.py", text(N_("Dense connectivity lab")),
             (("lab_id", "dense"), ("lab_dense_k0", str(k0)), ("lab_dense_k", str(k)),
              ("lab_dense_layers", str(layer)))),
        float(c), "channels", options=tuple(text("{v}", v=v) for v in values), answer=values.index(c),
        number_args=(("k0", k0), ("k", k), ("layer", layer)),
    )


def stack_vs_big(rng: random.Random, level: str) -> Question:
    n = 3 if level == "easy" else rng.choice([2, 3])
    C = 256 if level == "easy" else rng.choice([64, 128, 256, 512])
    size = 56 if level == "easy" else rng.choice([14, 28, 56])
    # Hard: the stack's first layer reads only 3 channels (a network's first layers), where the saving can flip.
    cin = rng.choice([3, C]) if level == "hard" else C
    df = vgg_lab.kernel_stack_lab(n, C, size, in_channels=cin)
    stack, big = int(df.iloc[0]["macs"]), int(df.iloc[1]["macs"])
    k = 2 * n + 1
    answer = 0 if stack < big else 1 if big < stack else 2
    channels = text(N_("C = {c}"), c=C) if cin == C else text(N_("{cin} → {c} channels"), cin=cin, c=C)
    return Question(
        "stack",
        text(N_("Which uses fewer MACs on a {s}×{s} map at {ch}: {n} stacked 3×3 convolutions or one {k}×{k}?"),
             s=size, ch=channels, n=n, k=k),
        text(N_("{n} stacked 3×3: {a} MACs; one {k}×{k}: {b} MACs. The stack's saving (9n against (2n+1)² weights per "
                "channel pair) holds when every layer maps C to C channels."), n=n, k=k, a=count(stack), b=count(big)),
        Link("pages/understand/labs.py", text(N_("3×3 stacks lab")),
             (("lab_id", "vgg"), ("lab_vgg_n", str(n)), ("lab_vgg_c", str(C)), ("lab_vgg_size", str(size)))),
        float(min(stack, big)), "macs",
        options=(text(N_("{n} stacked 3×3 convolutions"), n=n), text(N_("One {k}×{k} convolution"), k=k),
                 text(N_("Both the same"))),
        answer=answer, number_args=(("n", n), ("C", C), ("size", size), ("in_channels", cin)),
    )


GENERATORS: dict[str, Callable[[random.Random, str], Question]] = {
    "more_params": more_params, "macs": macs_guess, "rf": rf_last_conv, "dense": dense_channels,
    "stack": stack_vs_big,
}


@lru_cache(maxsize=64)
def make_round(seed: int, level: str = DEFAULT_LEVEL, size: int = ROUND_SIZE) -> tuple[Question, ...]:
    """``size`` questions for ``seed`` at ``level``: the same seed gives the same questions, in any process."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; known: {', '.join(LEVELS)}")
    rng = random.Random(f"zoo-quiz:{seed}:{level}")  # a str seed hashes the same in every process
    kinds = list(GENERATORS)
    rng.shuffle(kinds)
    return tuple(GENERATORS[kinds[i % len(kinds)]](rng, level) for i in range(size))
