/* Per-stream event loop of intfp's timed netlist simulation (analysis/netlist.py,
 * Netlist.simulate_timed, engine "events"): the same semantics as the numpy event engine
 * (Netlist._timed_chunk_events), one stream at a time, gates in topological order.
 *
 * For one (cycle, stream): the primary inputs and flop outputs change at time 0 to their settled
 * values; each gate merges the events of its input nets by time, evaluates its cell function
 * (a truth table over <= 6 pins, bit (sum_j v_j << j)) after all events at each time, splits the
 * function's values into runs, and a run reaches the output iff it lasts at least the cell's
 * delay for its value (Verilog inertial delay, IEEE 1364-2005 6.1.3; rise delay for a 1, fall
 * for a 0), at start + delay; the output changes where a surviving run differs from the value
 * before it. Every output change is counted on its net. The last function value must equal
 * the zero-delay settled value (else an internal error, reported by gate).
 *
 * Built by intfp.analysis.timed_build (scripts/setup.sh); integer only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t *t;
    uint8_t *v;
    int64_t n, cap;
} pool_t;

static int pool_push(pool_t *p, int64_t t, uint8_t v)
{
    if (p->n == p->cap) {
        int64_t cap = p->cap ? 2 * p->cap : 4096;
        int64_t *nt = (int64_t *)realloc(p->t, (size_t)cap * sizeof(int64_t));
        if (!nt) return -1;
        p->t = nt;
        uint8_t *nv = (uint8_t *)realloc(p->v, (size_t)cap);
        if (!nv) return -1;
        p->v = nv;
        p->cap = cap;
    }
    p->t[p->n] = t;
    p->v[p->n] = v;
    p->n++;
    return 0;
}

/* Packed values are word-major, (W, n_nets): the nets of one 64-stream word are contiguous, so
 * the sweep over all nets for one stream stays in cache (stride: n_nets). */
static inline uint8_t bit_of(const uint64_t *w, int64_t stride, int64_t net, int64_t s)
{
    return (uint8_t)((w[(s >> 6) * stride + net] >> (s & 63)) & 1u);
}

#define PMAX 6

/* Returns the latest output-change time (>= 0); -1: gate *err_gate did not settle to its
 * zero-delay value; -2: out of memory; -3: a gate with more than PMAX pins.
 * gpins: (n_gates, pmax) row-major net ids (only the first gnp[g] used); gtab: truth tables;
 * init, fin: (W, n_nets) packed settled values (word-major) before / after the cycle; mask: (W,) streams
 * counted; toggles: (n_nets,) accumulated. */
