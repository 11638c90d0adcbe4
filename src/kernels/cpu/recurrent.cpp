// Whole-sequence SimpleRNN / LSTM / GRU loops (recurrent.hpp): per step one GEMM over all gates and
// one fused pass over the batch rows. Backward keeps every step's pre-activation gradient, so the
// recurrent kernel's gradient is one GEMM over all steps at the end (hinᵀ · dz).
#include "ember/kernels/cpu/recurrent.hpp"

#include <cmath>
#include <type_traits>

#include "ember/kernels/cpu/gemm.hpp"
#include "ember/kernels/cpu/parallel.hpp"
#include "vec_math.hpp"

namespace ember::kernels::cpu {

namespace {

// In-place activations over n contiguous values: 8 lanes at a time for float (vec_math.hpp, the same
// functions as ember::sigmoid / tanh on float32), <cmath> for double.
template <typename T>
void sigmoid_inplace(T* p, int64_t n) {
  int64_t i = 0;
  if constexpr (std::is_same_v<T, float>) {
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(p + i, vec::sigmoid8(_mm256_loadu_ps(p + i)));
    for (; i < n; ++i) p[i] = vec::sigmoid1(p[i]);
  } else {
    for (; i < n; ++i) p[i] = p[i] >= 0 ? 1 / (1 + std::exp(-p[i])) : std::exp(p[i]) / (1 + std::exp(p[i]));
  }
}
template <typename T>
void tanh_inplace(T* p, int64_t n) {
  int64_t i = 0;
  if constexpr (std::is_same_v<T, float>) {
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(p + i, vec::tanh8(_mm256_loadu_ps(p + i)));
    for (; i < n; ++i) p[i] = vec::tanh1(p[i]);
  } else {
    for (; i < n; ++i) p[i] = std::tanh(p[i]);
  }
}

// dst = src, or zeros for a null src. Loops test their optional operands outside the loop: a
// vectorised `p ? p[j] : 0` becomes a masked load from the null address, which the CPU serves through
// a slow microcode assist on every iteration (measured: most of the backward pass).
template <typename T>
void copy_row(T* dst, const T* src, int64_t n) {
  if (dst == src) return;
  if (src) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) dst[j] = src[j];
  } else {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) dst[j] = T(0);
  }
}

// Batch rows per thread. The rows of a batch are independent, so each thread runs the whole
// sequence on its own range of rows with single-threaded GEMMs (parallel_for does not nest, and
// oneDNN's sgemm runs on the calling thread inside a parallel region): one parallel region per call
// instead of two or more per step. A per-step barrier costs a few µs on an idle machine and a
// scheduler time slice on a loaded one, each time a thread waits for a descheduled peer. A row's
// work is its recurrent products, T·U·G·U multiply-adds.
int64_t sequence_grain(int64_t steps, int64_t units, int64_t gate_units) {
  return grain_for(steps * units * gate_units);
}

}  // namespace

