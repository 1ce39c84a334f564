"""Contracts for every stage boundary and the OHLC/time checks, as pure polars functions."""
