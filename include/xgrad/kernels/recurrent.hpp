// The elementwise part of one recurrent step, fused: the gate nonlinearities and the state update of an
// RNN (tanh or relu), LSTM or GRU cell over a batch of rows in one pass, and its backward, each beside the
// plain loop the tests hold it against.  The matrix products around a step are GEMMs (ops/recurrent.hpp).
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "../parallel.hpp"
#include "map.hpp"
#include "simd.hpp"

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_BEGIN

namespace xgrad::kernels
{
    enum class RecurrentCell
    {
        rnn_tanh,   // h = tanh(a)
        rnn_relu,   // h = relu(a)
        lstm,       // gates i, f, g, o
        gru         // gates r, z, n
    };

    // Gates per hidden unit: the rows of W_ih and W_hh are this many times the hidden size.
    constexpr std::size_t gate_count(RecurrentCell cell)
    {
        return cell == RecurrentCell::lstm ? 4 : cell == RecurrentCell::gru ? 3 : 1;
    }

    // What a step keeps per hidden unit for its backward: the activated gates (the GRU also keeps W_hn h + b_hn,
    // which its reset gate multiplies; an RNN keeps its output).
    constexpr std::size_t saved_count(RecurrentCell cell)
    {
        return cell == RecurrentCell::lstm || cell == RecurrentCell::gru ? 4 : 1;
    }

    // One step of `rows` sequences with `hidden` units; G = gate_count, rows are contiguous.
    //   input_gates   (rows, G·H)  x W_ih^T + b_ih
    //   hidden_gates  (rows, G·H)  h_prev W_hh^T + b_hh
    //   hidden_prev   (rows, H)    read by the GRU
    //   cell_prev     (rows, H)    LSTM only
    //   saved         (rows, saved_count·H)   written: what the backward reads
    //   hidden        (rows, H)    written: h
    //   cell          (rows, H)    written, LSTM only: c
    template <class T>
    struct RecurrentStep
    {
        const T* input_gates;
        const T* hidden_gates;
        const T* hidden_prev;
        const T* cell_prev;
        T* saved;
        T* hidden;
        T* cell;
    };

    // The backward of one step.
    //   saved, hidden_prev, cell_prev   as the forward step had them;  cell (rows, H): the step's c (LSTM)
    //   dhidden (rows, H)   dL/dh, everything that reaches h;   dcell (rows, H)   dL/dc (LSTM)
    //   d_input_gates  (rows, G·H)  written: dL/d(x W_ih^T + b_ih)
    //   d_hidden_gates (rows, G·H)  written, GRU only: dL/d(h_prev W_hh^T + b_hh) (the same array for the others)
    //   dhidden_prev   (rows, H)    written, GRU only: the part of dL/dh_prev that does not pass through W_hh
    //   dcell_prev     (rows, H)    written, LSTM only: dL/dc_prev
    template <class T>
    struct RecurrentStepGrad
    {
        const T* saved;
        const T* hidden_prev;
        const T* cell_prev;
        const T* cell;
        const T* dhidden;
        const T* dcell;
        T* d_input_gates;
        T* d_hidden_gates;
        T* dhidden_prev;
        T* dcell_prev;
    };

    namespace detail
    {
        // Loads and stores of a SIMD batch or, for the scalar tail, of one T: the step bodies below are
        // written once for both.
        template <class V, class T>
        V load_lanes(const T* p)
        {
            if constexpr (std::is_same<V, T>::value)
                return *p;
            else
                return V::load_unaligned(p);
        }
        template <class V, class T>
        void store_lanes(const V& value, T* p)
        {
            if constexpr (std::is_same<V, T>::value)
                *p = value;
            else
                value.store_unaligned(p);
        }

        // 1 / (1 + exp(-v)) as (v >= 0 ? 1 : e) / (1 + e) with e = exp(-|v|): exp never overflows.
        template <class V>
        V stable_sigmoid(const V& v)
        {
            const V zero(0), one(1);
            const V e = xsimd::exp(-xsimd::abs(v));
            return detail::select(v >= zero, one, e) / (one + e);
        }

