"""Higher-order Linear Attention (HLA, arXiv 2510.27258), second order, masked.

Every formulation takes ``q, k`` of shape ``(..., n, d)`` and ``v`` of shape ``(..., n, dv)``
(column vectors ``q_t`` stacked as rows) and an injectable ``mm(a, b, name)`` so that the same
code runs exactly (float64 reference) or through :func:`~intfp.models.workloads.qgemm.qmatmul`.

Target (section 3.1, masked second order; ``gamma = 1``, the paper's exact form)::

    o_t = sum_{j<=t} sum_{i<=j} (q_t . k_i)(q_j . k_i) v_j

Decay (``gamma < 1``), ``decay=`` one of :data:`DECAYS`:

* ``"alg1"`` (default): the paper's Algorithm 1 (section 5), ``S_t = g S + k k^T``,
  ``C_t = g C + q v^T``, ``G_t = g G + k k^T C_{t-1}`` (``m``, ``h`` like ``C``, ``G``) and
  ``o_t = q_t^T (S_t C_t - G_t)``. Unrolled, its weight on ``(q_t.k_i)(k_i.q_j) v_j`` is
  ``g^(2t-i-j)`` for ``i <= j <= t`` and ``g^(2t-i-j) - g^(t-1-j)`` for ``j < i <= t``: the
  correction does not cancel the ``i > j`` terms exactly once ``g < 1``, so Algorithm 1 is *not* a
  decayed masked attention; it is what the paper computes, and what :func:`hla_dense` evaluates as
  ``[((D o A) A^T) o D - ((L o A)(L_s o A^T)) o D_1] V`` (``A = QK^T``, ``D = g^(t-j)``,
  ``D_1 = g^(t-1-j)`` strictly below the diagonal). Its scan operator (carrying the undecayed
  ``R = sum k k^T``) is ``G_AB = rho_B G_A + G_B + (rho_B / g) R_B C_A``, associative.
* ``"consistent"``: the project's own form (erratum 2), the decayed masked sum
  ``sum_{j<=t} sum_{i<=j} g^(t-i) g^(t-j) (q_t . k_i)(q_j . k_i) v_j``:
  ``G_t = g^2 G + g k k^T C_{t-1}``, operator ``G_AB = rho_B^2 G_A + G_B + rho_B S_B C_A``.

Formulations:

* :func:`hla_dense` — the O(n^2) masked matrix form ``((D o QK^T)(L o QK^T)^T o D) V``.
* :func:`hla_serial` — the recurrence of eq. 3.3: ``o_t = q_t^T (S_t C_t - G_t)`` with
  ``S += k k^T``, ``C += q v^T``, ``G += k (k^T C_{t-1})`` (previous ``C``).
* :func:`hla_chunked` — the all-GEMM chunk step of section 5 / Fig. 1C **with the cross term
  ``Q_B S_A Q_B^T`` that the printed Fig. 1C omits** (erratum 1 in docs/workloads.md, reconstructed
  and checked in float64 by tests/test_workloads_hla.py).
* :func:`hla_combine` — the masked semidirect-product scan operator (eq. 4.1).

The paper's three decayed variants (section 4.3 serial, the section 4.2 operator and Algorithm 1)
disagree and the section 4.2 operator is not associative (erratum 2); the default follows
Algorithm 1, the paper's algorithm (see above).

Normalization (eq. 3.2 / 3.4): ``normalize=True`` divides by ``q_t^T (S_t m_t - h_t) + eps``. It is
computed by appending a ones column to ``V``: ``m`` and ``h`` are then the last columns of ``C`` and
``G``, so the denominator goes through exactly the same GEMMs as the numerator.

AHLA (asymmetric, section 6): ``o = (A A) V`` with ``A = L o (QK^T)``; eq. 6.1
``o_t = sum_{j<=t} sum_{i=j}^{t} (q_t . k_i)(q_i . k_j) v_j``. Serial form (Algorithm 2, with the
*inclusive* ``P_t``; the strict ``R_{<t}`` printed in Fig. 2 must be inclusive, ``R_{<=t}``),
chunked form and scan operator (eq. 6.2). Decay: Algorithm 2's ``P <- g P + k v^T``, ``E <- g E + k (q^T P)`` gives the weight
``g^(t-j)``, i.e. ``((D o A)(D o A)) V``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from intfp.models.workloads.qgemm import MatMul, exact_mm

__all__ = ["hla_dense", "hla_serial", "hla_chunked", "HLAState", "hla_token_states", "hla_combine",
           "hla_scan", "ahla_dense", "ahla_serial", "ahla_chunked", "AHLAState", "ahla_token_states",
           "ahla_combine", "ahla_scan", "decay_mask", "DECAYS"]

#: Decay rules for ``gamma < 1`` (module docstring); identical at ``gamma = 1``.
DECAYS = ("alg1", "consistent")


def _check_decay(decay):
    if decay not in DECAYS:
        raise ValueError(f"unknown HLA decay rule {decay!r}; allowed: {', '.join(DECAYS)}")


def _check(q, k, v, gamma):
    if q.shape != k.shape or q.shape[:-1] != v.shape[:-1]:
        raise ValueError(f"HLA needs q, k of shape (..., n, d) and v of shape (..., n, dv); got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if not 0.0 < gamma <= 1.0:
        raise ValueError(f"decay gamma must be in (0, 1]; got {gamma!r}")


def decay_mask(n: int, gamma: float, *, strict: bool = False, dtype=torch.float64) -> torch.Tensor:
    """``D[t, i] = gamma^(t-i)`` for ``i <= t`` (``i < t`` if ``strict``), else 0."""
    t = torch.arange(n, dtype=dtype)
    diff = t[:, None] - t[None, :]
    mask = diff > 0 if strict else diff >= 0
    return torch.where(mask, torch.as_tensor(gamma, dtype=dtype) ** diff.clamp(min=0), torch.zeros((), dtype=dtype))


def _augment(v: torch.Tensor, normalize: bool) -> torch.Tensor:
    return torch.cat([v, torch.ones_like(v[..., :1])], -1) if normalize else v


def _finish(o: torch.Tensor, normalize: bool, eps: float) -> torch.Tensor:
    return o[..., :-1] / (o[..., -1:] + eps) if normalize else o


# --------------------------------------------------------------------------------------------
# HLA, second order
# --------------------------------------------------------------------------------------------
def hla_dense(q, k, v, *, gamma: float = 1.0, normalize: bool = False, eps: float = 1e-6,
              mm: MatMul = exact_mm, decay: str = "alg1") -> torch.Tensor:
    """Masked second-order HLA, O(n^2) matrix form. ``"consistent"``: ``((D o A)(L o A)^T o D) V``;
    ``"alg1"``: ``[((D o A) A^T) o D - ((L o A)(L_s o A^T)) o D_1] V`` (module docstring), ``A = QK^T``."""
    _check(q, k, v, gamma)
    _check_decay(decay)
    n = q.shape[-2]
    D = decay_mask(n, gamma, dtype=q.dtype)
    L = decay_mask(n, 1.0, dtype=q.dtype)
    s = mm(q, k.transpose(-1, -2), "dense.qk")
    if decay == "consistent" or gamma == 1.0:
        t2 = mm(D * s, (L * s).transpose(-1, -2), "dense.ssT")
        return _finish(mm(D * t2, _augment(v, normalize), "dense.pv"), normalize, eps)
    Ls = decay_mask(n, 1.0, strict=True, dtype=q.dtype)
    D1 = decay_mask(n, gamma, strict=True, dtype=q.dtype) / gamma
    t2 = D * mm(D * s, s.transpose(-1, -2), "dense.ssT") - D1 * mm(L * s, Ls * s.transpose(-1, -2), "dense.corr")
    return _finish(mm(t2, _augment(v, normalize), "dense.pv"), normalize, eps)


def hla_serial(q, k, v, *, gamma: float = 1.0, normalize: bool = False, eps: float = 1e-6,
               mm: MatMul = exact_mm, decay: str = "alg1") -> torch.Tensor:
    """The token-by-token recurrence (eq. 3.3, decayed as in the module docstring).

    Per token, cost O(d^2 + d dv): ``u = q^T S``, ``o = u C - q^T G`` (``S C`` is never formed).
    The rank-1 updates are element-wise products (FP32 accumulators in hardware, not GEMMs);
    the GEMVs ``q^T S``, ``u C``, ``q^T G`` and ``k^T C`` go through ``mm``.
    """
    _check(q, k, v, gamma)
    _check_decay(decay)
    # Algorithm 1: G = g G + k k^T C_{t-1}; consistent: G = g^2 G + g k k^T C_{t-1}
    g_old, g_new = (gamma, 1.0) if decay == "alg1" else (gamma * gamma, gamma)
    v = _augment(v, normalize)
    *batch, n, d = q.shape
    S = q.new_zeros(*batch, d, d)
    C = q.new_zeros(*batch, d, v.shape[-1])
    G = torch.zeros_like(C)
    out = []
    for t in range(n):
        qt, kt, vt = q[..., t:t + 1, :], k[..., t:t + 1, :], v[..., t:t + 1, :]   # (..., 1, .)
        kC = mm(kt, C, "serial.kC")                                          # k^T C_{t-1}
        G = g_old * G + g_new * kt.transpose(-1, -2) * kC                   # previous C
        S = gamma * S + kt.transpose(-1, -2) * kt
        C = gamma * C + qt.transpose(-1, -2) * vt
        u = mm(qt, S, "serial.qS")
        out.append(mm(u, C, "serial.uC") - mm(qt, G, "serial.qG"))
    return _finish(torch.cat(out, -2), normalize, eps)


def hla_chunked(q, k, v, *, chunk: int = 64, gamma: float = 1.0, normalize: bool = False, eps: float = 1e-6,
                mm: MatMul = exact_mm, decay: str = "alg1") -> torch.Tensor:
    """Chunk-parallel HLA: every step is a GEMM (section 5, Fig. 1C with the corrected cross term).

    For the previous state ``A = (S, C, G)``, chunk ``B`` (positions ``tau = 1..c``), ``W = Q_B K_B^T``::

        O_B = diag(g^(2 tau)) Q_B (S_A C_A - G_A)
              + [(Q_B S_A Q_B^T) o X + ((D o W)(L o W)^T) o D] V_B,   X[t, j] = g^tau_t g^(tau_t - tau_j), j <= t
        S <- rho S_A + K_B^T diag(g^(c-tau)) K_B;  C <- rho C_A + Q_B^T diag(g^(c-tau)) V_B
        G <- rho^2 G_A + K_B^T [(K_B Q_B^T o L_strict o E) V_B] + rho (S_B C_A),   E[i, j] = g^(c-tau_i) g^(c-tau_j)

    That is ``decay="consistent"``. Algorithm 1 (``decay="alg1"``, derived by unrolling its
    recurrence over the chunk; ``M[t, i] = g^(2 tau_t - tau_i) - g^(tau_t - 1)``, ``D_1`` as in
    :func:`hla_dense`, ``E_1[i, j] = g^(c - 1 - tau_j)``)::

        O_B = diag(g^(2 tau)) Q_B S_A C_A - diag(g^tau) Q_B G_A + [(Q_B S_A Q_B^T) o X] V_B
              + ((W o M) o L)(K_B C_A) + [((D o W) W^T) o D - ((L o W)(L_s o W^T)) o D_1] V_B
        G <- rho G_A + g^(c-1) (K_B^T K_B) C_A + K_B^T [(K_B Q_B^T o L_strict o E_1) V_B]

    With ``g = 1`` both are erratum 1's form. ``chunk`` must divide ``n``.
    """
    _check(q, k, v, gamma)
    _check_decay(decay)
    if decay == "alg1" and gamma != 1.0:
        return _hla_chunked_alg1(q, k, v, chunk=chunk, gamma=gamma, normalize=normalize, eps=eps, mm=mm)
    *batch, n, d = q.shape
    if chunk < 1 or n % chunk:
        raise ValueError(f"chunk must be a positive divisor of the sequence length {n}; got {chunk!r}")
    v = _augment(v, normalize)
    c, dt = chunk, q.dtype
    tau = torch.arange(1, c + 1, dtype=torch.float64)
    g = torch.as_tensor(gamma, dtype=torch.float64)
    D = decay_mask(c, gamma).to(dt)
    L = decay_mask(c, 1.0).to(dt)
    Ls = decay_mask(c, 1.0, strict=True).to(dt)
    X = (g ** tau[:, None] * D.double()).to(dt)
    head = (g ** (2 * tau))[:, None].to(dt)
    tail = (g ** (c - tau))[:, None].to(dt)                                   # g^(c - tau_i)
    E = (Ls.double() * (g ** (c - tau))[:, None] * (g ** (c - tau))[None, :]).to(dt)
    rho = float(g ** c)
    S = q.new_zeros(*batch, d, d)
    C = q.new_zeros(*batch, d, v.shape[-1])
    G = torch.zeros_like(C)
    out = []
    for s0 in range(0, n, c):
        Q, K, V = q[..., s0:s0 + c, :], k[..., s0:s0 + c, :], v[..., s0:s0 + c, :]
        Qt, Kt = Q.transpose(-1, -2), K.transpose(-1, -2)
        W = mm(Q, Kt, "chunk.QK")
        inter = mm(Q, mm(S, C, "chunk.SC") - G, "chunk.Q_state")
        QSQ = mm(mm(Q, S, "chunk.QS"), Qt, "chunk.QSQ")
        intra = mm(D * W, (L * W).transpose(-1, -2), "chunk.WWt")
        out.append(head * inter + mm(QSQ * X + intra * D, V, "chunk.PV"))
        # State update (uses the previous C in the cross term, as in the serial form).
        S_B = mm(Kt, tail * K, "chunk.KK")
        WT = mm(K, Qt, "chunk.KQ")
        G = rho * rho * G + mm(Kt, mm(WT * E, V, "chunk.KQV"), "chunk.G") + rho * mm(S_B, C, "chunk.SbC")
        S = rho * S + S_B
        C = rho * C + mm(Qt, tail * V, "chunk.QV")
    return _finish(torch.cat(out, -2), normalize, eps)


def _hla_chunked_alg1(q, k, v, *, chunk, gamma, normalize, eps, mm):
    """Chunk-parallel HLA with the paper's Algorithm 1 decay (see :func:`hla_chunked`)."""
    *batch, n, d = q.shape
    if chunk < 1 or n % chunk:
        raise ValueError(f"chunk must be a positive divisor of the sequence length {n}; got {chunk!r}")
    v = _augment(v, normalize)
    c, dt = chunk, q.dtype
    tau = torch.arange(1, c + 1, dtype=torch.float64)
    g = torch.as_tensor(gamma, dtype=torch.float64)
    D = decay_mask(c, gamma).to(dt)
    L = decay_mask(c, 1.0).to(dt)
    Ls = decay_mask(c, 1.0, strict=True).to(dt)
    D1 = (decay_mask(c, gamma, strict=True) / gamma).to(dt)
    X = (g ** tau[:, None] * D.double()).to(dt)
    M = (decay_mask(c, 1.0) * (g ** (2 * tau[:, None] - tau[None, :]) - g ** (tau[:, None] - 1))).to(dt)
    head2 = (g ** (2 * tau))[:, None].to(dt)
    head1 = (g ** tau)[:, None].to(dt)
    tail = (g ** (c - tau))[:, None].to(dt)                                   # g^(c - tau_i)
    E1 = (Ls.double() * (g ** (c - 1 - tau))[None, :]).to(dt)
    rho = float(g ** c)
    S = q.new_zeros(*batch, d, d)
    C = q.new_zeros(*batch, d, v.shape[-1])
    G = torch.zeros_like(C)
    out = []
    for s0 in range(0, n, c):
        Q, K, V = q[..., s0:s0 + c, :], k[..., s0:s0 + c, :], v[..., s0:s0 + c, :]
        Qt, Kt = Q.transpose(-1, -2), K.transpose(-1, -2)
        W = mm(Q, Kt, "chunk.QK")
        WT = W.transpose(-1, -2)
        inter = head2 * mm(Q, mm(S, C, "chunk.SC"), "chunk.Q_SC") - head1 * mm(Q, G, "chunk.QG")
        QSQ = mm(mm(Q, S, "chunk.QS"), Qt, "chunk.QSQ")
        cross = mm(W * M, mm(K, C, "chunk.KC"), "chunk.WKC")
        intra = D * mm(D * W, WT, "chunk.WWt") - D1 * mm(L * W, Ls * WT, "chunk.WWt_corr")
        out.append(inter + cross + mm(QSQ * X + intra, V, "chunk.PV"))
        # State update: Algorithm 1 unrolled over the chunk (uses the previous C).
        G = rho * G + (rho / gamma) * mm(mm(Kt, K, "chunk.KK_raw"), C, "chunk.KKC") \
            + mm(Kt, mm(WT * E1, V, "chunk.KQV"), "chunk.G")
        S = rho * S + mm(Kt, tail * K, "chunk.KK")
        C = rho * C + mm(Qt, tail * V, "chunk.QV")
    return _finish(torch.cat(out, -2), normalize, eps)


