"""The safe encoding: any fitted estimator as a JSON tree plus named tensors.

:class:`Encoder` turns a Python value into a tree of JSON values in which
every array or tensor is replaced by a reference (``{"type": "ndarray", "key":
"t3"}``) into :attr:`Encoder.tensors`, a flat ``{key: torch.Tensor}`` that
``safetensors`` writes. :class:`Decoder` reverses it. Nothing is unpickled:
the only objects rebuilt are

- builtins (None, bool, int, float with inf/nan, str, list, tuple, set, dict
  with any encodable keys), numpy arrays, scalars and dtypes, scipy sparse
  matrices, torch tensors, dtypes and devices, ``pathlib`` paths;
- instances of classes whose module is under ``sklearn_xmtc`` or ``sklearn``
  (:data:`TRUSTED_PREFIXES`): created with ``cls.__new__`` and given their
  state by ``__setstate__`` (or ``__dict__.update``); no ``__init__``, no
  ``__reduce__``, no import outside those packages;
- Hugging Face objects from their own safe formats: a configuration from its
  dict, a tokenizer from its JSON files, a ``tokenizers.Tokenizer`` from its
  JSON string, a model from its configuration (``transformers`` classes only)
  with the weights loaded from the tensors;
- the networks of a neural estimator, which are not encoded as objects at all:
  the estimator rebuilds them from its own fitted state
  (``_build_networks``) and the saved ``state_dict`` is loaded into them.

Anything else (a function, a lambda, a user's callback object, an open file)
raises :class:`TypeError` naming where it sits (``$.params.callbacks[0]``).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import math
import os
import pathlib
import tempfile
import types
from collections import OrderedDict

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["Decoder", "Encoder", "TRUSTED_PREFIXES", "UnsafeValueError", "canonical_json"]

#: modules whose classes may be rebuilt from a saved state
TRUSTED_PREFIXES = ("sklearn_xmtc.", "sklearn.")
#: the attributes of a neural estimator that hold its skorch networks
NET_ATTRIBUTES = ("net_", "tree_nets_", "history_")

#: run-time attributes that scikit-learn's callback machinery sets on an estimator during
#: a fit (a meta-estimator's context, callbacks registered with ``set_callbacks``): not
#: part of a model, never written
TRANSIENT_ATTRIBUTES = ("_parent_callback_ctx", "_callback_fit_ctx", "_callback_ctx",
                        "_skl_callbacks", "_skl_callbacks_to_teardown")

_UNSIGNED = {"u1": np.int8, "u2": np.int16, "u4": np.int32, "u8": np.int64}


class UnsafeValueError(TypeError):
    """A value that the safe format cannot write (the message says where and why)."""


def canonical_json(tree):
    """The canonical JSON text of an encoded tree (sorted keys, no spaces)."""
    return json.dumps(tree, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _class_path(cls):
    return f"{cls.__module__}:{cls.__qualname__}"


def _trusted(module):
    return any(module == p.rstrip(".") or module.startswith(p) for p in TRUSTED_PREFIXES)


def _float(x):
    x = float(x)
    if math.isfinite(x):
        return x
    return {"type": "float", "value": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


class Encoder:
    """Encode values into a JSON tree and a dict of tensors (module docstring).

    Parameters
    ----------
    lenient : bool, default=False
        Write a value the format cannot hold as ``{"type": "repr"}`` instead of
        raising (for fingerprints, never for files that are loaded).
    """

    def __init__(self, *, lenient=False):
        self.lenient = lenient
        self.tensors = {}
        self._storages = set()

    # -- tensors ----------------------------------------------------------------
    def tensor(self, t):
        """Store a tensor (a CPU, contiguous copy when it shares memory); its key."""
        t = t.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        t = t.contiguous()
        ptr = (t.untyped_storage().data_ptr(), t.storage_offset()) if t.numel() else None
        if ptr is None or ptr in self._storages or t.untyped_storage().nbytes() != \
                t.numel() * t.element_size():
            t = t.clone()  # safetensors refuses tensors that share or overhang a storage
        elif ptr is not None:
            self._storages.add(ptr)
        key = f"t{len(self.tensors)}"
        self.tensors[key] = t
        return key

    def array(self, a):
        """A numeric numpy array as a tensor reference (unsigned ints as their signed view)."""
        a = np.ascontiguousarray(a)
        dtype = a.dtype
        if not dtype.isnative:
            a = a.astype(dtype.newbyteorder("="))
        if dtype.kind == "u":
            a = a.view(_UNSIGNED[dtype.str[1:]])
        return {"type": "ndarray", "dtype": dtype.str, "shape": list(a.shape),
                "key": self.tensor(torch.from_numpy(a.reshape(-1)))}

    # -- values -----------------------------------------------------------------
    def encode(self, obj, path="$"):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int) and not isinstance(obj, np.generic):
            return int(obj)
        if isinstance(obj, float):
            return _float(obj)
        if isinstance(obj, np.generic):
            return self._numpy_scalar(obj, path)
        if isinstance(obj, np.ndarray):
            return self._ndarray(obj, path)
        if sp.issparse(obj):
            return self._sparse(obj, path)
        if isinstance(obj, torch.Tensor):
            kind = "parameter" if isinstance(obj, torch.nn.Parameter) else "tensor"
            return {"type": kind, "key": self.tensor(obj),
                    "requires_grad": bool(obj.requires_grad)}
        if isinstance(obj, torch.dtype):
            return {"type": "torch_dtype", "name": str(obj).rpartition(".")[2]}
        if isinstance(obj, torch.device):
            return {"type": "torch_device", "name": str(obj)}
        if isinstance(obj, np.dtype):
            if obj.fields is not None:
                return self._refuse(obj, path, "a structured numpy dtype")
            return {"type": "npdtype", "str": obj.str}
        if isinstance(obj, type):
            return self._type(obj, path)
        if isinstance(obj, pathlib.PurePath):
            return {"type": "path", "value": str(obj)}
        if isinstance(obj, (list, tuple, set, frozenset)):
            return self._sequence(obj, path)
        if isinstance(obj, dict):
            return self._dict(obj, path)
        return self._object(obj, path)

    def _numpy_scalar(self, obj, path):
        if obj.dtype.kind not in "biuf":
            return self._refuse(obj, path, f"a numpy {obj.dtype} scalar")
        value = obj.item()
        return {"type": "npscalar", "dtype": obj.dtype.str,
                "value": _float(value) if obj.dtype.kind == "f" else value}

    def _ndarray(self, a, path):
        kind = a.dtype.kind
        if kind in "biuf":
            return self.array(a)
        if kind == "U":
            return {"type": "ndarray_str", "dtype": a.dtype.str, "shape": list(a.shape),
                    "values": a.reshape(-1).tolist()}
        if kind == "O":
            return {"type": "ndarray_object", "shape": list(a.shape),
                    "values": [self.encode(v, f"{path}[{i}]")
                               for i, v in enumerate(a.reshape(-1))]}
        return self._refuse(a, path, f"a numpy array of dtype {a.dtype}")

    def _sparse(self, m, path):
        fmt = m.format
        store = m if fmt in ("csr", "csc") else m.tocsr()
        return {"type": "sparse", "format": fmt, "array": isinstance(m, sp.sparray),
                "stored": store.format, "shape": list(store.shape),
                "data": self._ndarray(store.data, path + ".data"),
                "indices": self.array(store.indices), "indptr": self.array(store.indptr)}

    def _type(self, cls, path):
        if issubclass(cls, np.generic):
            return {"type": "nptype", "name": np.dtype(cls).str if cls is not np.generic
                    else "generic"}
        if cls in (int, float, str, bool, complex, bytes):
            return {"type": "builtin_type", "name": cls.__name__}
        return self._refuse(cls, path, f"the class {_class_path(cls)}")

    def _sequence(self, obj, path):
        items = [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, (set, frozenset)):
            items.sort(key=canonical_json)
        kind = {list: "list", tuple: "tuple", set: "set", frozenset: "frozenset"}
        for base, name in kind.items():
            if isinstance(obj, base):
                break
        if type(obj).__name__ == "History" and type(obj).__module__.startswith("skorch"):
            name = "history"
        if name == "list" and type(obj) is list:
            return items  # a plain JSON list
        return {"type": name, "items": items}

    def _dict(self, obj, path):
        ordered = isinstance(obj, OrderedDict)
        if all(isinstance(k, str) for k in obj):
            return {"type": "ordered_dict" if ordered else "dict",
                    "items": {k: self.encode(v, f"{path}.{k}") for k, v in obj.items()}}
        return {"type": "ordered_pairs" if ordered else "pairs",
                "items": [[self.encode(k, f"{path}{{key}}"), self.encode(v, f"{path}[{k!r}]")]
                          for k, v in obj.items()]}

    def _object(self, obj, path):
        cls = type(obj)
        module = cls.__module__ or ""
        hf = _huggingface_kind(obj)
        if hf is not None:
            return hf(self, obj, path)
        if inspect.isroutine(obj) or isinstance(obj, functools.partial):
            return self._refuse(obj, path, f"the function {getattr(obj, '__qualname__', obj)!r}")
        if not _trusted(module):
            return self._refuse(obj, path, f"a {_class_path(cls)}")
        if isinstance(obj, torch.nn.Module):
            return self._refuse(obj, path, "a torch module outside a fitted estimator's "
                                           "networks")
        nets = None
        if _is_neural_estimator(obj) and hasattr(obj, "net_"):
            nets = [self.network(net, f"{path}.nets[{i}]")
                    for i, net in enumerate(obj._fitted_nets())]
        state = obj.__getstate__() if hasattr(obj, "__getstate__") else dict(vars(obj))
        if not isinstance(state, dict):
            return self._refuse(obj, path, f"a {_class_path(cls)} whose state is not a dict")
        skip = TRANSIENT_ATTRIBUTES + (NET_ATTRIBUTES if nets is not None else ())
        state = {k: v for k, v in state.items() if k not in skip}
        out = {"type": "object", "class": _class_path(cls), "state": self.encode(state, path)}
        if nets is not None:
            out["nets"] = nets
        return out

    def network(self, net, path):
        """A fitted skorch net: its module's weights, history and (kept) optimiser state."""
        optimizer = getattr(net, "optimizer_", None)
        return {"state_dict": {k: self.tensor(v) for k, v in net.module_.state_dict().items()},
                "history": self.encode(list(net.history), path + ".history"),
                "optimizer": None if optimizer is None else
                self.encode(optimizer.state_dict(), path + ".optimizer")}

    def _refuse(self, obj, path, what):
        if self.lenient:
            return {"type": "repr", "value": stable_repr(obj)}
        raise UnsafeValueError(
            f"{path} is {what}, which the safe format cannot write: it stores only data "
            "(numbers, strings, arrays, tensors) and sklearn_xmtc / scikit-learn objects. "
            "Remove it before saving (e.g. set_params(callbacks=None) for callbacks), or "
            "use joblib.dump for a file only you will load.")


