"""qmatmul, the GEMM recorder, operand-stream files and the `intfp workload` CLI."""
import json
import os

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from intfp.models import quantize, quantize_codes
from intfp.models.formats import block_format
from intfp.models.workloads.qgemm import GemmRecorder, qmatmul, resolve_format
from intfp.models.workloads.runner import run_workload
from intfp.models.workloads.streams import OperandStream, load_streams, save_streams

torch.set_num_threads(1)
FORMATS = ["mxint8", "mxfp8", "nvint4", "nvfp4"]


def _ab(m=8, k=64, n=16, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(m, k, generator=g, dtype=dtype), torch.randn(k, n, generator=g, dtype=dtype)


@pytest.mark.parametrize("fmt", FORMATS)
def test_qmatmul_equals_matmul_of_block_quantized_operands(fmt):
    a, b = _ab()
    out = qmatmul(a, b, fmt)
    aq = torch.as_tensor(quantize(a.float(), fmt, axis=-1))
    bq = torch.as_tensor(quantize(b.float(), fmt, axis=-2))   # b quantized along the reduction (rows)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, aq @ bq, rtol=0, atol=0)


def test_qmatmul_transposed_operand_is_requantized_along_reduction():
    a, b = _ab(m=32, k=32, n=32)
    # b^T quantized along its own last axis is not the same as b quantized along axis -2 then transposed
    # in general; qmatmul(a, b.T) must use the latter (reduction is b.T's axis -2).
    out = qmatmul(a, b.T.contiguous(), "mxint4")
    expect = torch.as_tensor(quantize(a.float(), "mxint4", axis=-1)) @ torch.as_tensor(
        quantize(b.T.float(), "mxint4", axis=-2))
    torch.testing.assert_close(out, expect, rtol=0, atol=0)


def test_hadamard_is_exact_without_quantization_and_helps_outliers():
    a, b = _ab(m=16, k=64, n=16)
    torch.testing.assert_close(qmatmul(a, b, "fp32"), (a @ b).float())
    a[:, 5] *= 50.0                                        # one outlier channel
    ref = a @ b
    err = {h: float((qmatmul(a, b, "mxint4", hadamard=h).double() - ref).norm() / ref.norm()) for h in (False, True)}
    assert err[True] < 0.9 * err[False]
    # the rotation is orthogonal: rotate-only with identical seeds preserves the product
    from intfp.models.hadamard import rotate
    torch.testing.assert_close(rotate(a, 32, 3, axis=-1) @ rotate(b, 32, 3, axis=-2), ref)


def test_qmatmul_batched_numpy_and_reference_formats():
    g = np.random.default_rng(1)
    a, b = g.standard_normal((2, 3, 4, 32)), g.standard_normal((2, 3, 32, 5))
    out = qmatmul(a, b, "mxfp8")
    assert isinstance(out, np.ndarray) and out.shape == (2, 3, 4, 5)
    np.testing.assert_allclose(qmatmul(a, b, None), a @ b, rtol=1e-14, atol=1e-13)
    assert np.abs(qmatmul(a, b, "bf16") - a @ b).max() < 0.1


@pytest.mark.parametrize("bad, match", [("mxint7", "unknown format 'mxint7'"), ("fp16", "allowed: fp64")])
def test_unknown_format_is_a_clear_error(bad, match):
    with pytest.raises(ValueError, match=match):
        qmatmul(*_ab(), bad)


def test_reduction_not_multiple_of_block_is_an_error():
    a, b = _ab(k=48)
    with pytest.raises(ValueError, match="not a multiple of the mxint8 block size 32"):
        qmatmul(a, b, "mxint8")
    qmatmul(a, b, "nvfp4")  # 48 = 3 x 16 is fine


def test_backward_gemms_are_quantized_along_their_reduction_axes():
    a, b = _ab(m=32, k=64, n=32, dtype=torch.float32)
    a.requires_grad_(True)
    b.requires_grad_(True)
    g = torch.randn(32, 32, generator=torch.Generator().manual_seed(5))
    qmatmul(a, b, "mxint8").backward(g)
    q = lambda x, ax: torch.as_tensor(quantize(x.detach(), "mxint8", axis=ax))
    torch.testing.assert_close(a.grad, q(g, -1) @ q(b.T, -2), rtol=0, atol=0)
    torch.testing.assert_close(b.grad, q(a.T, -1) @ q(g, -2), rtol=0, atol=0)
    # STE: the gradients are close to the exact ones
    assert float((a.grad - g @ b.detach().T).norm() / (g @ b.detach().T).norm()) < 0.02


@pytest.mark.parametrize("fmt, hadamard", [("mxint8", False), ("nvfp4", False), ("mxfp4", True)])
def test_recorder_streams_are_the_quantizer_codes_and_reproduce_the_gemm(fmt, hadamard):
    a, b = _ab(m=4, k=64, n=3)
    rec = GemmRecorder(pairs_per_call=10_000)
    out = qmatmul(a, b, fmt, recorder=rec, name="proj", hadamard=hadamard, seed=7)
    assert rec.macs["proj"] == 4 * 64 * 3
    s = rec.streams["proj"]
    bf = block_format(fmt)
    nblk = 64 // bf.block_size
    assert s.fmt == bf.name and s.block_size == bf.block_size
    assert s.a_codes.shape == (4 * 3 * nblk, bf.block_size) and s.a_codes.dtype == np.uint8
    if hadamard:
        from intfp.models.hadamard import rotate
        a, b = rotate(a, bf.block_size, 7, axis=-1), rotate(b, bf.block_size, 7, axis=-2)
    ca, cb = quantize_codes(a.float(), fmt, axis=-1), quantize_codes(b.float(), fmt, axis=-2)
    # pairs are enumerated (row, column, block): the first pair is a[0, block 0] with b[:, 0] block 0
    np.testing.assert_array_equal(s.a_codes[0], np.asarray(ca.codes)[0, 0])
    np.testing.assert_array_equal(s.b_codes[0], np.asarray(cb.codes)[0, 0])
    np.testing.assert_array_equal(s.a_scales[:nblk], np.asarray(ca.scale_codes)[0])
    # decoding every pair and summing per output element gives the quantized GEMM back
    elem = bf.element.decode_table()
    if bf.scale.name == "ue8m0":
        sa, sb = 2.0 ** (s.a_scales.astype(float) - 127), 2.0 ** (s.b_scales.astype(float) - 127)
    else:
        e4 = block_format("e4m3").element.decode_table()
        sa, sb = e4[s.a_scales] * s.a_tensor_scale, e4[s.b_scales] * s.b_tensor_scale
    dots = (elem[s.a_codes] * elem[s.b_codes]).sum(1) * sa * sb
    np.testing.assert_allclose(dots.reshape(4, 3, nblk).sum(-1), out.numpy(), rtol=1e-5, atol=1e-5)


def test_stream_file_roundtrip_atomic_and_errors(tmp_path):
    a, b = _ab(m=4, k=64, n=4)
    rec = GemmRecorder()
    qmatmul(a, b, "nvfp4", recorder=rec, name="x")
    qmatmul(a, b, "mxint8", recorder=rec, name="y")
    path = save_streams(tmp_path / "s.npz", rec.streams)
    back = load_streams(path)
    assert back == rec.streams and back["x"].a_tensor_scale is not None and back["y"].b_tensor_scale is None
    assert sorted(os.listdir(tmp_path)) == ["s.npz"]               # no temporary left behind
    with pytest.raises(OSError, match="does not exist"):
        save_streams(tmp_path / "missing" / "s.npz", rec.streams)
    with pytest.raises(ValueError, match="a_codes and b_codes"):
        OperandStream("g", "mxint8", np.zeros((2, 32)), np.zeros(2), np.zeros((3, 32)), np.zeros(3), None, None, 32)


def test_run_workload_rows_record_and_determinism(tmp_path):
    kw = dict(n=64, d=32, dv=32, chunk=32, heads=1, serial=False)
    df = run_workload("hla", ["mxint8", "nvfp4"], record=tmp_path / "hla.npz", progress=False, **kw)
    assert list(df.format) == ["mxint8", "nvfp4"] and (df.qsnr_db > 5).all()
    assert df.qsnr_db[0] > df.qsnr_db[1]                                # 8 bits beat 4 bits
    assert df.gemms[0]["chunk.QK"]["shapes"] == {"1x1x32x32x32": 2}
    streams = load_streams(tmp_path / "hla.npz")
    assert "mxint8:chunk.QK" in streams and streams["nvfp4:chunk.QK"].block_size == 16
    again = run_workload("hla", ["mxint8", "nvfp4"], progress=False, **kw)
    np.testing.assert_array_equal(df.qsnr_db, again.qsnr_db)


def test_run_workload_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match="unknown workload 'nope'"):
        run_workload("nope", ["mxint8"])
    with pytest.raises(ValueError, match="unknown format 'int9'"):
        run_workload("hla", ["int9"])
    with pytest.raises(ValueError, match="does not exist"):
        run_workload("hla", ["mxint8"], record=tmp_path / "no" / "x.npz")
    with pytest.raises(ValueError, match="no option"):
        run_workload("hla", ["mxint8"], bogus=1)
    with pytest.raises(ValueError, match="option n='abc': expected type int"):
        run_workload("hla", ["mxint8"], n="abc")
    with pytest.raises(ValueError, match="not a multiple"):
        run_workload("hla", ["mxint8"], n=64, d=24, dv=32, chunk=32, serial=False, progress=False)


