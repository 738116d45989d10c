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
 * Only gates with an event on an input are visited: a bitmap of pending gates (index = the
 * topological order, so every reader of a net comes after its driver) is filled from the
 * fan-out lists of the nets that change and consumed lowest index first. Events are packed
 * as (time << 1) | value in one int64 pool per stream.
 *
 * Built by intfp.analysis.timed_build (scripts/setup.sh); integer only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PMAX 6

typedef struct {
    int64_t *e;                 /* (time << 1) | value */
    int64_t n, cap;
} pool_t;

static int pool_push(pool_t *p, int64_t t, int64_t v)
{
    if (p->n == p->cap) {
        int64_t cap = p->cap ? 2 * p->cap : 4096;
        int64_t *ne = (int64_t *)realloc(p->e, (size_t)cap * sizeof(int64_t));
        if (!ne) return -1;
        p->e = ne;
        p->cap = cap;
    }
    p->e[p->n++] = (t << 1) | v;
    return 0;
}

/* A net's events in the current stream: pool[first, first + n) if stamp == the stream. */
typedef struct {
    int64_t stamp;
    int32_t first, n;
} netev_t;

static inline void mark_fanout(uint64_t *act, const int64_t *fo_ptr, const int64_t *fo_gate,
                               int64_t net)
{
    for (int64_t k = fo_ptr[net]; k < fo_ptr[net + 1]; k++) {
        int64_t g = fo_gate[k];
        act[g >> 6] |= (uint64_t)1 << (g & 63);
    }
}

/* Returns the latest output-change time (>= 0); -1: gate *err_gate did not settle to its
 * zero-delay value; -2: out of memory; -3: a gate with more than PMAX pins.
 * gpins: (n_gates, pmax) row-major net ids (only the first gnp[g] used); gtab: truth tables;
 * fo_ptr (n_nets + 1), fo_gate: the gates reading each net (CSR); init, fin: (W, n_nets) packed
 * settled values (word-major) before / after the cycle; mask: (W,) streams counted;
 * toggles: (n_nets,) accumulated. */