        // The forward of units [j, j + width of V) of one row; `at` offsets are row-relative.
        template <class V, class T>
        void step_forward_lanes(RecurrentCell cell, const RecurrentStep<T>& s, std::size_t row, std::size_t hidden,
                                std::size_t j)
        {
            const std::size_t gates = gate_count(cell) * hidden, saved = saved_count(cell) * hidden;
            const T* in = s.input_gates + row * gates + j;
            const T* hh = s.hidden_gates + row * gates + j;
            T* keep = s.saved + row * saved + j;
            T* h = s.hidden + row * hidden + j;
            const auto gate = [&](std::size_t k) { return load_lanes<V>(in + k * hidden) + load_lanes<V>(hh + k * hidden); };
            switch (cell)
            {
            case RecurrentCell::rnn_tanh:
            case RecurrentCell::rnn_relu:
            {
                const V a = gate(0);
                const V out = cell == RecurrentCell::rnn_tanh ? V(xsimd::tanh(a)) : V(xsimd::max(a, V(0)));
                store_lanes(out, keep);
                store_lanes(out, h);
                break;
            }
            case RecurrentCell::lstm:
            {
                // c = f * c_prev + i * g,   h = o * tanh(c)
                const V i = stable_sigmoid(gate(0)), f = stable_sigmoid(gate(1));
                const V g = xsimd::tanh(gate(2)), o = stable_sigmoid(gate(3));
                const V c = f * load_lanes<V>(s.cell_prev + row * hidden + j) + i * g;
                store_lanes(i, keep);
                store_lanes(f, keep + hidden);
                store_lanes(g, keep + 2 * hidden);
                store_lanes(o, keep + 3 * hidden);
                store_lanes(c, s.cell + row * hidden + j);
                store_lanes(V(o * xsimd::tanh(c)), h);
                break;
            }
            case RecurrentCell::gru:
            {
                // n = tanh(x_n + r * hh_n),   h = (1 - z) * n + z * h_prev
                const V r = stable_sigmoid(gate(0)), z = stable_sigmoid(gate(1));
                const V hidden_n = load_lanes<V>(hh + 2 * hidden);
                const V n = xsimd::tanh(load_lanes<V>(in + 2 * hidden) + r * hidden_n);
                const V h_prev = load_lanes<V>(s.hidden_prev + row * hidden + j);
                store_lanes(r, keep);
                store_lanes(z, keep + hidden);
                store_lanes(n, keep + 2 * hidden);
                store_lanes(hidden_n, keep + 3 * hidden);
                store_lanes(V(n + z * (h_prev - n)), h);
                break;
            }
            }
        }