def test_cli_json_and_errors(tmp_path):
    from intfp.cli import main
    r = CliRunner().invoke(main, ["workload", "hla", "--formats", "mxint8,nvint4", "--hadamard", "--json",
                                  "-o", "n=64", "-o", "heads=1", "-o", "serial=False",
                                  "--record", str(tmp_path / "s.npz")])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output[r.output.index("["):])
    assert [row["format"] for row in rows] == ["mxint8", "nvint4"] and all(row["hadamard"] for row in rows)
    assert isinstance(rows[0]["qsnr_db"], float) and (tmp_path / "s.npz").exists()
    r = CliRunner().invoke(main, ["workload", "hla", "--formats", "mxint3"])
    assert r.exit_code != 0 and "unknown format 'mxint3'" in r.output
    r = CliRunner().invoke(main, ["workload", "hla", "--record", "/nonexistent/dir/x.npz"])
    assert r.exit_code != 0 and "does not exist" in r.output
    r = CliRunner().invoke(main, ["workload", "zzz"])
    assert r.exit_code != 0 and "unknown workload 'zzz'" in r.output


def test_asymmetric_int_format_uses_the_unpaired_code():
    asym = resolve_format("mxint8_asym")
    assert asym.name == "mxint8_asym" and asym.element.code_min == -128 and asym.block_size == 32
    with pytest.raises(ValueError, match="INT formats only"):
        resolve_format("mxfp8_asym")
    x = torch.zeros(1, 32)
    x[0, 0], x[0, 1] = -1.999, 1.0          # block scale 2^0; -1.999 * 64 = -127.9
    from intfp.models.workloads.qgemm import quantize_operand
    assert quantize_operand(x, "mxint8", -1)[0, 0].item() == -127 / 64     # symmetric: clipped
    assert quantize_operand(x, "mxint8_asym", -1)[0, 0].item() == -2.0     # asymmetric: code -128


