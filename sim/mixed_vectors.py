"""Test vectors for the mixed 8/4-bit units (:mod:`intfp.rtl.mixed`): the simulation layer's
job, kept beside the block-unit vectors' helpers it uses."""
from __future__ import annotations

import numpy as np

from intfp.models import hwmodel as hw
from intfp.models.spec import MIXED_UNITS, NV_BLOCK

from . import vectors as vec

__all__ = ["mixed_vectors"]


def mixed_vectors(name: str, n: int = 1000, seed: int = 0, lanes: int = 32):
    """Rows for a mixed unit: blocks from every distribution of ``block_stimulus`` for both
    formats, the mode switching at random, idle rows (``valid = 0``) inserted at random;
    expected values from ``hwmodel.block_dot`` and ``hwmodel.accumulate``. ``dot`` /
    ``dot_valid`` are sampled before the clock edge (combinational), ``acc`` / ``acc_valid``
    after it (see :mod:`intfp.sim.vectors`)."""
    mx_name, nv_name = MIXED_UNITS[name]
    ch = 2 * lanes // NV_BLOCK
    mx_spec, nv_spec = hw.dot_spec(mx_name, lanes), hw.dot_spec(nv_name, NV_BLOCK)
    rng = np.random.default_rng(seed)
    mode = (rng.random(n) < 0.5).astype(np.int64)
    mx = vec.block_stimulus(mx_spec, n, seed)
    nv = vec.block_stimulus(nv_spec, n * ch, seed + 1)
    order = rng.permutation(n * ch)           # mix the NV distributions across channels
    nva, nvb = nv.a[order].reshape(n, ch, NV_BLOCK), nv.b[order].reshape(n, ch, NV_BLOCK)
    nvsa, nvsb = nv.a_scale[order].reshape(n, ch), nv.b_scale[order].reshape(n, ch)
    first = rng.random(n) < 0.25
    first[0] = True
    src, valid = vec._idle_rows(n, vec.IDLE_RATE, rng)
    rows = len(src)
    mode, nva, nvb, nvsa, nvsb = mode[src], nva[src], nvb[src], nvsa[src], nvsb[src]
    mxa, mxb, mxsa, mxsb = mx.a[src], mx.b[src], mx.a_scale[src], mx.b_scale[src]
    first = np.where(valid, first[src], rng.random(rows) < 0.5)
    # Inputs: 8-bit mode packs 32 8-bit codes, 4-bit mode 64 4-bit codes, in the same bits.
    a8, b8 = vec.pack(mxa, 8), vec.pack(mxb, 8)
    a4, b4 = vec.pack(nva.reshape(rows, -1), 4), vec.pack(nvb.reshape(rows, -1), 4)
    sel = mode[:, None] == 1
    a_in, b_in = np.where(sel, a4, a8), np.where(sel, b4, b8)
    sa = np.where(sel, nvsa, np.pad(mxsa[:, None], ((0, 0), (0, ch - 1))))
    sb = np.where(sel, nvsb, np.pad(mxsb[:, None], ((0, 0), (0, ch - 1))))
    dot_mx = hw.block_dot(mx_spec.fmt, mxa, mxb, mxsa, mxsb)
    dot_nv = hw.block_dot(nv_spec.fmt, nva, nvb, nvsa, nvsb)            # (rows, ch)
    dot = np.where(sel, dot_nv, np.concatenate([dot_mx[:, None], np.zeros((rows, ch - 1), np.uint32)], 1))
    active = (sel | (np.arange(ch) == 0)) & valid[:, None]
    acc = hw.accumulate(dot, axis=0, first=np.broadcast_to(first[:, None], (rows, ch)), valid=active)
    ones = np.ones(rows, bool)
    return vec.Vectors(
        name=f"mixed_{name}",
        clocked=True,
        inputs={"mode": vec.pack(mode, 1), "a": a_in, "b": b_in, "a_scale": vec.pack(sa, 8),
                "b_scale": vec.pack(sb, 8), "valid": vec.pack(valid, 1),
                "first": vec.pack(first, 1)},
        expect={"dot": vec.pack(dot.astype(np.int64), 32), "acc": vec.pack(acc.astype(np.int64), 32),
                "dot_valid": vec.pack(active.astype(np.int64), 1),
                "acc_valid": vec.pack(active.astype(np.int64), 1)},
        mask={"dot": valid, "acc": ones, "dot_valid": ones, "acc_valid": ones},
        fields={"dot": (32, ch, False), "acc": (32, ch, False), "dot_valid": (1, ch, False),
                "acc_valid": (1, ch, False)},
        count=int(n + (mode[valid] == 1).sum() * (ch - 1)),
        coverage={"dot": vec.fp32_classes(dot[active]), "acc": vec.fp32_classes(acc[active])},
        early=("dot", "dot_valid"),
    )
