"""Plain-text tables of workload results (the experiment commands and their reports)."""
from __future__ import annotations

__all__ = ["markdown_table"]


def markdown_table(df) -> str:
    """The rows as a Markdown table: 4 significant digits, per-GEMM details and curves left out."""
    cols = [c for c in df.columns if c not in ("workload", "seed", "gemms", "loss_curve")]

    def cell(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r[c]) for c in cols) + " |" for r in df.to_dict(orient="records")]
    return "\n".join(lines)
