// The recurrence of an RNN, LSTM or GRU layer over a whole sequence as one op.  The input projection of
// every step comes in precomputed (one GEMM for the sequence, in the layer); the forward runs each step as a
// GEMM by W_hh and the fused gate kernel (kernels/recurrent.hpp); the backward goes back through time in one
// call, with W_hh's gradient for all steps as one GEMM.  One graph node per layer and direction.
#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../kernels/gemm.hpp"
#include "../kernels/recurrent.hpp"
#include "../kernels/reduce.hpp"
#include "shape.hpp"

namespace xgrad
{
    using kernels::RecurrentCell;

    namespace detail
    {
        inline const char* cell_name(RecurrentCell cell)
        {
            switch (cell)
            {
            case RecurrentCell::rnn_tanh: return "RNN_TANH";
            case RecurrentCell::rnn_relu: return "RNN_RELU";
            case RecurrentCell::lstm: return "LSTM";
            case RecurrentCell::gru: return "GRU";
            }
            return "";
        }

        template <class T>
        void check_recurrence_inputs(RecurrentCell cell, const Tensor<T>& input_gates, const Tensor<T>& h0,
                                     const Tensor<T>& c0, const Tensor<T>& weight_hh, const Tensor<T>& bias_hh,
                                     const std::vector<std::size_t>& lengths)
        {
            const std::string who = std::string("recurrence(") + cell_name(cell) + ")";
            if (weight_hh.ndim() != 2 || weight_hh.shape(0) != kernels::gate_count(cell) * weight_hh.shape(1))
                throw shape_error(who + ": weight_hh must be (" + std::to_string(kernels::gate_count(cell)) +
                                  "H, H), got " + shape_string(weight_hh.shape()));
            const std::size_t hidden = weight_hh.shape(1), gates = weight_hh.shape(0);
            if (input_gates.ndim() != 3 || input_gates.shape(2) != gates || input_gates.shape(0) == 0)
                throw shape_error(who + ": input_gates must be (L, N, " + std::to_string(gates) +
                                  ") with L > 0, got " + shape_string(input_gates.shape()));
            const Shape state{input_gates.shape(1), hidden};
            if (!shapes_equal(h0.value().shape(), state))
                throw shape_error(who + ": h0 must be " + shape_string(state) + ", got " + shape_string(h0.shape()));
            if (cell == RecurrentCell::lstm && (!c0.defined() || !shapes_equal(c0.value().shape(), state)))
                throw shape_error(who + ": c0 must be " + shape_string(state) + ", got " +
                                  (c0.defined() ? shape_string(c0.shape()) : std::string("none")));
            if (bias_hh.defined() && !shapes_equal(bias_hh.value().shape(), Shape{gates}))
                throw shape_error(who + ": bias_hh must be (" + std::to_string(gates) + "), got " +
                                  shape_string(bias_hh.shape()));
            if (!lengths.empty() && lengths.size() != input_gates.shape(1))
                throw value_error(who + ": " + std::to_string(lengths.size()) + " lengths for a batch of " +
                                  std::to_string(input_gates.shape(1)));
            for (const std::size_t length : lengths)
                if (length == 0 || length > input_gates.shape(0))
                    throw value_error(who + ": a length must be in [1, " + std::to_string(input_gates.shape(0)) +
                                      "], got " + std::to_string(length));
        }
    }

