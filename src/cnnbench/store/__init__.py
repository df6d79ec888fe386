"""The SQLite result store."""

from cnnbench.store.sqlite import DEFAULT_DB, Store, default_path

__all__ = ["DEFAULT_DB", "Store", "default_path"]