@dataclass
class HLAState:
    """Prefix summary of a segment for the scan: ``rho = gamma^len``, ``S, C, G``; for Algorithm 1's
    decay also the undecayed ``R = sum k k^T`` and ``gamma``."""

    rho: float
    S: torch.Tensor
    C: torch.Tensor
    G: torch.Tensor
    R: torch.Tensor | None = None
    gamma: float = 1.0
    decay: str = "consistent"

    def output(self, q_t: torch.Tensor) -> torch.Tensor:
        """``q_t^T (S C - G)`` for the last token of the segment."""
        return q_t @ (self.S @ self.C - self.G)


def hla_token_states(q, k, v, gamma: float = 1.0, decay: str = "alg1") -> list[HLAState]:
    """One state per token: ``(gamma, k k^T, q v^T, 0, R = k k^T)`` (a single token has ``G = 0``)."""
    _check_decay(decay)
    out = []
    for t in range(q.shape[-2]):
        kk = k[..., t, :, None] * k[..., t, None, :]
        qv = q[..., t, :, None] * v[..., t, None, :]
        out.append(HLAState(gamma, kk, qv, torch.zeros_like(qv), kk, gamma, decay))
    return out


def hla_combine(a: HLAState, b: HLAState) -> HLAState:
    """The masked semidirect product ``A (+) B`` (A first), eq. 4.1 with decay (``b.decay``):
    consistent: ``(rho_A rho_B, rho_B S_A + S_B, rho_B C_A + C_B, rho_B^2 G_A + G_B + rho_B S_B C_A)``;
    Algorithm 1: ``G_AB = rho_B G_A + G_B + (rho_B / gamma) R_B C_A``, ``R_AB = R_A + R_B``."""
    r = b.rho
    R = a.R + b.R if a.R is not None and b.R is not None else None
    if b.decay == "alg1":
        if b.R is None:
            raise ValueError("Algorithm 1's scan needs the undecayed R = sum k k^T in the state (hla_token_states)")
        G = r * a.G + b.G + (r / b.gamma) * (b.R @ a.C)
    else:
        G = r * r * a.G + b.G + r * (b.S @ a.C)
    return HLAState(a.rho * r, r * a.S + b.S, r * a.C + b.C, G, R, b.gamma, b.decay)


