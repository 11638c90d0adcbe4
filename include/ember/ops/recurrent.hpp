#pragma once
// A whole SimpleRNN / LSTM / GRU sequence as one op with one autograd node (the fast path of the
// recurrent layers, nn/layers/recurrent.hpp, for their default activations: tanh, and sigmoid for
// the gates). Forward: the input projection of all steps as one GEMM, then per step one GEMM with
// the recurrent kernel over all gates and one fused elementwise pass. Backward (BPTT): per step one
// fused pass and one GEMM through the recurrent kernel; the kernels' gradients as one GEMM each
// over all steps. The step equations, weight layouts and gate orders are Keras's (recurrent.hpp);
// GRU is Keras's reset_after=true GRU, GRUResetBefore its reset_after=false one.
//
//   x                 [N, T, F]
//   kernel            [F, G·U]    (G = 1 SimpleRNN, 4 LSTM, 3 GRUs)
//   recurrent_kernel  [U, G·U]
//   bias              [G·U], GRU [2, G·U] (input bias, recurrent bias); undefined: no bias
//   initial_states    {h0} or {h0, c0} (LSTM), each [N, U]; empty: zeros
//   mask              [N, T] of 0/1 or bool (undefined: every step counts): a 0 step keeps the states
//                     and repeats the previous output (zeros with zero_output_for_mask) — Keras's
//                     RNN mask semantics. Not differentiated.
// Returns one tensor [N, O + S, U]: the outputs (O = T with return_sequences, in processing order,
// else O = 1: the last output), then the final states (h; LSTM: h, c). Slice it (nn does) to get
// Keras's (output, states). x and the weights share one floating dtype (DTypeError); shapes that
// do not fit are a ShapeError naming the op and the operands' shapes.
#include <cstdint>
#include <vector>

#include "ember/core/tensor.hpp"

namespace ember {

enum class RecurrentCellKind { SimpleRNN, LSTM, GRU, GRUResetBefore };

struct RecurrentSequenceOptions {
  RecurrentCellKind cell = RecurrentCellKind::LSTM;
  bool go_backwards = false;          // process the last step first
  bool return_sequences = false;      // every step's output, else the last one only
  bool zero_output_for_mask = false;  // masked steps output zeros instead of repeating
};

Tensor recurrent_sequence(const Tensor& x, const Tensor& kernel, const Tensor& recurrent_kernel, const Tensor& bias,
                          const std::vector<Tensor>& initial_states, const Tensor& mask, RecurrentSequenceOptions opt);

// How many times recurrent_sequence has run in this process (all threads): tests use it to check
// that a layer takes this path.
uint64_t recurrent_sequence_calls();

}  // namespace ember
