"""The sync-free ("graph") tensor back-end: the grouped path's results, no host synchronisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import augmix
from augmix.augment import AugMixConfig, apply_chains, apply_tensor, sample_params
from augmix.augment import functional as Fn
from augmix.augment.graph import apply_chains_graph, chain_steps
from tests.conftest import smooth_images

# aten ops that make the host wait for the device (a value read back, or an output whose
# shape depends on the data).
_SYNCING = {"nonzero", "_local_scalar_dense", "masked_select", "_unique2", "unique_dim",
            "unique_consecutive", "bincount", "is_nonzero", "equal", "item", "repeat_interleave"}


class SyncRecorder(TorchDispatchMode):
    """Records every aten call that would synchronise a CUDA stream; works on the CPU."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        kwargs = kwargs or {}
        if name in _SYNCING and not (name == "repeat_interleave" and kwargs.get("output_size")):
            self.calls.append(name)
        if name == "index" and any(isinstance(i, torch.Tensor) and i.dtype == torch.bool
                                   for i in (args[1] or []) if i is not None):
            self.calls.append("index with a bool mask")
        return func(*args, **kwargs)


def _batch(n: int, size: int, seed: int, channels: int = 3) -> torch.Tensor:
    x = torch.from_numpy(smooth_images(n, size=size, seed=seed)).permute(0, 3, 1, 2).contiguous()
    return x[:, :channels].contiguous()


@pytest.mark.parametrize("all_ops", [False, True])
@pytest.mark.parametrize("size,channels", [(32, 3), (37, 3), (24, 1)])
def test_uint8_equals_the_grouped_path(all_ops, size, channels):
    x = _batch(40, size, seed=size, channels=channels)
    params = sample_params(40, AugMixConfig(all_ops=all_ops, severity=10), seed=7)
    assert torch.equal(apply_chains_graph(x, params), apply_chains(x, params))


@pytest.mark.parametrize("all_ops", [False, True])
def test_float_equals_the_ops_applied_one_by_one(all_ops):
    # (the grouped path resamples translations bilinearly in float32, ~1e-6 off; here they
    # are exact whole-pixel moves, as the functional ops make them)
    x = _batch(12, 33, seed=3).float() / 255
    params = sample_params(12, AugMixConfig(all_ops=all_ops), seed=2)
    got = apply_chains_graph(x, params)
    args = params.args(33, 33)
    for i in range(12):
        for w in range(params.width):
            img = x[i:i + 1]
            for d in range(int(params.depths[i, w])):
                name = params.op_names[int(params.ops[i, w, d])]
                img = Fn.NAME_TO_OP[name](img, float(args[i, w, d]))
            assert torch.allclose(got[i, w], img[0], atol=1e-6), (i, w)


def test_no_host_synchronisation_in_a_batch():
    x = _batch(16, 32, seed=1)
    for all_ops in (False, True):
        params = sample_params(16, AugMixConfig(all_ops=all_ops), seed=1)
        params.args(32, 32)  # drawn on the host before the batch, as AugMixBatch does
        for inputs in (x, x.float() / 255):
            with SyncRecorder() as graph:
                apply_tensor(inputs, params, backend="graph")
            assert graph.calls == [], graph.calls
    # the recorder does see the grouped path's synchronisations
    with SyncRecorder() as grouped:
        apply_tensor(x, params, backend="torch")
    assert {"nonzero", "_local_scalar_dense"} <= set(grouped.calls)


def test_one_batch_is_one_graph():
    # fullgraph=True fails on any graph break (data-dependent shapes, host reads)
    b, width, size = 8, 3, 32
    x = _batch(b, size, seed=2)
    params = sample_params(b, AugMixConfig(all_ops=True), seed=3)
    ops = params.ops.reshape(b * width, -1)
    args = params.args(size, size).reshape(b * width, -1)
    active = params.active().reshape(b * width, -1)
    chains = x.unsqueeze(1).expand(b, width, 3, size, size).reshape(b * width, 3, size, size)
    torch._dynamo.reset()
    compiled = torch.compile(chain_steps, backend="eager", fullgraph=True)
    assert torch.equal(compiled(chains, params.op_names, ops, args, active),
                       chain_steps(chains, params.op_names, ops, args, active))


def test_graph_backend_through_the_public_api():
    x = _batch(24, 32, seed=4)
    params = sample_params(24, AugMixConfig(), seed=4)
    kernel = apply_tensor(x, params, backend="kernel")
    graph = apply_tensor(x, params, backend="graph")
    assert (kernel - graph).abs().mean() * 255 <= 1.0
    module = augmix.AugMixBatch(jsd=True, backend="graph")
    clean, a1, a2 = module(x, generator=0)
    _, b1, b2 = augmix.AugMixBatch(jsd=True, backend="torch")(x, generator=0)
    assert torch.equal(a1, b1) and torch.equal(a2, b2)
    assert np.isclose(float(clean.mean()), float(x.float().mean() / 255))
