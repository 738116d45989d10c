"""Multimodal RoPE (arXiv 2510.23095): position ids, frequency allocation, invariances."""
import pytest
import torch

from intfp.models.workloads import rope

torch.set_num_threads(1)
# docs/workloads.md worked example: 3 text + <vs>, image (1, 2, 3), <ve> + 2 text + <vs>, video (2, 2, 2), <ve> + 2 text
SEGS = [rope.text(4), rope.image(2, 3), rope.text(4), rope.video(2, 2, 2), rope.text(3)]


def test_position_ids_match_the_qwen2vl_worked_example():
    t = [0, 1, 2, 3, 4, 4, 4, 4, 4, 4, 7, 8, 9, 10, 11, 11, 11, 11, 12, 12, 12, 12, 13, 14, 15]
    h = [0, 1, 2, 3, 4, 4, 4, 5, 5, 5, 7, 8, 9, 10, 11, 11, 12, 12, 11, 11, 12, 12, 13, 14, 15]
    w = [0, 1, 2, 3, 4, 5, 6, 4, 5, 6, 7, 8, 9, 10, 11, 12, 11, 12, 11, 12, 11, 12, 13, 14, 15]
    assert rope.position_ids(SEGS).tolist() == [t, h, w]
    hr = [0, 1, 2, 3, 0, 0, 0, 1, 1, 1, 7, 8, 9, 10, 0, 0, 1, 1, 0, 0, 1, 1, 13, 14, 15]
    wr = [0, 1, 2, 3, 0, 1, 2, 0, 1, 2, 7, 8, 9, 10, 0, 1, 0, 1, 0, 1, 0, 1, 13, 14, 15]
    assert rope.position_ids(SEGS, spatial_reset=True).tolist() == [t, hr, wr]
    # Qwen2.5-VL: second_per_grid_t * tokens_per_second = 2 -> second frame at 13, <ve> at 14
    t25 = rope.position_ids(SEGS, temporal_scale=2)[0]
    assert t25[18].item() == 13 and t25[22].item() == 14


def test_mrope_i_allocation_and_mrope_sections():
    ax = rope._axis_of_pair("mrope_i", 64, (24, 20, 20))
    assert [int((ax == a).sum()) for a in range(3)] == [24, 20, 20]
    assert ax[:6].tolist() == [0, 1, 2, 0, 1, 2] and (ax[60:] == 0).all()
    assert ax[1].item() == 1 and ax[58].item() == 1        # h spans high and low frequencies
    m = rope._axis_of_pair("mrope", 64, (16, 24, 24))
    assert m[:16].eq(0).all() and m[16:40].eq(1).all() and m[40:].eq(2).all()