def stable_repr(obj, depth=0):
    """``repr(obj)``, unless it holds a memory address (the default ``object`` repr):
    then the class and the object's parameters (``get_params()``, else its public
    attributes without a trailing underscore), so equal objects made apart read the
    same (a checkpoint's fingerprint of a user's callback)."""
    text = repr(obj)
    if " at 0x" not in text or depth > 3:
        return text
    if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return f"{getattr(obj, '__module__', None)}.{getattr(obj, '__qualname__', text)}"
    cls = type(obj)
    name = f"{cls.__module__}.{cls.__qualname__}"
    if callable(getattr(obj, "get_params", None)):
        attrs = obj.get_params()
    else:
        attrs = {k: v for k, v in getattr(obj, "__dict__", {}).items()
                 if not k.startswith("_") and not k.endswith("_")}
    inner = ", ".join(f"{k}={stable_repr(v, depth + 1)}" for k, v in sorted(attrs.items()))
    return f"{name}({inner})"


def _is_neural_estimator(obj):
    from .._neural import BaseNeuralXMTCClassifier

    return isinstance(obj, BaseNeuralXMTCClassifier)


# -- Hugging Face objects, each through its own safe format ----------------------------
def _huggingface_kind(obj):
    module = type(obj).__module__ or ""
    if module.startswith("tokenizers") and type(obj).__name__ == "Tokenizer":
        return _encode_tokenizers
    if not module.startswith("transformers"):
        return None
    from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase

    if isinstance(obj, PretrainedConfig):
        return _encode_hf_config
    if isinstance(obj, PreTrainedTokenizerBase):
        return _encode_hf_tokenizer
    if isinstance(obj, PreTrainedModel):
        return _encode_hf_model
    return None