@pytest.mark.parametrize("bad, match", [
    ("int8_asym", "'int8_asym' has block size 'tensor'"),        # a direct-cast element format, not a block format
    ("foo_asym", "unknown format 'foo_asym'; allowed: fp64"),
])
def test_asym_names_are_validated_like_every_other_format(bad, match):
    """An ``_asym`` name must go through the same checks as any format: ``int8_asym`` (no integer block
    along the reduction dim) used to reach ``k % 'tensor'`` and die with a TypeError, and an unknown
    ``foo_asym`` was reported as ``'foo'`` without the reference formats in the allowed list."""
    with pytest.raises(ValueError, match=match):
        qmatmul(*_ab(), bad)


def test_record_path_that_is_a_directory_fails_before_any_compute(tmp_path):
    """docs/workloads.md: the record path is checked up front. A directory named ``*.npz`` passed the
    check and only failed in ``os.replace`` after every format had run."""
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(ValueError, match=r"d\.npz.*is a directory"):
        run_workload("hla", ["mxint8"], record=tmp_path / "d.npz", n=64, heads=1, serial=False, progress=False)
    (tmp_path / "f").write_text("")
    with pytest.raises(ValueError, match="is not a directory"):
        run_workload("hla", ["mxint8"], record=tmp_path / "f" / "x.npz")


