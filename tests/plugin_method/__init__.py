"""A method outside the package, for tests/test_registry.py: one module plus one registry line.

With ``SKLEARN_XMTC_METHODS=plugin_method`` (and this folder's parent on the
path) the registry imports this module on its first read, and the
``register`` call below adds the method: the common checks
(tests/test_common.py), ``python -m sklearn_xmtc list`` / ``evaluate`` and
``python -m benchmarks.run`` (whose child processes inherit the variable) then
see it like the package's own methods, with no other edit.
"""

from sklearn_xmtc._dummy import DummyXMTCClassifier
from sklearn_xmtc._registry import Method, register

__all__ = ["TinyPluginClassifier"]


class TinyPluginClassifier(DummyXMTCClassifier):
    """The dummy under another name: ranks labels by training frequency, ignoring the text."""


METHOD = register(Method(
    "tiny-plugin", "plugin_method:TinyPluginClassifier",
    demo={"strategy": "prior", "threshold": 0.05},
    tests=({}, {"strategy": "prior", "threshold": 0.2}),
    public=False))