    // The states of a recurrent layer (one direction) after every step:
    //   input_gates (L, N, G·H) = x W_ih^T + b_ih,   h0, c0 (N, H) (c0: LSTM only),   W_hh (G·H, H),   b_hh (G·H)
    //   -> (S, L, N, H): [0] is h_t, and for the LSTM [1] is c_t, after the step that reads x_t.
    // `reverse` runs t = L-1 down to 0.  With `lengths` (one per sequence, in [1, L], any order) a sequence's
    // steps t >= length are padding: its state passes them unchanged, so a forward run ends at L-1 with the
    // state of the sequence's last step, and a reverse run starts from h0 at that step.
    //
    // Backward, through time from the last step processed to the first, with a = the gate pre-activations of
    // step t (the cell's own derivative is in kernels/recurrent.hpp):
    //   dL/dh_prev = dL/da_hh · W_hh (+ the GRU's direct z dL/dh),   dL/d(input_gates_t) = dL/da_ih
    //   dL/dW_hh = sum_t dL/da_hh_tᵀ · h_prev_t,   dL/db_hh = sum_t dL/da_hh_t
    // The backward is computed by kernels and is not itself recorded: asking for second derivatives through it
    // (create_graph) throws autograd_error.
    template <class T>
    Tensor<T> recurrence(RecurrentCell cell, const Tensor<T>& input_gates, const Tensor<T>& h0, const Tensor<T>& c0,
                         const Tensor<T>& weight_hh, const Tensor<T>& bias_hh,
                         const std::vector<std::size_t>& lengths = {}, bool reverse = false)
    {
        XGRAD_PROFILE_OP("recurrence");
        detail::check_recurrence_inputs(cell, input_gates, h0, c0, weight_hh, bias_hh, lengths);
        const bool lstm = cell == RecurrentCell::lstm;
        const std::size_t steps = input_gates.shape(0), rows = input_gates.shape(1), hidden = weight_hh.shape(1);
        const std::size_t gates = weight_hh.shape(0), saved_width = kernels::saved_count(cell) * hidden;
        const std::size_t plane = rows * hidden;   // one state of the batch
        const std::size_t state_count = lstm ? 2 : 1;

        auto states = xt::xarray<T>::from_shape({state_count, steps, rows, hidden});   // (S, L, N, H)
        auto saved = xt::xarray<T>::from_shape({steps, rows, saved_width});            // (L, N, saved·H)
        std::vector<T> hidden_gates(rows * gates);                                     // (N, G·H)
        T* const h_all = states.data();
        T* const c_all = lstm ? states.data() + steps * plane : nullptr;
        // The step processed before step t, in the direction of the run.
        const auto previous = [&](std::size_t t) { return reverse ? t + 1 : t - 1; };
        const auto active = [&](std::size_t t, std::size_t row) { return lengths.empty() || t < lengths[row]; };

        for (std::size_t s = 0; s < steps; ++s)
        {
            const std::size_t t = reverse ? steps - 1 - s : s;
            const T* h_prev = s == 0 ? h0.value().data() : h_all + previous(t) * plane;
            const T* c_prev = !lstm ? nullptr : s == 0 ? c0.value().data() : c_all + previous(t) * plane;
            // hidden_gates = h_prev W_hh^T + b_hh   (N, G·H)
            if (bias_hh.defined())
                for (std::size_t row = 0; row < rows; ++row)
                    std::copy_n(bias_hh.value().data(), gates, hidden_gates.data() + row * gates);
            kernels::gemm<T>(false, true, rows, gates, hidden, T(1), h_prev, hidden, weight_hh.value().data(), hidden,
                             bias_hh.defined() ? T(1) : T(0), hidden_gates.data(), gates);
            T* h = h_all + t * plane;
            T* c = lstm ? c_all + t * plane : nullptr;
            kernels::recurrent_step_forward<T>(cell, rows, hidden,
                                               {input_gates.value().data() + t * rows * gates, hidden_gates.data(),
                                                h_prev, c_prev, saved.data() + t * rows * saved_width, h, c});
            for (std::size_t row = 0; row < rows; ++row)
                if (!active(t, row))   // padding: the state passes through
                {
                    std::copy_n(h_prev + row * hidden, hidden, h + row * hidden);
                    if (lstm)
                        std::copy_n(c_prev + row * hidden, hidden, c + row * hidden);
                }
        }

        std::vector<Tensor<T>> parents{input_gates, h0, weight_hh};
        if (lstm)
            parents.push_back(c0);
        if (bias_hh.defined())
            parents.push_back(bias_hh);
        const Tensor<T> result = make_result<T>(
            "recurrence", std::move(states), parents,
            [cell, input_gates, h0, c0, weight_hh, bias_hh, lengths, reverse,
             saved = std::move(saved)](const Tensor<T>& dout, const Tensor<T>& out) -> Grads<T> {
                if (is_grad_enabled())
                    throw autograd_error(std::string("recurrence(") + detail::cell_name(cell) +
                                         "): the backward through time is computed by kernels and cannot be "
                                         "differentiated again (create_graph)");
                const bool lstm = cell == RecurrentCell::lstm, gru = cell == RecurrentCell::gru;
                const std::size_t steps = input_gates.shape(0), rows = input_gates.shape(1);
                const std::size_t hidden = weight_hh.shape(1), gates = weight_hh.shape(0);
                const std::size_t plane = rows * hidden, saved_width = kernels::saved_count(cell) * hidden;
                const T* h_all = out.value().data();
                const T* c_all = lstm ? h_all + steps * plane : nullptr;
                const T* dh_all = dout.value().data();
                const T* dc_all = lstm ? dh_all + steps * plane : nullptr;
                const T* w = weight_hh.value().data();
                const auto previous = [&](std::size_t t) { return reverse ? t + 1 : t - 1; };
                const auto active = [&](std::size_t t, std::size_t row) { return lengths.empty() || t < lengths[row]; };

                auto d_input_gates = xt::xarray<T>::from_shape({steps, rows, gates});   // (L, N, G·H)
                xt::xarray<T> d_gru_hidden_gates;                                        // (L, N, G·H), GRU only
                if (gru)
                    d_gru_hidden_gates = xt::xarray<T>::from_shape({steps, rows, gates});
                // dL/d(h_prev W_hh^T + b_hh): the input side's own gradient except for the GRU
                T* const d_hidden_gates = gru ? d_gru_hidden_gates.data() : d_input_gates.data();
                // dL/dh and dL/dc flowing back into the step being differentiated, and out of it
                std::vector<T> dh(plane, T(0)), dc(lstm ? plane : 0, T(0));
                std::vector<T> dh_prev(plane), dc_prev(lstm ? plane : 0);
                for (std::size_t s = steps; s-- > 0;)
                {
                    const std::size_t t = reverse ? steps - 1 - s : s;
                    const T* h_prev = s == 0 ? h0.value().data() : h_all + previous(t) * plane;
                    const T* c_prev = !lstm ? nullptr : s == 0 ? c0.value().data() : c_all + previous(t) * plane;
                    for (std::size_t i = 0; i < plane; ++i)   // the step's own output gradient
                        dh[i] += dh_all[t * plane + i];
                    for (std::size_t i = 0; i < dc.size(); ++i)
                        dc[i] += dc_all[t * plane + i];
                    T* d_in = d_input_gates.data() + t * rows * gates;
                    T* d_hh = d_hidden_gates + t * rows * gates;
                    kernels::recurrent_step_backward<T>(
                        cell, rows, hidden,
                        {saved.data() + t * rows * saved_width, h_prev, c_prev, lstm ? c_all + t * plane : nullptr,
                         dh.data(), lstm ? dc.data() : nullptr, d_in, d_hh, dh_prev.data(), lstm ? dc_prev.data() : nullptr});
                    for (std::size_t row = 0; row < rows; ++row)
                        if (!active(t, row))
                        {
                            std::fill_n(d_in + row * gates, gates, T(0));
                            std::fill_n(d_hh + row * gates, gates, T(0));
                        }
                    // dh_prev (+)= dL/da_hh · W_hh   (N, G·H)·(G·H, H)
                    kernels::gemm<T>(false, false, rows, hidden, gates, T(1), d_hh, gates, w, hidden,
                                     gru ? T(1) : T(0), dh_prev.data(), hidden);
                    for (std::size_t row = 0; row < rows; ++row)
                        if (!active(t, row))   // padding passed the state through, and passes its gradient back
                        {
                            std::copy_n(dh.data() + row * hidden, hidden, dh_prev.data() + row * hidden);
                            if (lstm)
                                std::copy_n(dc.data() + row * hidden, hidden, dc_prev.data() + row * hidden);
                        }
                    std::swap(dh, dh_prev);
                    std::swap(dc, dc_prev);
                }

                const auto as_tensor = [](const std::vector<T>& values, const Shape& shape) {
                    auto array = xt::xarray<T>::from_shape(shape);
                    std::copy(values.begin(), values.end(), array.data());
                    return Tensor<T>(std::move(array));
                };
                // The weight and bias gradients read d_hidden_gates, which is d_input_gates' storage for all
                // but the GRU: they are taken before d_input_gates is handed over.
                const Tensor<T> dweight_hh = detail::grad_if_needed(weight_hh, [&] {
                    // dW_hh = sum_t dL/da_hh_tᵀ · h_prev_t: the steps after the first read the states one step
                    // back (one GEMM over L-1 steps), the first reads h0
                    auto dw = xt::xarray<T>::from_shape({gates, hidden});   // (G·H, H)
                    const std::size_t later = reverse ? 0 : 1, earlier = reverse ? 1 : 0;
                    kernels::gemm<T>(true, false, gates, hidden, (steps - 1) * rows, T(1),
                                     d_hidden_gates + later * rows * gates, gates, h_all + earlier * plane, hidden,
                                     T(0), dw.data(), hidden);
                    const std::size_t first = reverse ? steps - 1 : 0;
                    kernels::gemm<T>(true, false, gates, hidden, rows, T(1), d_hidden_gates + first * rows * gates,
                                     gates, h0.value().data(), hidden, T(1), dw.data(), hidden);
                    return Tensor<T>(std::move(dw));
                });
                Tensor<T> dbias_hh;
                if (bias_hh.defined())
                    dbias_hh = detail::grad_if_needed(bias_hh, [&] {
                        auto db = xt::xarray<T>::from_shape({gates});   // (G·H)
                        kernels::sum_columns<T>(steps * rows, gates, d_hidden_gates, db.data());
                        return Tensor<T>(std::move(db));
                    });
                Grads<T> grads{detail::grad_if_needed(input_gates, [&] { return Tensor<T>(std::move(d_input_gates)); }),
                               detail::grad_if_needed(h0, [&] { return as_tensor(dh, {rows, hidden}); }), dweight_hh};
                if (lstm)
                    grads.push_back(detail::grad_if_needed(c0, [&] { return as_tensor(dc, {rows, hidden}); }));
                if (bias_hh.defined())
                    grads.push_back(dbias_hh);
                return grads;
            });
        return record_attributes(result, [&] {
            return OpAttributes()
                .set_int("cell", static_cast<std::int64_t>(cell))
                .set_int("reverse", reverse)
                .set_ints("lengths", {lengths.begin(), lengths.end()});
        });
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPS_RECURRENT_TEMPLATES(EXTERN, T)                                                                      \
    EXTERN template Tensor<T> recurrence<T>(RecurrentCell, const Tensor<T>&, const Tensor<T>&, const Tensor<T>&,      \
                                            const Tensor<T>&, const Tensor<T>&, const std::vector<std::size_t>&,      \
                                            bool);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPS_RECURRENT_TEMPLATES)
}
