"""lockshim: serve the artifacts pinned in uv.lock from local files."""

__version__ = "0.1.0"