def _inclusive_scan(items, op):
    """Hillis-Steele inclusive scan: log2(n) rounds of ``x[i] = x[i - 2^r] (+) x[i]``.

    A parallel order very different from the left fold: equality with the serial form is a
    direct test of associativity.
    """
    xs = list(items)
    step = 1
    while step < len(xs):
        xs = [xs[i] if i < step else op(xs[i - step], xs[i]) for i in range(len(xs))]
        step *= 2
    return xs


def hla_scan(q, k, v, *, gamma: float = 1.0, decay: str = "alg1") -> torch.Tensor:
    """HLA outputs from a parallel (Hillis-Steele) scan of :func:`hla_combine` over token states."""
    _check(q, k, v, gamma)
    prefixes = _inclusive_scan(hla_token_states(q, k, v, gamma, decay), hla_combine)
    return torch.stack([p.output(q[..., t:t + 1, :])[..., 0, :] for t, p in enumerate(prefixes)], -2)


# --------------------------------------------------------------------------------------------
# AHLA (asymmetric), section 6
# --------------------------------------------------------------------------------------------
def ahla_dense(q, k, v, *, gamma: float = 1.0, normalize: bool = False, eps: float = 1e-6,
               mm: MatMul = exact_mm) -> torch.Tensor:
    """AHLA, O(n^2): ``((D o A)(D o A)) V`` with ``A = QK^T`` (eq. 6.1, decay of Algorithm 2)."""
    _check(q, k, v, gamma)
    D = decay_mask(q.shape[-2], gamma, dtype=q.dtype)
    A = D * mm(q, k.transpose(-1, -2), "dense.qk")
    return _finish(mm(A, mm(A, _augment(v, normalize), "dense.av"), "dense.aav"), normalize, eps)


