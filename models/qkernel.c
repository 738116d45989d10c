/* One-pass fake-quantization loops for intfp.models.qkernels (optional; see its docstring).
 *
 * Each function does, element by element and in the same order, exactly the float32 operations
 * of the torch kernel of the same name in qkernels.py (which the tests compare bit for bit with
 * the reference path), so the two back ends give the same bits. Build with
 * -ffp-contract=off and without -ffast-math: every rounding step here is meant. Per-row
 * constants come from Python (the scale logic stays in numpy, shared with the torch kernel).
 * Rows holding NaN / Inf get unspecified values: the caller overwrites them with NaN.
 */
#include <stdint.h>
#include <string.h>

#define F32_EXP 0x7F800000u
#define F32_ABS 0x7FFFFFFFu
#define F32_SIGN 0x80000000u

static inline float f_of(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static inline uint32_t b_of(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }

/* max |x| per row as bits (NaN above Inf above finite), as qkernels._amax */
void row_amax(const float *x, int64_t rows, int64_t k, int32_t *amax) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        uint32_t m = 0;
        for (int64_t j = 0; j < k; j++) {
            uint32_t a = b_of(xr[j]) & F32_ABS;
            m = a > m ? a : m;
        }
        amax[r] = (int32_t)m;
    }
}

/* _Job._fused, FP elements: |x| [min hi], c = max(bits & EXP, eminb), (t + a c) - a c, | sign */
void fused_fp(const float *x, float *out, int64_t rows, int64_t k, const float *hi,
              const int32_t *eminb, float alpha, int clamp) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        float *orow = out + r * k;
        const float h = hi[r];
        const int32_t em = eminb[r];
        for (int64_t j = 0; j < k; j++) {
            uint32_t xb = b_of(xr[j]);
            float t = f_of(xb & F32_ABS);
            if (clamp) t = t < h ? t : h;
            int32_t c = (int32_t)(b_of(t) & F32_EXP);
            c = c > em ? c : em;
            float ac = alpha * f_of((uint32_t)c);          /* exact: 1.5 * 2^n */
            float v = (t + ac) - ac;
            orow[j] = f_of(b_of(v) | (xb & F32_SIGN));
        }
    }
}

/* _Job._fused, INT elements: (x + m) - m, [min hi, max lo] */
void fused_int(const float *x, float *out, int64_t rows, int64_t k, const float *magic,
               const float *hi, const float *lo, int clamp) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        float *orow = out + r * k;
        const float m = magic[r], h = hi[r], l = lo[r];
        for (int64_t j = 0; j < k; j++) {
            float v = (xr[j] + m) - m;
            if (clamp) { v = v < h ? v : h; v = v > l ? v : l; }
            orow[j] = v;
        }
    }
}

/* _Job._scaled, FP elements: x * inv (or x / mul), clamp +-vmax, round_even_, * mul, | sign */
void scaled_fp(const float *x, float *out, int64_t rows, int64_t k, const float *inv,
               const float *mul, float vmax, int32_t emin_bits, float alpha) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        float *orow = out + r * k;
        const float s = mul[r], iv = inv ? inv[r] : 0.0f;
        for (int64_t j = 0; j < k; j++) {
            uint32_t xb = b_of(xr[j]);
            float v = inv ? xr[j] * iv : xr[j] / s;
            v = v > -vmax ? v : -vmax;
            v = v < vmax ? v : vmax;
            int32_t c = (int32_t)(b_of(v) & F32_EXP);
            c = c > emin_bits ? c : emin_bits;
            float ac = alpha * f_of((uint32_t)c);
            v = (v + ac) - ac;
            v = v * s;
            orow[j] = f_of(b_of(v) | (xb & F32_SIGN));
        }
    }
}

/* _Job._scaled, INT elements: x * inv (or x / mul), (v + m) - m, clamp [lo, hi], * mul */
void scaled_int(const float *x, float *out, int64_t rows, int64_t k, const float *inv,
                const float *mul, float lo, float hi, float magic) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        float *orow = out + r * k;
        const float s = mul[r], iv = inv ? inv[r] : 0.0f;
        for (int64_t j = 0; j < k; j++) {
            float v = inv ? xr[j] * iv : xr[j] / s;
            v = (v + magic) - magic;
            v = v > lo ? v : lo;
            v = v < hi ? v : hi;
            orow[j] = v * s;
        }
    }
}

/* qkernels._nv_scales: s_b = E4M3(clip(amax / max / t, 2^-6, 448)) (nearest even, on the bits:
 * s_b is normal in E4M3 and float32), inv = (1 / t) / s_b, mul = s_b * t */
void nv_scales(const float *amax, int64_t rows, float max, float t, float *inv, float *mul) {
    const float rt = 1.0f / t;
    for (int64_t r = 0; r < rows; r++) {
        float sb = amax[r] / max;
        sb = sb / t;
        sb = sb > 0x1p-6f ? sb : 0x1p-6f;
        sb = sb < 448.0f ? sb : 448.0f;
        uint32_t b = b_of(sb);
        b += 0x7FFFFu + ((b >> 20) & 1u);
        sb = f_of(b & ~0xFFFFFu);
        inv[r] = rt / sb;
        mul[r] = sb * t;
    }
}
