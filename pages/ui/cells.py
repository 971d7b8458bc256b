"""Tables as a student reads them and as a CSV file stores them: no "None" cells, integers as integers."""
from __future__ import annotations

import math

import pandas as pd

BLANK = "—"  # a cell with nothing to show (a ReLU's kernel, a model without published accuracy)


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def as_text(df: pd.DataFrame, formats: dict[str, str], blank: str = BLANK) -> pd.DataFrame:
    """``df`` with the ``formats`` columns turned into text (``"{:,}"``, ``"{:.2f}"``), missing -> ``blank``.

    st.dataframe draws a missing value as "None"; text columns say what a student should read instead.
    """
    out = df.copy()
    for col, fmt in formats.items():
        if col in out:
            out[col] = [blank if _missing(v) else fmt.format(v) for v in out[col]]
    return out


def integer_columns(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``df`` with ``columns`` as nullable integers, so a CSV writes 64, not 64.0, and nothing where missing."""
    out = df.copy()
    for col in columns:
        if col in out:
            out[col] = pd.array([None if _missing(v) else int(v) for v in out[col]], dtype="Int64")
    return out