template <typename T>
void recurrent_forward(const RecurrentGeometry& g, T* z, const T* rk, const T* rec_bias, const T* h0, const T* c0,
                       const T* mask, T* hin, T* cin, T* aux, T* out, T* scratch) {
  const int64_t N = g.batch, TT = g.steps, U = g.units, GU = g.gates() * U, O = g.outputs();
  const int64_t orow = (O + g.states()) * U;  // out's row stride per batch entry
  const bool lstm = g.cell == RecurrentCell::LSTM, gru = g.cell == RecurrentCell::GRU;
  const bool gru_rb = g.cell == RecurrentCell::GRUResetBefore;
  if (N == 0 || TT == 0 || U == 0) return;
  const int64_t first = g.go_backwards ? TT - 1 : 0;
  parallel_for(0, N, sequence_grain(TT, U, GU), [&](int64_t n0, int64_t n1) {
    const int64_t M = n1 - n0;
    T* const hin0 = hin + n0 * TT * U;  // this range's first row of hin, z, aux, scratch
    T* const z0 = z + n0 * TT * GU;
    T* const aux0 = aux ? aux + n0 * TT * U : nullptr;
    T* const scratch0 = scratch ? scratch + n0 * GU : nullptr;
    for (int64_t n = n0; n < n1; ++n) {
      copy_row(hin + (n * TT + first) * U, h0 + n * U, U);
      if (lstm) copy_row(cin + (n * TT + first) * U, c0 + n * U, U);
      copy_row(out + n * orow, static_cast<const T*>(nullptr), O * U);  // "the previous output" of step 0: zeros
    }
    for (int64_t k = 0; k < TT; ++k) {
      const int64_t t = g.go_backwards ? TT - 1 - k : k, tn = g.go_backwards ? t - 1 : t + 1;
      const bool last = k == TT - 1;
      // The recurrent product of all gates at once; added onto the input projection except for the
      // GRU, whose candidate needs its recurrent part apart (r ∘ u_h).
      if (gru) {
        gemm(false, false, M, GU, U, T(1), hin0 + t * U, TT * U, rk, GU, T(0), scratch0, GU);
      } else if (gru_rb) {
        // z and r first; then the candidate's product (r∘h₋)·U_h, with r∘h₋ kept in aux.
        gemm(false, false, M, 2 * U, U, T(1), hin0 + t * U, TT * U, rk, GU, T(1), z0 + t * GU, TT * GU);
        for (int64_t n = n0; n < n1; ++n) {
          const int64_t r = n * TT + t;
          T* zr = z + r * GU;
          const T* hp = hin + r * U;
          T* rh = aux + r * U;
          sigmoid_inplace(zr, 2 * U);
#pragma omp simd
          for (int64_t j = 0; j < U; ++j) rh[j] = zr[U + j] * hp[j];
        }
        gemm(false, false, M, U, U, T(1), aux0 + t * U, TT * U, rk + 2 * U, GU, T(1), z0 + t * GU + 2 * U, TT * GU);
      } else {
        gemm(false, false, M, GU, U, T(1), hin0 + t * U, TT * U, rk, GU, T(1), z0 + t * GU, TT * GU);
      }
      for (int64_t n = n0; n < n1; ++n) {
        const int64_t r = n * TT + t;
        T* zr = z + r * GU;
        const T* hp = hin + r * U;
        T* hnext = last ? out + n * orow + O * U : hin + (n * TT + tn) * U;
        T* o = out + n * orow + (g.return_sequences ? k * U : 0);
        const T* prev_o = g.return_sequences ? (k > 0 ? o - U : nullptr) : o;  // last output so far
        const bool keep = !mask || mask[r] != T(0);
        if (lstm) {
          const T* cp = cin + r * U;
          T* cnext = last ? out + n * orow + (O + 1) * U : cin + (n * TT + tn) * U;
          T* tc = aux + r * U;
          sigmoid_inplace(zr, 2 * U);
          tanh_inplace(zr + 2 * U, U);
          sigmoid_inplace(zr + 3 * U, U);
#pragma omp simd
          for (int64_t j = 0; j < U; ++j) tc[j] = zr[U + j] * cp[j] + zr[j] * zr[2 * U + j];
          copy_row(cnext, keep ? tc : cp, U);
          tanh_inplace(tc, U);
          if (keep) {
#pragma omp simd
            for (int64_t j = 0; j < U; ++j) hnext[j] = zr[3 * U + j] * tc[j];
          }
        } else if (gru_rb) {
          tanh_inplace(zr + 2 * U, U);
          if (keep) {
#pragma omp simd
            for (int64_t j = 0; j < U; ++j) hnext[j] = zr[j] * hp[j] + (T(1) - zr[j]) * zr[2 * U + j];
          }
        } else if (gru) {
          const T* u = scratch + n * GU;
          T* uh = aux + r * U;
          copy_row(uh, u + 2 * U, U);
#pragma omp simd
          for (int64_t j = 0; j < 2 * U; ++j) zr[j] += u[j];
          if (rec_bias) {
#pragma omp simd
            for (int64_t j = 0; j < 2 * U; ++j) zr[j] += rec_bias[j];
#pragma omp simd
            for (int64_t j = 0; j < U; ++j) uh[j] += rec_bias[2 * U + j];
          }
          sigmoid_inplace(zr, 2 * U);
#pragma omp simd
          for (int64_t j = 0; j < U; ++j) zr[2 * U + j] += zr[U + j] * uh[j];
          tanh_inplace(zr + 2 * U, U);
          if (keep) {
#pragma omp simd
            for (int64_t j = 0; j < U; ++j) hnext[j] = zr[j] * hp[j] + (T(1) - zr[j]) * zr[2 * U + j];
          }
        } else {
          tanh_inplace(zr, U);
          if (keep) copy_row(hnext, zr, U);
        }
        if (keep) {
          copy_row(o, hnext, U);
        } else {
          copy_row(hnext, hp, U);
          copy_row(o, g.zero_output_for_mask ? nullptr : prev_o, U);
        }
      }
    }
  });
}

