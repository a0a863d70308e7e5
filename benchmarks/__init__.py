"""Benchmarks of sklearn_xmtc against peer XMTC libraries (not part of the installed package).

A package so that its modules import each other and ``sklearn_xmtc`` without
``sys.path`` edits; run them from the repository root as modules::

    OMP_WAIT_POLICY=PASSIVE python -m benchmarks.run --datasets reuters21578 cooking
    OMP_WAIT_POLICY=PASSIVE python -m benchmarks.scaling
    python -m benchmarks.report

See ``benchmarks/README.md``.
"""