def ahla_serial(q, k, v, *, gamma: float = 1.0, normalize: bool = False, eps: float = 1e-6,
                mm: MatMul = exact_mm) -> torch.Tensor:
    """Algorithm 2 (inclusive ``P_t``): ``P <- g P + k v^T``; ``r = q^T P``; ``E <- g E + k r``; ``o = q^T E``."""
    _check(q, k, v, gamma)
    v = _augment(v, normalize)
    *batch, n, d = q.shape
    P = q.new_zeros(*batch, d, v.shape[-1])
    E = torch.zeros_like(P)
    out = []
    for t in range(n):
        qt, kt, vt = q[..., t:t + 1, :], k[..., t:t + 1, :], v[..., t:t + 1, :]
        P = gamma * P + kt.transpose(-1, -2) * vt
        E = gamma * E + kt.transpose(-1, -2) * mm(qt, P, "serial.qP")
        out.append(mm(qt, E, "serial.qE"))
    return _finish(torch.cat(out, -2), normalize, eps)


def ahla_chunked(q, k, v, *, chunk: int = 64, gamma: float = 1.0, normalize: bool = False, eps: float = 1e-6,
                 mm: MatMul = exact_mm) -> torch.Tensor:
    """Chunk-parallel AHLA (reconstructed from eq. 6.2; ``A_g = D o (Q_B K_B^T)``)::

        O_B = diag(g^tau) [Q_B E_A + (L o Q_B K_B^T)(Q_B P_A)] + A_g (A_g V_B)
        E <- rho E_A + rho (K_B^T Q_B) P_A + K_B^T diag(g^(c-tau)) (A_g V_B)
        P <- rho P_A + K_B^T diag(g^(c-tau)) V_B
    """
    _check(q, k, v, gamma)
    *batch, n, d = q.shape
    if chunk < 1 or n % chunk:
        raise ValueError(f"chunk must be a positive divisor of the sequence length {n}; got {chunk!r}")
    v = _augment(v, normalize)
    c, dt = chunk, q.dtype
    tau = torch.arange(1, c + 1, dtype=torch.float64)
    g = torch.as_tensor(gamma, dtype=torch.float64)
    D = decay_mask(c, gamma).to(dt)
    L = decay_mask(c, 1.0).to(dt)
    head = (g ** tau)[:, None].to(dt)
    tail = (g ** (c - tau))[:, None].to(dt)
    rho = float(g ** c)
    P = q.new_zeros(*batch, d, v.shape[-1])
    E = torch.zeros_like(P)
    out = []
    for s0 in range(0, n, c):
        Q, K, V = q[..., s0:s0 + c, :], k[..., s0:s0 + c, :], v[..., s0:s0 + c, :]
        Kt = K.transpose(-1, -2)
        W = mm(Q, Kt, "chunk.QK")
        QP = mm(Q, P, "chunk.QP")
        AV = mm(D * W, V, "chunk.AV")
        out.append(head * (mm(Q, E, "chunk.QE") + mm(L * W, QP, "chunk.WQP")) + mm(D * W, AV, "chunk.AAV"))
        E = rho * E + rho * mm(mm(Kt, Q, "chunk.KQ"), P, "chunk.KQP") + mm(Kt, tail * AV, "chunk.E")
        P = rho * P + mm(Kt, tail * V, "chunk.KV")
    return _finish(torch.cat(out, -2), normalize, eps)


