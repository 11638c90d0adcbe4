#pragma once
// Layer 2, kernels/cpu: the contract every CPU kernel follows (the one place that states it).
//
// 1. One interface style: raw pointers + geometry. A kernel takes typed pointers to element 0 of
//    its operands plus a geometry that says how to walk them — a struct of sizes (Conv2dGeometry,
//    Pool2dGeometry, RowGeometry, BatchedGemmGeometry, …), plain sizes (rows, channels, n), or, for
//    the strided loops of loops.hpp, a Shape plus each operand's Strides (StridedPtr). Kernels never
//    take or return a Tensor, never allocate a tensor, never look at autograd.
//    Why this style rather than Tensor arguments:
//      - it is the interface a kernels/cuda sibling can implement unchanged (device pointers and the
//        same geometry structs), so ops/ needs no second dispatch path;
//      - ops/ owns every decision about a tensor — dtype dispatch, layout (contiguous copies, views),
//        allocation of outputs through the caching allocator — and the kernel owns only the loop,
//        so "which kernel ran on what memory" is readable at the call site;
//      - kernels are testable against each other (fast path vs reference) on plain buffers.
//    The Tensor → pointer step is one line at the call site (`t.data<T>()`, `t.strides()`).
// 2. Outputs are overwritten, never accumulated into, and do not alias inputs unless a header says so.
// 3. Threads: every kernel that parallelises goes through parallel_for (parallel.hpp) on the one
//    OpenMP pool, and is bit-identical run to run for a given thread count; reductions keep a fixed
//    partition (see parallel.hpp).
// 4. Errors: kernels that validate (geometry builders) throw ember::Error subclasses stating the
//    facts with their numbers; the calling op adds its own name and operand shapes.
//
// Headers: loops.hpp (strided elementwise loops, copies, reductions), index.hpp (gather/scatter),
// gemm.hpp, conv.hpp, pool.hpp, batch_norm.hpp, softmax.hpp, optim.hpp, unary_math.hpp,
// parallel.hpp.
#include "ember/kernels/cpu/parallel.hpp"
