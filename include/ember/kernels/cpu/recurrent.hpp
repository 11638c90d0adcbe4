#pragma once
// The time loop of SimpleRNN, LSTM and GRU (reset_after or not) over a whole sequence, forward and
// backward (backpropagation through time), for the default activations (tanh, and sigmoid for the
// gates). Per step: one GEMM with the recurrent kernel over all gates at once, then one fused
// elementwise pass (gate nonlinearities, state update, Keras's mask blend) — the reset-before GRU
// needs two of each, as its candidate's recurrent product (r∘h₋)·U_h waits for r. ops/recurrent.hpp
// computes the input projection of all steps (one GEMM) before the loop and its gradients after.
//
// Layouts (all dense row-major; N batch, T steps, U units, G gates = 1 / 4 / 3, S states = 1 / 2 / 1;
// "row (n, t)" is row n·T + t of an [N, T, ·] buffer, t the input time index):
//   z     [N, T, G·U]  in: the input projection x·W + b of each step; out: the activated gates
//                       (SimpleRNN: h_new; LSTM: i, f, c̃, o; GRUs: z, r, h̃)
//   rk    [U, G·U]     recurrent kernel; rec_bias [G·U] the reset-after GRU's recurrent bias (or null)
//   h0/c0 [N, U]       initial states (c0: LSTM only)
//   mask  [N, T]       0/1 per step (or null): a 0 step keeps the states and repeats the previous
//                       output (zeros with zero_output_for_mask), Keras's RNN semantics
//   hin/cin [N, T, U]  out: the states that entered the step of time t (cin: LSTM only)
//   aux   [N, T, U]    out: LSTM tanh(c_new); GRU u_h (h₋·U_h + b_rec,h); GRUResetBefore r∘h₋;
//                       unused (may be null) for SimpleRNN
//   out   [N, O + S, U] out: the outputs (O = T with return_sequences, in processing order, else 1:
//                       the last output), then the final states (h, then c for LSTM)
// Steps run in processing order t = 0..T−1, or T−1..0 with go_backwards.
// Threads: the batch rows are split across the pool (parallel_for), each thread running the whole
// sequence on its rows with single-threaded GEMMs — one parallel region per call, no barrier per
// step; backward's recurrent-kernel gradient is one parallel GEMM after the loop.
// Interface, determinism and errors follow kernels.hpp. Instantiated for float and double.
#include <cstdint>

namespace ember::kernels::cpu {

// GRU: Keras's reset_after=true (r applied after the recurrent product); GRUResetBefore: reset_after=false.
enum class RecurrentCell { SimpleRNN, LSTM, GRU, GRUResetBefore };

struct RecurrentGeometry {
  RecurrentCell cell = RecurrentCell::LSTM;
  int64_t batch = 0, steps = 0, units = 0;
  bool go_backwards = false;
  bool return_sequences = false;
  bool zero_output_for_mask = false;
  int64_t gates() const { return cell == RecurrentCell::LSTM ? 4 : cell == RecurrentCell::SimpleRNN ? 1 : 3; }
  int64_t states() const { return cell == RecurrentCell::LSTM ? 2 : 1; }
  int64_t outputs() const { return return_sequences ? steps : 1; }
};

// `scratch` [N, G·U]: the reset-after GRU's per-step recurrent product (null for the other cells).
template <typename T>
void recurrent_forward(const RecurrentGeometry& g, T* z, const T* rk, const T* rec_bias, const T* h0, const T* c0,
                       const T* mask, T* hin, T* cin, T* aux, T* out, T* scratch);

// From the forward's saved buffers and `gout` [N, O + S, U] (the gradient of `out`):
//   dz    [N, T, G·U] out: the gradient of the input projection (of z's input)
//   du    GRU: [N, T, G·U] out, the gradient of the recurrent product h₋·U + b_rec; GRUResetBefore:
//                       [N, U] scratch; null for SimpleRNN and LSTM (there it equals dz)
//   dh0, dc0 [N, U]    out: the initial states' gradients (dc0: LSTM only)
//   drk   [U, G·U]     out: the recurrent kernel's gradient, one GEMM over all steps
//   carry [N, U]       scratch
template <typename T>
void recurrent_backward(const RecurrentGeometry& g, const T* z, const T* rk, const T* mask, const T* hin, const T* cin,
                        const T* aux, const T* gout, T* dz, T* du, T* dh0, T* dc0, T* drk, T* carry);

}  // namespace ember::kernels::cpu
