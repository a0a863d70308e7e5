"""Hugging Face Accelerate under the estimators: several processes (GPUs, nodes, or CPU
processes over gloo) and mixed precision, through skorch's ``AccelerateMixin``.

A fit goes through Accelerate when its estimator's ``precision`` is "bf16" or "fp16",
or when the process was started by a distributed launcher (``accelerate launch``,
``torchrun``: ``WORLD_SIZE`` > 1). Then:

- one :class:`accelerate.Accelerator` is made per fit (:func:`make_accelerator`) with
  ``split_batches=True`` (each batch of ``batch_size`` texts is cut between the
  processes, so the optimiser steps, the learning-rate schedule and the effective
  batch are those of a one-process fit), ``find_unused_parameters`` (tree levels,
  sampled clusters and tail clusters leave parameters without gradient in a batch)
  and no device placement (each process trains on ``accelerator.device``, its own
  GPU, and skorch moves the batches there);
- the net class is :class:`AcceleratedXMTCNet`: skorch's ``AccelerateMixin`` over
  our net, except that only the *training* iterator is sharded; validation and
  prediction batches are whole in every process, so the validation P@k that early
  stopping watches is the same number in every process (no ``DistributedHistory``
  is needed for it; each process's ``train_loss`` is that of its own shard);
- after training the modules are unwrapped (skorch's ``unwrap_after_train``) and
  :func:`finish_accelerated` turns the net back into a plain
  :class:`~sklearn_xmtc._training.XMTCNet` without the accelerator, so the fitted
  estimator pickles, saves, clones and predicts in a single process like any other.
"""

from __future__ import annotations

import functools
import os

__all__ = ["accelerated_net_class", "finish_accelerated", "is_main_process",
           "launched_distributed", "make_accelerator"]

_MIXED = {"32": "no", "bf16": "bf16", "fp16": "fp16"}


def launched_distributed():
    """Whether this process is one of several started by a distributed launcher."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


def is_main_process():
    """Whether this process writes the files of a fit (checkpoints): the only process, or
    rank 0 of a distributed launch."""
    try:
        return int(os.environ.get("RANK", "0")) == 0
    except ValueError:
        return True


def make_accelerator(precision, device="auto"):
    """The ``Accelerator`` of one fit, or None when the fit needs none (precision "32"
    in a single process). ``device`` "cpu", or no CUDA here, trains on CPU processes
    (gloo)."""
    if precision == "32" and not launched_distributed():
        return None
    try:
        from accelerate import Accelerator
        from accelerate.state import AcceleratorState, GradientState
        from accelerate.utils import DataLoaderConfiguration, DistributedDataParallelKwargs
    except ImportError as exc:
        raise ValueError(f"precision={precision!r} and multi-process training need Hugging "
                         "Face Accelerate: pip install 'accelerate>=0.21'.") from exc
    mixed = _MIXED[precision]
    state = AcceleratorState._shared_state
    if state and state.get("_mixed_precision", mixed) != mixed:
        if launched_distributed():
            raise ValueError(
                f"precision={precision!r}, but this process already trained with "
                f"{state['_mixed_precision']!r}: in a distributed launch every fit of a "
                "process must use the same precision.")
        AcceleratorState._reset_state()  # one process: a new precision for this fit
        GradientState._reset_state()
    import torch

    cpu = str(device) == "cpu" or not torch.cuda.is_available()
    return Accelerator(mixed_precision=mixed, device_placement=False, cpu=cpu,
                       dataloader_config=DataLoaderConfiguration(split_batches=True),
                       kwargs_handlers=[DistributedDataParallelKwargs(
                           find_unused_parameters=True)])


@functools.lru_cache(maxsize=None)
def accelerated_net_class():
    """The skorch net class of an accelerated fit (made once; imports skorch.hf lazily)."""
    from skorch.hf import AccelerateMixin

    from ._net import XMTCNet

    class AcceleratedXMTCNet(AccelerateMixin, XMTCNet):
        """``XMTCNet`` trained through Accelerate (see the module docstring)."""

        def _initialize_accelerator(self):
            # the criteria hold no trainable parameter: DDP refuses to wrap them
            criteria, self._criteria = self._criteria, []
            try:
                return super()._initialize_accelerator()
            finally:
                self._criteria = criteria

        def get_iterator(self, dataset, training=False):
            if training:
                return super().get_iterator(dataset, training=True)
            return XMTCNet.get_iterator(self, dataset, training=False)

        def evaluation_step(self, batch, training=False):
            return XMTCNet.evaluation_step(self, batch, training=training)

    return AcceleratedXMTCNet


def finish_accelerated(net):
    """After training: wait for every process, and make ``net`` a plain ``XMTCNet``
    (modules already unwrapped by skorch) without its accelerator."""
    from ._net import XMTCNet

    if not hasattr(net, "_unwrap_accelerator"):  # not AccelerateMixin's: nothing to undo
        return net
    accelerator = net.accelerator
    accelerator.wait_for_everyone()
    net._unwrap_accelerator()
    for _, cb in getattr(net, "callbacks_", []):  # the epoch table printed through it
        if getattr(getattr(cb, "sink", None), "__self__", None) is accelerator:
            cb.sink = print
    # the accelerator and the table's sink bound to it (a net parameter) go with it
    for attr in ("accelerator", "unwrap_after_train", "_wrapped_with_accelerator",
                 "callbacks__print_log__sink"):
        net.__dict__.pop(attr, None)
    net.__class__ = XMTCNet
    return net