int64_t timed_events(int64_t n_nets, int64_t n_gates, const int64_t *gout, const int64_t *gnp,
                     const int64_t *gpins, int64_t pmax, const uint64_t *gtab,
                     const int64_t *grise, const int64_t *gfall, const int64_t *src,
                     int64_t n_src, const uint64_t *init, const uint64_t *fin,
                     const uint64_t *mask, int64_t W, int64_t *toggles, int64_t *err_gate)
{
    int64_t settle = 0, ret = 0;
    int64_t *stamp = (int64_t *)malloc((size_t)(n_nets > 0 ? n_nets : 1) * sizeof(int64_t));
    int64_t *evs = (int64_t *)malloc((size_t)(n_nets > 0 ? n_nets : 1) * sizeof(int64_t));
    int64_t *evn = (int64_t *)malloc((size_t)(n_nets > 0 ? n_nets : 1) * sizeof(int64_t));
    int64_t rcap = 1024;
    int64_t *run_t = (int64_t *)malloc((size_t)rcap * sizeof(int64_t));
    uint8_t *run_f = (uint8_t *)malloc((size_t)rcap);
    pool_t pool = {0, 0, 0, 0};
    if (!stamp || !evs || !evn || !run_t || !run_f) { ret = -2; goto done; }
    for (int64_t g = 0; g < n_gates; g++)
        if (gnp[g] > PMAX || gnp[g] > pmax) { *err_gate = g; ret = -3; goto done; }
    for (int64_t n = 0; n < n_nets; n++) stamp[n] = -1;

    for (int64_t s = 0; s < 64 * W; s++) {
        if (!((mask[s >> 6] >> (s & 63)) & 1u)) continue;
        pool.n = 0;
        for (int64_t k = 0; k < n_src; k++) {
            int64_t n = src[k];
            uint8_t b1 = bit_of(fin, n_nets, n, s);
            if (bit_of(init, n_nets, n, s) != b1) {
                if (pool_push(&pool, 0, b1)) { ret = -2; goto done; }
                stamp[n] = s; evs[n] = pool.n - 1; evn[n] = 1;
                toggles[n]++;
            }
        }
        for (int64_t g = 0; g < n_gates; g++) {
            const int64_t *pn = gpins + g * pmax;
            int64_t np_ = gnp[g];
            int64_t pos[PMAX], end[PMAX], tot = 0;
            int any = 0;
            unsigned idx = 0;
            for (int64_t j = 0; j < np_; j++) {
                int64_t n = pn[j];
                if (stamp[n] == s) {
                    pos[j] = evs[n]; end[j] = evs[n] + evn[n]; tot += evn[n]; any = 1;
                } else {
                    pos[j] = end[j] = 0;
                }
                idx |= (unsigned)bit_of(init, n_nets, n, s) << j;
            }
            if (!any) continue;
            if (tot + 1 > rcap) {
                while (tot + 1 > rcap) rcap *= 2;
                int64_t *nt = (int64_t *)realloc(run_t, (size_t)rcap * sizeof(int64_t));
                if (!nt) { ret = -2; goto done; }
                run_t = nt;
                uint8_t *nf = (uint8_t *)realloc(run_f, (size_t)rcap);
                if (!nf) { ret = -2; goto done; }
                run_f = nf;
            }
            const uint64_t tab = gtab[g];
            const int64_t o = gout[g];
            const uint8_t y0 = bit_of(init, n_nets, o, s);
            uint8_t f = y0;
            int64_t nr = 0;
            for (;;) {                       /* merge the pins' sorted event lists by time */
                int64_t t = INT64_MAX;
                for (int64_t j = 0; j < np_; j++)
                    if (pos[j] < end[j] && pool.t[pos[j]] < t) t = pool.t[pos[j]];
                if (t == INT64_MAX) break;
                for (int64_t j = 0; j < np_; j++)
                    while (pos[j] < end[j] && pool.t[pos[j]] == t) {
                        idx = (idx & ~(1u << j)) | ((unsigned)(pool.v[pos[j]] & 1u) << j);
                        pos[j]++;
                    }
                uint8_t nf = (uint8_t)((tab >> idx) & 1u);
                if (nf != f) { run_t[nr] = t; run_f[nr] = nf; nr++; f = nf; }
            }
            if (f != bit_of(fin, n_nets, o, s)) { *err_gate = g; ret = -1; goto done; }
            uint8_t last = y0;
            int64_t first = pool.n;
            for (int64_t i = 0; i < nr; i++) {
                int64_t d = run_f[i] ? grise[g] : gfall[g];
                /* inertial: the run [run_t[i], run_t[i+1]) must last >= d (the last one never ends) */
                if (i + 1 < nr && run_t[i + 1] - run_t[i] < d) continue;
                if (run_f[i] == last) continue;
                last = run_f[i];
                int64_t te = run_t[i] + d;
                if (pool_push(&pool, te, last)) { ret = -2; goto done; }
                if (te > settle) settle = te;
                toggles[o]++;
            }
            if (pool.n > first) { stamp[o] = s; evs[o] = first; evn[o] = pool.n - first; }
        }
    }
    ret = settle;
done:
    free(stamp); free(evs); free(evn); free(run_t); free(run_f); free(pool.t); free(pool.v);
    return ret;
}