template <typename T>
void recurrent_backward(const RecurrentGeometry& g, const T* z, const T* rk, const T* mask, const T* hin, const T* cin,
                        const T* aux, const T* gout, T* dz, T* du, T* dh, T* dc, T* drk, T* carry) {
  const int64_t N = g.batch, TT = g.steps, U = g.units, GU = g.gates() * U, O = g.outputs();
  const int64_t orow = (O + g.states()) * U;
  const bool lstm = g.cell == RecurrentCell::LSTM, gru = g.cell == RecurrentCell::GRU;
  const bool gru_rb = g.cell == RecurrentCell::GRUResetBefore;
  if (N == 0 || TT == 0 || U == 0) {  // no step ran: the recurrent kernel's gradient is zero
    for (int64_t i = 0; i < U * GU; ++i) drk[i] = T(0);
    return;
  }
  T* dpre = gru ? du : dz;  // the gradient of the recurrent product, what flows through rkᵀ
  // dh, dc: the gradients of the states after the step being undone; carry: of the output after it,
  // from later outputs that repeated it (masked steps).
  // As forward: each thread undoes the whole sequence on its own rows; dz (and du) rows are this
  // range's, so the per-step GEMMs stay within it.
  parallel_for(0, N, sequence_grain(TT, U, GU), [&](int64_t n0, int64_t n1) {
    const int64_t M = n1 - n0;
    T* const dz0 = dz + n0 * TT * GU;
    T* const dpre0 = dpre + n0 * TT * GU;
    T* const dh0 = dh + n0 * U;
    T* const du_scratch = gru_rb ? du + n0 * U : nullptr;  // GRUResetBefore: d(r∘h₋) of this range
    for (int64_t n = n0; n < n1; ++n) {
      const T* go = gout + n * orow;
      copy_row(dh + n * U, go + O * U, U);
      if (lstm) copy_row(dc + n * U, go + (O + 1) * U, U);
      copy_row(carry + n * U, g.return_sequences ? nullptr : go, U);
    }
    for (int64_t k = TT - 1; k >= 0; --k) {
      const int64_t t = g.go_backwards ? TT - 1 - k : k;
      for (int64_t n = n0; n < n1; ++n) {
        const int64_t r = n * TT + t;
        const T* a = z + r * GU;
        T* d = dz + r * GU;
        T* dhr = dh + n * U;
        T* cr = carry + n * U;
        const T* go = g.return_sequences ? gout + n * orow + k * U : nullptr;
        const T keep = !mask || mask[r] != T(0) ? T(1) : T(0);
        const T pass = T(1) - keep;                               // a masked step passes gradients through
        const T carry_on = g.zero_output_for_mask ? T(0) : pass;  // a repeated output carries its gradient back
        if (go) {                                                 // cr becomes the whole gradient of this step's output
#pragma omp simd
          for (int64_t j = 0; j < U; ++j) cr[j] += go[j];
        }
        if (lstm) {
          const T* tc = aux + r * U;
          const T* cp = cin + r * U;
          T* dcr = dc + n * U;
#pragma omp simd
          for (int64_t j = 0; j < U; ++j) {
            const T dout = cr[j];
            const T dhn = keep * (dhr[j] + dout);
            cr[j] = carry_on * dout;
            const T i = a[j], f = a[U + j], gg = a[2 * U + j], o = a[3 * U + j];
            const T dcn = keep * dcr[j] + dhn * o * (T(1) - tc[j] * tc[j]);
            d[j] = dcn * gg * i * (T(1) - i);
            d[U + j] = dcn * cp[j] * f * (T(1) - f);
            d[2 * U + j] = dcn * i * (T(1) - gg * gg);
            d[3 * U + j] = dhn * tc[j] * o * (T(1) - o);
            dcr[j] = pass * dcr[j] + dcn * f;
            dhr[j] = pass * dhr[j];
          }
        } else if (gru_rb) {  // d r waits for the candidate's product (below)
          const T* hp = hin + r * U;
#pragma omp simd
          for (int64_t j = 0; j < U; ++j) {
            const T dout = cr[j];
            const T dhn = keep * (dhr[j] + dout);
            cr[j] = carry_on * dout;
            const T zg = a[j], hh = a[2 * U + j];
            d[j] = dhn * (hp[j] - hh) * zg * (T(1) - zg);
            d[2 * U + j] = dhn * (T(1) - zg) * (T(1) - hh * hh);
            dhr[j] = pass * dhr[j] + dhn * zg;
          }
        } else if (gru) {
          const T* uh = aux + r * U;
          const T* hp = hin + r * U;
          T* dur = du + r * GU;
#pragma omp simd
          for (int64_t j = 0; j < U; ++j) {
            const T dout = cr[j];
            const T dhn = keep * (dhr[j] + dout);
            cr[j] = carry_on * dout;
            const T zg = a[j], rg = a[U + j], hh = a[2 * U + j];
            const T dph = dhn * (T(1) - zg) * (T(1) - hh * hh);
            d[j] = dhn * (hp[j] - hh) * zg * (T(1) - zg);
            d[U + j] = dph * uh[j] * rg * (T(1) - rg);
            d[2 * U + j] = dph;
            dur[j] = d[j];
            dur[U + j] = d[U + j];
            dur[2 * U + j] = dph * rg;
            dhr[j] = pass * dhr[j] + dhn * zg;
          }
        } else {
#pragma omp simd
          for (int64_t j = 0; j < U; ++j) {
            const T dout = cr[j];
            const T dhn = keep * (dhr[j] + dout);
            cr[j] = carry_on * dout;
            d[j] = dhn * (T(1) - a[j] * a[j]);
            dhr[j] = pass * dhr[j];
          }
        }
      }
      if (gru_rb) {
        // d(r∘h₋) = dh̃_pre · U_hᵀ (into du, [N, U]); then r's gradient and the h₋ path through r∘h₋,
        // and h₋'s path through z and r's products.
        gemm(false, true, M, U, U, T(1), dz0 + t * GU + 2 * U, TT * GU, rk + 2 * U, GU, T(0), du_scratch, U);
        for (int64_t n = n0; n < n1; ++n) {
          const int64_t r = n * TT + t;
          const T* a = z + r * GU;
          const T* hp = hin + r * U;
          const T* drh = du_scratch + (n - n0) * U;
          T* d = dz + r * GU;
          T* dhr = dh + n * U;
#pragma omp simd
          for (int64_t j = 0; j < U; ++j) {
            const T rg = a[U + j];
            d[U + j] = drh[j] * hp[j] * rg * (T(1) - rg);
            dhr[j] += drh[j] * rg;
          }
        }
        gemm(false, true, M, U, 2 * U, T(1), dz0 + t * GU, TT * GU, rk, GU, T(1), dh0, U);
      } else {
        gemm(false, true, M, U, GU, T(1), dpre0 + t * GU, TT * GU, rk, GU, T(1), dh0, U);
      }
    }
  });
  if (gru_rb) {  // [h₋ᵀ·dz_zr | (r∘h₋)ᵀ·dz_h]
    gemm(true, false, U, 2 * U, N * TT, T(1), hin, U, dz, GU, T(0), drk, GU);
    gemm(true, false, U, U, N * TT, T(1), aux, U, dz + 2 * U, GU, T(0), drk + 2 * U, GU);
  } else {
    gemm(true, false, U, GU, N * TT, T(1), hin, U, dpre, GU, T(0), drk, GU);
  }
}

#define EMBER_RECURRENT_INSTANTIATE(T)                                                                               \
  template void recurrent_forward<T>(const RecurrentGeometry&, T*, const T*, const T*, const T*, const T*, const T*, \
                                     T*, T*, T*, T*, T*);                                                            \
  template void recurrent_backward<T>(const RecurrentGeometry&, const T*, const T*, const T*, const T*, const T*,    \
                                      const T*, const T*, T*, T*, T*, T*, T*, T*);
EMBER_RECURRENT_INSTANTIATE(float)
EMBER_RECURRENT_INSTANTIATE(double)
#undef EMBER_RECURRENT_INSTANTIATE

}  // namespace ember::kernels::cpu