        template <class V, class T>
        void step_backward_lanes(RecurrentCell cell, const RecurrentStepGrad<T>& s, std::size_t row,
                                 std::size_t hidden, std::size_t j)
        {
            const std::size_t gates = gate_count(cell) * hidden, saved = saved_count(cell) * hidden;
            const T* keep = s.saved + row * saved + j;
            T* d_in = s.d_input_gates + row * gates + j;
            const V one(1);
            const V dh = load_lanes<V>(s.dhidden + row * hidden + j);
            switch (cell)
            {
            case RecurrentCell::rnn_tanh:   // dL/da = dL/dh (1 - h^2)
            {
                const V h = load_lanes<V>(keep);
                store_lanes(V(dh * (one - h * h)), d_in);
                break;
            }
            case RecurrentCell::rnn_relu:   // dL/da = dL/dh [h > 0]
            {
                const V h = load_lanes<V>(keep);
                store_lanes(V(detail::select(h > V(0), dh, V(0))), d_in);
                break;
            }
            case RecurrentCell::lstm:
            {
                // h = o tanh(c):         do = dh tanh(c),   dc += dh o (1 - tanh(c)^2)
                // c = f c_prev + i g:    di = dc g,  df = dc c_prev,  dg = dc i,  dc_prev = dc f
                // through the activations: sigmoid' = s (1 - s), tanh' = 1 - t^2
                const V i = load_lanes<V>(keep), f = load_lanes<V>(keep + hidden);
                const V g = load_lanes<V>(keep + 2 * hidden), o = load_lanes<V>(keep + 3 * hidden);
                const V tanh_c = xsimd::tanh(load_lanes<V>(s.cell + row * hidden + j));
                const V dc = load_lanes<V>(s.dcell + row * hidden + j) + dh * o * (one - tanh_c * tanh_c);
                const V c_prev = load_lanes<V>(s.cell_prev + row * hidden + j);
                store_lanes(V(dc * g * i * (one - i)), d_in);
                store_lanes(V(dc * c_prev * f * (one - f)), d_in + hidden);
                store_lanes(V(dc * i * (one - g * g)), d_in + 2 * hidden);
                store_lanes(V(dh * tanh_c * o * (one - o)), d_in + 3 * hidden);
                store_lanes(V(dc * f), s.dcell_prev + row * hidden + j);
                break;
            }
            case RecurrentCell::gru:
            {
                // h = (1 - z) n + z h_prev:   dn = dh (1 - z),  dz = dh (h_prev - n),  dh_prev = dh z
                // n = tanh(x_n + r hh_n):     da_n = dn (1 - n^2),  dhh_n = da_n r,  dr = da_n hh_n
                T* d_hh = s.d_hidden_gates + row * gates + j;
                const V r = load_lanes<V>(keep), z = load_lanes<V>(keep + hidden);
                const V n = load_lanes<V>(keep + 2 * hidden), hidden_n = load_lanes<V>(keep + 3 * hidden);
                const V h_prev = load_lanes<V>(s.hidden_prev + row * hidden + j);
                const V da_n = dh * (one - z) * (one - n * n);
                const V da_r = da_n * hidden_n * r * (one - r);
                const V da_z = dh * (h_prev - n) * z * (one - z);
                store_lanes(da_r, d_in);
                store_lanes(da_z, d_in + hidden);
                store_lanes(da_n, d_in + 2 * hidden);
                store_lanes(da_r, d_hh);
                store_lanes(da_z, d_hh + hidden);
                store_lanes(V(da_n * r), d_hh + 2 * hidden);
                store_lanes(V(dh * z), s.dhidden_prev + row * hidden + j);
                break;
            }
            }
        }

        // Runs lanes(V, row, j) over every row and unit: vectors of the widest register, then a scalar tail
        // per row; rows split across threads when there are enough of them.
        template <class T, class Arch, class Lanes>
        void for_each_unit(std::size_t rows, std::size_t hidden, std::size_t work_per_unit, Lanes&& lanes)
        {
            using batch = xsimd::batch<T, Arch>;
            const std::size_t vector_end = hidden - hidden % batch::size;
            parallel_for(0, rows, row_grain(work_per_unit * hidden), [&](std::size_t first, std::size_t last) {
                for (std::size_t row = first; row < last; ++row)
                {
                    for (std::size_t j = 0; j < vector_end; j += batch::size)
                        lanes(batch(), row, j);
                    for (std::size_t j = vector_end; j < hidden; ++j)   // scalar tail
                        lanes(T(), row, j);
                }
            });
        }
    }

    // The forward of one step for every row (see RecurrentStep).
    template <class T, class Arch = xsimd::default_arch>
    void recurrent_step_forward(RecurrentCell cell, std::size_t rows, std::size_t hidden, const RecurrentStep<T>& step)
    {
        detail::for_each_unit<T, Arch>(rows, hidden, gate_count(cell), [&](auto lanes, std::size_t row, std::size_t j) {
            detail::step_forward_lanes<decltype(lanes)>(cell, step, row, hidden, j);
        });
    }

    // The backward of one step for every row (see RecurrentStepGrad).
    template <class T, class Arch = xsimd::default_arch>
    void recurrent_step_backward(RecurrentCell cell, std::size_t rows, std::size_t hidden,
                                 const RecurrentStepGrad<T>& step)
    {
        detail::for_each_unit<T, Arch>(rows, hidden, gate_count(cell), [&](auto lanes, std::size_t row, std::size_t j) {
            detail::step_backward_lanes<decltype(lanes)>(cell, step, row, hidden, j);
        });
    }

