"""Persistent store of InterestLens: DuckDB tables and Chroma vectors in one folder."""

from interestlens.vectorstore.store import Store

__all__ = ["Store"]