int64_t timed_events(int64_t n_nets, int64_t n_gates, const int64_t *gout, const int64_t *gnp,
                     const int64_t *gpins, int64_t pmax, const uint64_t *gtab,
                     const int64_t *grise, const int64_t *gfall, const int64_t *src,
                     int64_t n_src, const int64_t *fo_ptr, const int64_t *fo_gate,
                     const uint64_t *init, const uint64_t *fin,
                     const uint64_t *mask, int64_t W, int64_t *toggles, int64_t *err_gate)
{
    int64_t settle = 0, ret = 0;
    const int64_t nw = (n_gates + 63) / 64;
    netev_t *ev = (netev_t *)malloc((size_t)(n_nets > 0 ? n_nets : 1) * sizeof(netev_t));
    uint64_t *act = (uint64_t *)calloc((size_t)(nw > 0 ? nw : 1), sizeof(uint64_t));
    int64_t rcap = 1024;
    int64_t *run_t = (int64_t *)malloc((size_t)rcap * sizeof(int64_t));
    uint8_t *run_f = (uint8_t *)malloc((size_t)rcap);
    pool_t pool = {0, 0, 0};
    if (!ev || !act || !run_t || !run_f) { ret = -2; goto done; }
    for (int64_t g = 0; g < n_gates; g++)
        if (gnp[g] > PMAX || gnp[g] > pmax) { *err_gate = g; ret = -3; goto done; }
    for (int64_t n = 0; n < n_nets; n++) ev[n].stamp = -1;

    for (int64_t s = 0; s < 64 * W; s++) {
        if (!((mask[s >> 6] >> (s & 63)) & 1u)) continue;
        const uint64_t *ini = init + (s >> 6) * n_nets, *fi = fin + (s >> 6) * n_nets;
        const int sh = (int)(s & 63);
        pool.n = 0;
        for (int64_t k = 0; k < n_src; k++) {
            int64_t n = src[k];
            int64_t b1 = (int64_t)((fi[n] >> sh) & 1u);
            if ((int64_t)((ini[n] >> sh) & 1u) != b1) {
                if (pool_push(&pool, 0, b1)) { ret = -2; goto done; }
                ev[n].stamp = s; ev[n].first = (int32_t)(pool.n - 1); ev[n].n = 1;
                toggles[n]++;
                mark_fanout(act, fo_ptr, fo_gate, n);
            }
        }
        for (int64_t wi = 0; wi < nw; wi++) {
            uint64_t a;
            while ((a = act[wi]) != 0) {
                const int64_t g = wi * 64 + __builtin_ctzll(a);
                act[wi] = a & (a - 1);
                const int64_t *pn = gpins + g * pmax;
                const int64_t np_ = gnp[g];
                int64_t pos[PMAX], end[PMAX], tot = 0;
                unsigned idx = 0;
                for (int64_t j = 0; j < np_; j++) {
                    const int64_t n = pn[j];
                    if (ev[n].stamp == s) {
                        pos[j] = ev[n].first; end[j] = pos[j] + ev[n].n; tot += ev[n].n;
                    } else {
                        pos[j] = end[j] = 0;
                    }
                    idx |= (unsigned)((ini[n] >> sh) & 1u) << j;
                }
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
                const uint8_t y0 = (uint8_t)((ini[o] >> sh) & 1u);
                uint8_t f = y0;
                int64_t nr = 0;
                const int64_t *pe = pool.e;
                if (np_ == 1) {                  /* one pin: its events in order */
                    for (int64_t i = pos[0]; i < end[0]; i++) {
                        uint8_t nf = (uint8_t)((tab >> (pe[i] & 1)) & 1u);
                        if (nf != f) { run_t[nr] = pe[i] >> 1; run_f[nr] = nf; nr++; f = nf; }
                    }
                } else {                         /* merge the pins' sorted event lists by time */
                    int64_t head[PMAX];          /* next event of each pin, INT64_MAX past the end */
                    for (int64_t j = 0; j < np_; j++)
                        head[j] = pos[j] < end[j] ? pe[pos[j]] : INT64_MAX;
                    for (;;) {
                        int64_t m = head[0];
                        for (int64_t j = 1; j < np_; j++) m = head[j] < m ? head[j] : m;
                        if (m == INT64_MAX) break;
                        const int64_t t = m >> 1;
                        for (int64_t j = 0; j < np_; j++)
                            while ((head[j] >> 1) == t) {
                                idx = (idx & ~(1u << j)) | ((unsigned)(head[j] & 1) << j);
                                pos[j]++;
                                head[j] = pos[j] < end[j] ? pe[pos[j]] : INT64_MAX;
                            }
                        uint8_t nf = (uint8_t)((tab >> idx) & 1u);
                        run_t[nr] = t; run_f[nr] = nf;
                        nr += nf != f;
                        f = nf;
                    }
                }
                if (f != (uint8_t)((fi[o] >> sh) & 1u)) { *err_gate = g; ret = -1; goto done; }
                uint8_t last = y0;
                const int64_t first = pool.n;
                for (int64_t i = 0; i < nr; i++) {
                    const int64_t d = run_f[i] ? grise[g] : gfall[g];
                    /* inertial: the run [run_t[i], run_t[i+1]) must last >= d (the last never ends) */
                    if (i + 1 < nr && run_t[i + 1] - run_t[i] < d) continue;
                    if (run_f[i] == last) continue;
                    last = run_f[i];
                    const int64_t te = run_t[i] + d;
                    if (pool_push(&pool, te, last)) { ret = -2; goto done; }
                    if (te > settle) settle = te;
                    toggles[o]++;
                }
                if (pool.n > first) {
                    ev[o].stamp = s; ev[o].first = (int32_t)first; ev[o].n = (int32_t)(pool.n - first);
                    mark_fanout(act, fo_ptr, fo_gate, o);
                }
            }
        }
    }
    ret = settle;
done:
    free(ev); free(act); free(run_t); free(run_f); free(pool.e);
    return ret;
}
