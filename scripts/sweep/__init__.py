"""cimtlm-sweep: design-space sweeps of `cimtlm run` on Dask distributed (scripts/sweep/README.md)."""