@pytest.mark.parametrize("variant", ["mrope", "mrope_i"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_text_only_reduces_exactly_to_1d_rope(variant, dtype):
    pos = rope.position_ids([rope.text(50)])
    ref = rope.rope_angles(torch.arange(50), "rope", dtype=dtype)
    assert torch.equal(rope.rope_angles(pos, variant, dtype=dtype), ref)         # bit-identical
    x = torch.randn(2, 50, 128, dtype=torch.float64)
    assert torch.equal(rope.apply_rope(x, rope.rope_angles(pos, variant, dtype=dtype)), rope.apply_rope(x, ref))
    # and the 1-D RoPE is the classic complex rotation of pairs (i, i + hd/2)
    z = torch.complex(x[..., :64], x[..., 64:]) * torch.polar(torch.ones_like(ref.double()), ref.double())
    torch.testing.assert_close(rope.apply_rope(x, ref.double()), torch.cat([z.real, z.imag], -1))


@pytest.mark.parametrize("variant", ["mrope", "mrope_i", "mhrope"])
def test_scores_depend_only_on_relative_position(variant):
    g = torch.Generator().manual_seed(0)
    pos = rope.position_ids(SEGS, spatial_reset=True)
    shift = torch.tensor([[37], [5], [11]])                              # a common (t, h, w) shift
    q = torch.randn(8, pos.shape[1], 128, generator=g, dtype=torch.float64)
    k = torch.randn(8, pos.shape[1], 128, generator=g, dtype=torch.float64)

    def scores(p):
        th = rope.rope_angles(p, variant, num_kv_heads=8)
        return rope.apply_rope(q, th) @ rope.apply_rope(k, th).transpose(-1, -2)
    torch.testing.assert_close(scores(pos + shift), scores(pos), rtol=1e-10, atol=1e-10)


def test_mhrope_heads_use_one_axis_each_and_spare_heads_are_nope():
    pos = rope.position_ids(SEGS)
    th = rope.rope_angles(pos, "mhrope", num_kv_heads=10)
    full = rope.rope_angles(pos[0], "rope")
    assert torch.equal(th[0], full) and torch.equal(th[1], full)         # heads 0, 1: t
    assert torch.equal(th[2], rope.rope_angles(pos[1], "rope"))          # heads 2-4: h
    assert torch.equal(th[7], rope.rope_angles(pos[2], "rope"))          # heads 5-7: w
    assert th[8:].eq(0).all()


def test_attention_through_formats():
    from intfp.models.workloads.qgemm import make_mm
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(1, 2, 64, 128, generator=g, dtype=torch.float64) for _ in range(3))
    th = rope.rope_angles(rope.position_ids([rope.text(64)]) + 10_000, "mrope_i")
    q, k = rope.apply_rope(q, th), rope.apply_rope(k, th)
    ref, _, _ = rope.attention(q, k, v)
    err = {f: float((rope.attention(q, k, v, mm=make_mm(f))[0].double() - ref).norm() / ref.norm())
           for f in ("mxint8", "mxfp8", "nvfp4")}
    assert err["mxint8"] < err["mxfp8"] < err["nvfp4"] < 0.5


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown RoPE variant 'xrope'"):
        rope.rope_angles(torch.arange(4), "xrope")
    with pytest.raises(ValueError, match="must sum to the 64 pairs"):
        rope.rope_angles(rope.position_ids(SEGS), "mrope", section=(16, 16, 16))
    with pytest.raises(ValueError, match="segment kind"):
        rope.position_ids([rope.Segment("audio", 3)])


def test_offset_is_a_preceding_text_and_keeps_the_spatial_reset():
    """A position offset stands for that many earlier text tokens: the running start ``st`` begins at
    ``offset`` (HF ``get_rope_index``; ``JJJYmmm/Multimodal-RoPEs`` ``pos_design/mrope_i.py``). With
    ``spatial_reset`` the vision h, w ids still restart at 0 (only t carries ``st``), so adding the offset
    to all three rows afterwards (as the workload did) undoes the reset the MRoPE-I design is about."""
    prefix = rope.position_ids([rope.text(1000)] + SEGS, spatial_reset=True)[:, 1000:]   # the definition
    assert torch.equal(rope.position_ids(SEGS, spatial_reset=True, start=1000), prefix)
    vis = rope.token_kinds(SEGS)
    assert prefix[1:, vis].max() < 3                       # h, w of the vision tokens stay small
    assert torch.equal(rope.position_ids(SEGS, start=1000), rope.position_ids(SEGS) + 1000)   # no reset: a shift
    from intfp.models.workloads import catalog
    ctx = catalog.RoPEWorkload.setup(seed=0, variant="mrope_i", spatial_reset=None, heads=1, kv_heads=1, head_dim=128,
                                     text_len=30, image_hw=4, video_thw=(2, 4, 4), offset=100_000, base=1e6,
                                     angles="fp64")
    pos, vis = ctx["pos"], ctx["vision"]
    assert pos[0].min() == 100_000 and pos[1:, vis].max() < 4


def test_fp32_angles_are_bit_identical_to_hf():
    """``angles=fp32`` claims HF's computation (transformers ``_compute_default_rope_parameters``:
    ``inv_freq = 1 / base ** (arange(0, hd, 2).float() / hd)``, then a float32 ``inv_freq x pos`` product);
    ``base ** (-i / hd)`` differs from it by 1 ulp in 24 of 64 frequencies (0.01 rad at position 1e5)."""
    pos = torch.arange(100_000, 100_064)
    inv_freq = 1.0 / (1e6 ** (torch.arange(0, 128, 2, dtype=torch.int64).float() / 128))
    hf = pos.float()[:, None] * inv_freq[None, :]
    assert torch.equal(rope.rope_angles(pos, "rope", dtype=torch.float32), hf)


def test_rope_workload_rejects_heads_not_a_multiple_of_kv_heads():
    """heads=12, kv_heads=8 with MHRoPE died in apply_rope with a bare broadcasting RuntimeError."""
    from intfp.models.workloads.runner import run_workload
    with pytest.raises(ValueError, match="heads=12 must be a multiple of kv_heads=8"):
        run_workload("rope", ["mxint8"], progress=False, variant="mhrope", heads=12, kv_heads=8, text_len=30,
                     image_hw=4, video_thw=(2, 4, 4))


def test_vanilla_rope_workload_uses_consecutive_positions():
    """Issue 13: vanilla RoPE rotates token t by t * base^(-2i/hd), t = 0..L-1 over the whole multimodal
    sequence (vision tokens included), not by the t row of the 3-D ids (which repeats within an image).
    Checked against a direct 1-D RoPE: the complex rotation of pairs (i, i + hd/2)."""
    from intfp.models.workloads.runner import get_workload
    opts = dict(variant="rope", spatial_reset=None, heads=2, kv_heads=1, head_dim=32, text_len=30, image_hw=4,
                video_thw=(2, 4, 4), base=1e4, angles="fp64")
    wl = get_workload("rope")
    for offset in (0, 1000):
        ctx = wl.setup(seed=0, offset=offset, **opts)
        q, k, _ = ctx["inputs"]
        L, hd = q.shape[-2], q.shape[-1]
        t = torch.arange(L, dtype=torch.float64) + offset
        theta = t[:, None] * 1e4 ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
        rot = torch.polar(torch.ones_like(theta), theta)

        def direct(x):
            z = torch.complex(x[..., :hd // 2], x[..., hd // 2:]) * rot
            return torch.cat([z.real, z.imag], -1)
        torch.testing.assert_close(ctx["q"], direct(q), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(ctx["k"], direct(k), rtol=1e-12, atol=1e-12)
    assert ctx["vision"].any()                        # the sequence really has vision tokens


def test_vanilla_rope_rejects_multimodal_3d_ids():
    pos = rope.position_ids(SEGS)
    with pytest.raises(ValueError, match="sequential_positions"):
        rope.rope_angles(pos, "rope")
    text_only = rope.position_ids([rope.text(7)], start=3)
    assert torch.equal(rope.rope_angles(text_only, "rope"), rope.rope_angles(rope.sequential_positions(7, 3), "rope"))
