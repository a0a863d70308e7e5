"""``python -m sklearn_xmtc``: see :mod:`sklearn_xmtc._cli`."""

from ._cli import main

raise SystemExit(main())