@dataclass
class AHLAState:
    """AHLA segment summary: ``rho``, ``R = sum k q^T`` (undecayed), ``P``, ``E`` (eq. 6.2)."""

    rho: float
    R: torch.Tensor
    P: torch.Tensor
    E: torch.Tensor

    def output(self, q_t):
        return q_t @ self.E


def ahla_token_states(q, k, v, gamma: float = 1.0) -> list[AHLAState]:
    """A single token: ``R = k q^T``, ``P = k v^T``, ``E = k (q^T k v^T)`` (inclusive ``P``)."""
    out = []
    for t in range(q.shape[-2]):
        kt, qt, vt = k[..., t, :, None], q[..., t, :, None], v[..., t, None, :]
        R = kt * qt.transpose(-1, -2)
        P = kt * vt
        out.append(AHLAState(gamma, R, P, R @ P))
    return out


def ahla_combine(a: AHLAState, b: AHLAState) -> AHLAState:
    """eq. 6.2 with decay: ``E_AB = rho_B E_A + E_B + rho_B R_B P_A``, ``P_AB = rho_B P_A + P_B``."""
    r = b.rho
    return AHLAState(a.rho * r, a.R + b.R, r * a.P + b.P, r * a.E + b.E + r * (b.R @ a.P))


def ahla_scan(q, k, v, *, gamma: float = 1.0) -> torch.Tensor:
    """AHLA outputs from a parallel scan of :func:`ahla_combine` over token states."""
    _check(q, k, v, gamma)
    prefixes = _inclusive_scan(ahla_token_states(q, k, v, gamma), ahla_combine)
    return torch.stack([p.output(q[..., t:t + 1, :])[..., 0, :] for t, p in enumerate(prefixes)], -2)