@pytest.mark.parametrize("fmt", ["mxint8", "nvfp4"])
def test_hadamard_qmatmul_is_q_of_a_times_blockdiag_r_times_q_of_rt_b(fmt):
    """Definition (docs/workloads.md, arXiv 2510.25602 section 5.2): with the explicit block-diagonal
    R = diag(d) H / sqrt(n), qmatmul(hadamard=True) = Q(a R) Q(R^T b), and (a R)(R^T b) = a b exactly."""
    from intfp.models.hadamard import RandomHadamard
    bs = block_format(fmt).block_size
    a, b = _ab(m=8, k=64, n=8, seed=3)
    R = torch.block_diag(*[torch.as_tensor(RandomHadamard(bs, 5).matrix())] * (64 // bs))
    expect = torch.as_tensor(quantize((a @ R).float(), fmt, axis=-1)) @ torch.as_tensor(
        quantize((R.T @ b).float(), fmt, axis=-2))
    torch.testing.assert_close(qmatmul(a, b, fmt, hadamard=True, seed=5), expect, rtol=0, atol=1e-6)
    torch.testing.assert_close((a @ R) @ (R.T @ b), a @ b, rtol=1e-12, atol=1e-12)


def test_unknown_format_lists_only_what_the_gemm_accepts():
    """The allowed list named direct-cast element formats (e4m3, int8, ...) that the GEMM then rejects."""
    with pytest.raises(ValueError) as e:
        qmatmul(*_ab(), "foo")
    msg = str(e.value)
    assert "mxint8" in msg and "nvfp4" in msg and "fp64" in msg and ", e4m3," not in msg and ", int8," not in msg


def test_streams_of_a_block_format_with_fp32_scales_keep_the_scale_values(tmp_path):
    """qmatmul accepts any BlockFormat with an integer block, e.g. INT8 elements with FP32 block scales
    (the study's high-precision-scale baseline, ``intfp.models.formats`` scale ``fp32``). Its
    ``quantize_codes().scale_codes`` are float32 scale values; the recorder cast them to uint8
    (1.73 -> 1), silently corrupting the stream. The stream must hold them exactly."""
    bf = block_format("int8", block_size=32, scale="fp32")
    a, b = _ab(m=4, k=64, n=3, seed=2)
    rec = GemmRecorder(pairs_per_call=10_000)
    out = qmatmul(a, b, bf, recorder=rec, name="x")
    s = rec.streams["x"]
    ca = quantize_codes(a.float(), bf, axis=-1)
    np.testing.assert_array_equal(s.a_scales[:2], np.asarray(ca.scale_codes)[0])
    elem = bf.element.decode_table()
    dots = (elem[s.a_codes] * elem[s.b_codes]).sum(1) * s.a_scales.astype(np.float64) * s.b_scales
    np.testing.assert_allclose(dots.reshape(4, 3, 2).sum(-1), out.numpy(), rtol=1e-5, atol=1e-5)
    assert load_streams(save_streams(tmp_path / "s.npz", rec.streams)) == rec.streams