    // References, kept for the tests: the same steps as plain loops over (row, unit).
    template <class T>
    void recurrent_step_forward_reference(RecurrentCell cell, std::size_t rows, std::size_t hidden,
                                          const RecurrentStep<T>& s)
    {
        const std::size_t G = gate_count(cell), S = saved_count(cell);
        const auto sigmoid = [](T v) { return T(1) / (T(1) + std::exp(-v)); };
        for (std::size_t b = 0; b < rows; ++b)
            for (std::size_t j = 0; j < hidden; ++j)
            {
                const auto a = [&](std::size_t k) {
                    return s.input_gates[b * G * hidden + k * hidden + j] + s.hidden_gates[b * G * hidden + k * hidden + j];
                };
                T* keep = s.saved + b * S * hidden + j;
                T& h = s.hidden[b * hidden + j];
                if (cell == RecurrentCell::rnn_tanh || cell == RecurrentCell::rnn_relu)
                    h = keep[0] = cell == RecurrentCell::rnn_tanh ? std::tanh(a(0)) : std::max(a(0), T(0));
                else if (cell == RecurrentCell::lstm)
                {
                    const T i = sigmoid(a(0)), f = sigmoid(a(1)), g = std::tanh(a(2)), o = sigmoid(a(3));
                    const T c = f * s.cell_prev[b * hidden + j] + i * g;
                    keep[0] = i, keep[hidden] = f, keep[2 * hidden] = g, keep[3 * hidden] = o;
                    s.cell[b * hidden + j] = c;
                    h = o * std::tanh(c);
                }
                else
                {
                    const T r = sigmoid(a(0)), z = sigmoid(a(1));
                    const T hidden_n = s.hidden_gates[b * G * hidden + 2 * hidden + j];
                    const T n = std::tanh(s.input_gates[b * G * hidden + 2 * hidden + j] + r * hidden_n);
                    keep[0] = r, keep[hidden] = z, keep[2 * hidden] = n, keep[3 * hidden] = hidden_n;
                    h = (T(1) - z) * n + z * s.hidden_prev[b * hidden + j];
                }
            }
    }

    template <class T>
    void recurrent_step_backward_reference(RecurrentCell cell, std::size_t rows, std::size_t hidden,
                                           const RecurrentStepGrad<T>& s)
    {
        const std::size_t G = gate_count(cell), S = saved_count(cell);
        for (std::size_t b = 0; b < rows; ++b)
            for (std::size_t j = 0; j < hidden; ++j)
            {
                const T* keep = s.saved + b * S * hidden + j;
                T* d_in = s.d_input_gates + b * G * hidden + j;
                const T dh = s.dhidden[b * hidden + j];
                if (cell == RecurrentCell::rnn_tanh)
                    d_in[0] = dh * (T(1) - keep[0] * keep[0]);
                else if (cell == RecurrentCell::rnn_relu)
                    d_in[0] = keep[0] > T(0) ? dh : T(0);
                else if (cell == RecurrentCell::lstm)
                {
                    const T i = keep[0], f = keep[hidden], g = keep[2 * hidden], o = keep[3 * hidden];
                    const T tanh_c = std::tanh(s.cell[b * hidden + j]);
                    const T dc = s.dcell[b * hidden + j] + dh * o * (T(1) - tanh_c * tanh_c);
                    d_in[0] = dc * g * i * (T(1) - i);
                    d_in[hidden] = dc * s.cell_prev[b * hidden + j] * f * (T(1) - f);
                    d_in[2 * hidden] = dc * i * (T(1) - g * g);
                    d_in[3 * hidden] = dh * tanh_c * o * (T(1) - o);
                    s.dcell_prev[b * hidden + j] = dc * f;
                }
                else
                {
                    const T r = keep[0], z = keep[hidden], n = keep[2 * hidden], hidden_n = keep[3 * hidden];
                    T* d_hh = s.d_hidden_gates + b * G * hidden + j;
                    const T da_n = dh * (T(1) - z) * (T(1) - n * n);
                    d_in[0] = d_hh[0] = da_n * hidden_n * r * (T(1) - r);
                    d_in[hidden] = d_hh[hidden] = dh * (s.hidden_prev[b * hidden + j] - n) * z * (T(1) - z);
                    d_in[2 * hidden] = da_n;
                    d_hh[2 * hidden] = da_n * r;
                    s.dhidden_prev[b * hidden + j] = dh * z;
                }
            }
    }
}

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_END
