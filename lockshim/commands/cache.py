"""`lockshim cache prune`: lockshim's download cache kept within a size."""

from __future__ import annotations

from lockshim.sources import kept


def run_prune(max_size_mb: float) -> str:
    """Prune the download cache to ``max_size_mb`` megabytes; what was done, for people."""
    pruned = kept.prune(max(0, int(max_size_mb * 1_000_000)))
    return (
        f"removed {pruned.removed} downloads ({pruned.freed / 1e6:.1f} MB) from "
        f"{kept.folder()}; {pruned.left / 1e6:.1f} MB kept. Set {kept.LIMIT_ENV} to cap it "
        f"(now {kept.limit_bytes() / 1e6:,.0f} MB)."
    )