def _encode_tokenizers(enc, obj, path):
    return {"type": "tokenizers", "json": obj.to_str()}


def _encode_hf_config(enc, obj, path):
    return {"type": "hf_config", "model_type": obj.model_type,
            "values": enc.encode(obj.to_dict(), path + ".config")}


def _encode_hf_tokenizer(enc, obj, path):
    files = {}
    with tempfile.TemporaryDirectory() as tmp:
        obj.save_pretrained(tmp)
        for name in sorted(os.listdir(tmp)):
            with open(os.path.join(tmp, name), "rb") as fh:
                raw = fh.read()
            try:
                files[name] = raw.decode("utf-8")
            except UnicodeDecodeError:  # a sentencepiece model: bytes as uint8
                files[name] = enc.array(np.frombuffer(raw, dtype=np.uint8))
    return {"type": "hf_tokenizer", "files": files}


def _encode_hf_model(enc, obj, path):
    cls = type(obj)
    return {"type": "hf_model", "class": _class_path(cls), "training": bool(obj.training),
            "config": _encode_hf_config(enc, obj.config, path),
            "state_dict": {k: enc.tensor(v) for k, v in obj.state_dict().items()}}


class Decoder:
    """Rebuild the values of an encoded tree (see the module docstring).

    Parameters
    ----------
    tensors : dict of str -> torch.Tensor
        The tensors the tree refers to.
    device : str, default="cpu"
        Where rebuilt networks are placed (a CUDA-trained model loads on a
        CPU-only machine with ``"cpu"``).
    """

    def __init__(self, tensors, device="cpu"):
        self.tensors = tensors
        self.device = device

    def tensor(self, key):
        try:
            return self.tensors[key]
        except KeyError:
            raise ValueError(f"the saved tree refers to a tensor {key!r} the tensor file "
                             "does not hold: the files do not belong together") from None

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or "type" not in node:
            raise ValueError(f"not a value of the safe format: {str(node)[:80]!r}")
        kind = node["type"]
        method = getattr(self, "_" + kind, None)
        if method is None:
            raise ValueError(f"unknown value type {kind!r} in the saved tree")
        return method(node)

    # one method per node type ------------------------------------------------------
    def _float(self, node):
        return float(node["value"])

    def _npscalar(self, node):
        return np.dtype(node["dtype"]).type(self.decode(node["value"]))

    def _ndarray(self, node):
        dtype = np.dtype(node["dtype"])
        flat = self.tensor(node["key"]).numpy()
        if dtype.kind == "u":
            flat = flat.view(dtype.newbyteorder("="))
        return flat.astype(dtype, copy=False).reshape(node["shape"]).copy()

    def _ndarray_str(self, node):
        return np.asarray(node["values"], dtype=node["dtype"]).reshape(node["shape"])

    def _ndarray_object(self, node):
        out = np.empty(len(node["values"]), dtype=object)
        out[:] = [self.decode(v) for v in node["values"]]
        return out.reshape(node["shape"])

    def _sparse(self, node):
        cls = {"csr": sp.csr_array if node["array"] else sp.csr_matrix,
               "csc": sp.csc_array if node["array"] else sp.csc_matrix}[node["stored"]]
        m = cls((self.decode(node["data"]), self.decode(node["indices"]),
                 self.decode(node["indptr"])), shape=tuple(node["shape"]))
        return m if node["format"] == node["stored"] else m.asformat(node["format"])

    def _tensor(self, node):
        t = self.tensor(node["key"]).clone()
        return t.requires_grad_(node.get("requires_grad", False)) if t.is_floating_point() \
            else t

    def _parameter(self, node):
        return torch.nn.Parameter(self.tensor(node["key"]).clone(),
                                  requires_grad=node["requires_grad"])

    def _torch_dtype(self, node):
        dtype = getattr(torch, node["name"], None)
        if not isinstance(dtype, torch.dtype):
            raise ValueError(f"unknown torch dtype {node['name']!r}")
        return dtype

    def _torch_device(self, node):
        return torch.device(node["name"])

    def _npdtype(self, node):
        return np.dtype(node["str"])

    def _nptype(self, node):
        return np.generic if node["name"] == "generic" else np.dtype(node["name"]).type

    def _builtin_type(self, node):
        return {"int": int, "float": float, "str": str, "bool": bool, "complex": complex,
                "bytes": bytes}[node["name"]]

    def _path(self, node):
        return pathlib.Path(node["value"])

    def _tuple(self, node):
        return tuple(self.decode(v) for v in node["items"])

    def _list(self, node):
        return [self.decode(v) for v in node["items"]]

    def _set(self, node):
        return set(self._tuple(node))

    def _frozenset(self, node):
        return frozenset(self._tuple(node))

    def _history(self, node):
        from skorch.history import History

        return History(self._list(node))

    def _dict(self, node):
        return {k: self.decode(v) for k, v in node["items"].items()}

    def _ordered_dict(self, node):
        return OrderedDict((k, self.decode(v)) for k, v in node["items"].items())

    def _pairs(self, node):
        return {_hashable(self.decode(k)): self.decode(v) for k, v in node["items"]}

    def _ordered_pairs(self, node):
        return OrderedDict((_hashable(self.decode(k)), self.decode(v)) for k, v in node["items"])

    def _repr(self, node):
        raise ValueError("the saved tree holds a value written only as its repr "
                         f"({node['value'][:60]!r}): it cannot be loaded")

    def _object(self, node):
        cls = import_trusted(node["class"])
        obj = cls.__new__(cls)
        state = self.decode(node["state"])
        if "nets" in node:
            state.pop("_sklearn_version", None)
            obj.__dict__.update(state)
            obj._load_networks([self.network(n) for n in node["nets"]], self.device)
        elif hasattr(obj, "__setstate__"):
            obj.__setstate__(state)
        else:
            obj.__dict__.update(state)
        return obj

    def network(self, node):
        """The decoded parts of a saved net (weights, history, optimiser state)."""
        return {"state_dict": {k: self.tensor(v) for k, v in node["state_dict"].items()},
                "history": self.decode(node["history"]),
                "optimizer": self.decode(node["optimizer"])}

    def _tokenizers(self, node):
        from tokenizers import Tokenizer

        return Tokenizer.from_str(node["json"])

    def _hf_config(self, node):
        from transformers import AutoConfig

        values = dict(self.decode(node["values"]))
        values.pop("model_type", None)
        return AutoConfig.for_model(node["model_type"], **values)

    def _hf_tokenizer(self, node):
        from transformers import AutoTokenizer

        with tempfile.TemporaryDirectory() as tmp:
            for name, content in node["files"].items():
                if os.path.basename(name) != name or name.startswith("."):
                    raise ValueError(f"a saved tokenizer file has the unsafe name {name!r}")
                data = content.encode("utf-8") if isinstance(content, str) else \
                    self.decode(content).tobytes()
                with open(os.path.join(tmp, name), "wb") as fh:
                    fh.write(data)
            return AutoTokenizer.from_pretrained(tmp)

    def _hf_model(self, node):
        import transformers

        module, _, name = node["class"].partition(":")
        if not module.startswith("transformers."):
            raise ValueError(f"a saved model class must come from transformers, got "
                             f"{node['class']!r}")
        cls = getattr(importlib.import_module(module), name, None)
        if not (isinstance(cls, type) and issubclass(cls, transformers.PreTrainedModel)):
            raise ValueError(f"{node['class']!r} is not a transformers model class")
        model = cls(self._hf_config(node["config"]))
        model.load_state_dict({k: self.tensor(v) for k, v in node["state_dict"].items()})
        return model.train(node["training"])


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def import_trusted(path):
    """The class ``module:qualname`` when its module is trusted (:data:`TRUSTED_PREFIXES`)."""
    module, _, qualname = str(path).partition(":")
    if not _trusted(module) or not qualname:
        raise ValueError(f"the saved tree names the class {path!r}, outside the packages "
                         f"the safe format rebuilds ({', '.join(TRUSTED_PREFIXES)}): refused")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if not isinstance(obj, type):
        raise ValueError(f"the saved tree names {path!r}, which is not a class")
    return obj
