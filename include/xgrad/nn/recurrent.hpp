// Recurrent layers as torch.nn's: nn::RNN (tanh or relu), nn::LSTM and nn::GRU over whole sequences
// (layers, directions, dropout between layers, initial states, padded batches with their lengths), and the
// single-step nn::RNNCell, nn::LSTMCell, nn::GRUCell, with PyTorch's parameter names, shapes, gate order
// (LSTM i, f, g, o; GRU r, z, n) and initialisation.  Each layer and direction is one input GEMM and one
// recurrence op (ops/recurrent.hpp).
//
// Modules take one tensor, so forward(input) returns the output sequence only (what nn::Sequential and
// forward hooks see); the overloads with initial states return the final states too, as PyTorch's tuple:
//   auto [output, h_n] = gru.forward(x, h0);          auto [output, h_n, c_n] = lstm.forward(x, h0, c0, lengths);
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../ops/dropout.hpp"
#include "../ops/linalg.hpp"
#include "../ops/recurrent.hpp"
#include "../ops/shape.hpp"
#include "init.hpp"
#include "module.hpp"

namespace xgrad::nn
{
    // The length of each sequence of a padded batch, as pack_padded_sequence takes them: one per sequence,
    // each in [1, L], in any order (enforce_sorted = false).
    using Lengths = std::vector<std::size_t>;

    // What RNN and GRU return: PyTorch's (output, h_n).
    //   output (L, N, D·H), or (N, L, D·H) with batch_first, or (L, D·H) unbatched; zero past each length
    //   h_n    (D·num_layers, N, H), or (D·num_layers, H) unbatched: layer 0 forward, layer 0 reverse, layer 1 ...
    template <class T>
    struct RecurrentOutput
    {
        Tensor<T> output;
        Tensor<T> h_n;
    };

    // What LSTM returns: PyTorch's (output, (h_n, c_n)), c_n shaped as h_n.
    template <class T>
    struct LSTMOutput
    {
        Tensor<T> output;
        Tensor<T> h_n;
        Tensor<T> c_n;
    };

    // An LSTM cell's state (h, c): what LSTMCell takes and returns.
    template <class T>
    struct LSTMState
    {
        Tensor<T> h;
        Tensor<T> c;
    };

    // The settings every recurrent layer has; the defaults are PyTorch's.
    template <class Derived>
    class RecurrentOptionsBase : public ChainedOptions<Derived>
    {
        XGRAD_OPTION(std::size_t, num_layers) = 1;
        XGRAD_OPTION(bool, bias) = true;
        XGRAD_OPTION(bool, batch_first) = false;   // input and output (N, L, features); states stay (D·layers, N, H)
        XGRAD_OPTION(double, dropout) = 0.0;       // on each layer's output but the last's, in training mode
        XGRAD_OPTION(bool, bidirectional) = false;
    };

    // LSTM and GRU options: `nn::LSTM<float>(8, 16, nn::RecurrentOptions().num_layers(2).bidirectional(true))`.
    class RecurrentOptions : public RecurrentOptionsBase<RecurrentOptions>
    {
    };

    // RNN options add the nonlinearity, "tanh" or "relu".
    class RNNOptions : public RecurrentOptionsBase<RNNOptions>
    {
        XGRAD_OPTION(std::string, nonlinearity) = "tanh";
    };

    namespace detail
    {
        inline RecurrentCell parse_rnn_nonlinearity(const std::string& nonlinearity, const char* who)
        {
            if (nonlinearity == "tanh")
                return RecurrentCell::rnn_tanh;
            if (nonlinearity == "relu")
                return RecurrentCell::rnn_relu;
            throw value_error(std::string(who) + ": nonlinearity must be \"tanh\" or \"relu\", got \"" + nonlinearity +
                              "\"");
        }

        // The weights of one layer and direction (or of a cell), by PyTorch's names.
        template <class T>
        struct RecurrentWeights
        {
            Tensor<T> weight_ih;   // (G·H, in)
            Tensor<T> weight_hh;   // (G·H, H)
            Tensor<T> bias_ih;     // (G·H), undefined without bias
            Tensor<T> bias_hh;     // (G·H)
        };

        // The run of one direction over input (L, N, in): the outputs (L, N, H), zero past each length, and
        // the final states (N, H), h_n and (LSTM) c_n.
        template <class T>
        LSTMOutput<T> run_direction(RecurrentCell cell, const RecurrentWeights<T>& w, const Tensor<T>& input,
                                    const Tensor<T>& h0, const Tensor<T>& c0, const Lengths& lengths, bool reverse)
        {
            const std::size_t steps = input.shape(0), rows = input.shape(1), hidden = w.weight_hh.shape(1);
            const auto state_shape = Dims{static_cast<std::ptrdiff_t>(rows), static_cast<std::ptrdiff_t>(hidden)};
            const Tensor<T> input_gates = linear(input, w.weight_ih, w.bias_ih);   // (L, N, G·H): one GEMM for all steps
            const Tensor<T> states = recurrence(cell, input_gates, h0, c0, w.weight_hh, w.bias_hh, lengths, reverse);
            const std::size_t last = reverse ? 0 : steps - 1;   // where the run ends, every sequence's state held
            const auto final_state = [&](std::size_t which) {
                return reshape(narrow(narrow(states, 0, which, 1), 1, last, 1), state_shape);   // (N, H)
            };
            Tensor<T> outputs = reshape(narrow(states, 0, 0, 1), Dims{static_cast<std::ptrdiff_t>(steps),
                                                                       static_cast<std::ptrdiff_t>(rows),
                                                                       static_cast<std::ptrdiff_t>(hidden)});
            if (!lengths.empty())
            {
                xt::xarray<T> valid = xt::zeros<T>({steps, rows, std::size_t(1)});   // (L, N, 1)
                for (std::size_t row = 0; row < rows; ++row)
                    for (std::size_t t = 0; t < lengths[row]; ++t)
                        valid(t, row, 0) = T(1);
                outputs = mul(outputs, constant<T>(std::move(valid)));
            }
            return {outputs, final_state(0), cell == RecurrentCell::lstm ? final_state(1) : Tensor<T>()};
        }

        inline std::string cell_type_name(RecurrentCell cell)
        {
            return cell == RecurrentCell::lstm ? "LSTM" : cell == RecurrentCell::gru ? "GRU" : "RNN";
        }

        // What RNN, LSTM and GRU share: the parameters of every layer and direction and the run over them.
        template <class T>
        class RecurrentLayer : public Module<T>
        {
        public:
            std::string type_name() const override { return cell_type_name(cell_); }
            std::string extra_repr() const override
            {
                std::string repr = std::to_string(input_size_) + ", " + std::to_string(hidden_size_);
                if (num_layers_ != 1)
                    repr += ", num_layers=" + std::to_string(num_layers_);
                if (cell_ == RecurrentCell::rnn_relu)
                    repr += ", nonlinearity=relu";
                if (!bias_)
                    repr += ", bias=false";
                if (batch_first_)
                    repr += ", batch_first=true";
                if (dropout_ != 0.0)
                    repr += ", dropout=" + format_setting(dropout_);
                if (bidirectional_)
                    repr += ", bidirectional=true";
                return repr;
            }

            std::size_t input_size() const { return input_size_; }
            std::size_t hidden_size() const { return hidden_size_; }
            std::size_t num_layers() const { return num_layers_; }
            bool bidirectional() const { return bidirectional_; }
            bool batch_first() const { return batch_first_; }

        protected:
            template <class Options>
            RecurrentLayer(RecurrentCell cell, std::size_t input_size, std::size_t hidden_size, const Options& options)
                : cell_(cell), input_size_(input_size), hidden_size_(hidden_size), num_layers_(options.num_layers()),
                  bias_(options.bias()), batch_first_(options.batch_first()), dropout_(options.dropout()),
                  bidirectional_(options.bidirectional())
            {
                const std::string who = cell_type_name(cell);
                if (input_size == 0 || hidden_size == 0 || num_layers_ == 0)
                    throw value_error(who + ": input_size, hidden_size and num_layers must be positive, got " +
                                      std::to_string(input_size) + ", " + std::to_string(hidden_size) + ", " +
                                      std::to_string(num_layers_));
                if (!(dropout_ >= 0.0 && dropout_ <= 1.0))
                    throw value_error(who + ": dropout must be in [0, 1], got " + format_setting(dropout_));
                // PyTorch's order: per layer, per direction, weight_ih, weight_hh, bias_ih, bias_hh; every
                // parameter U(-1/sqrt(H), 1/sqrt(H)), drawn in that order.
                const std::size_t gates = kernels::gate_count(cell) * hidden_size;
                const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
                for (std::size_t layer = 0; layer < num_layers_; ++layer)
                    for (std::size_t direction = 0; direction < directions(); ++direction)
                    {
                        const std::string suffix = "_l" + std::to_string(layer) + (direction == 1 ? "_reverse" : "");
                        const std::size_t in = layer == 0 ? input_size : directions() * hidden_size;
                        RecurrentWeights<T> w;
                        w.weight_ih = this->register_parameter("weight_ih" + suffix, zeros<T>({gates, in}));
                        w.weight_hh = this->register_parameter("weight_hh" + suffix, zeros<T>({gates, hidden_size}));
                        if (bias_)
                        {
                            w.bias_ih = this->register_parameter("bias_ih" + suffix, zeros<T>({gates}));
                            w.bias_hh = this->register_parameter("bias_hh" + suffix, zeros<T>({gates}));
                        }
                        weights_.push_back(w);
                    }
                for (auto& parameter : this->parameters())
                    init::uniform_(parameter, -bound, bound);
            }

            // The whole stack over `input`; h0 and c0 may be undefined (zeros); c_n is undefined but for the LSTM.
            LSTMOutput<T> run(const Tensor<T>& input, const Tensor<T>& h0, const Tensor<T>& c0, const Lengths& lengths)
            {
                const bool lstm = cell_ == RecurrentCell::lstm;
                check_input(input);
                const bool batched = input.ndim() == 3;
                const Tensor<T> batch = !batched ? unsqueeze(input, 1) : batch_first_ ? transpose(input, 0, 1) : input;
                const std::size_t steps = batch.shape(0), rows = batch.shape(1);
                if (lstm && h0.defined() != c0.defined())
                    throw value_error(name() + ": give both h0 and c0, or neither");
                const Tensor<T> h_init = initial_state(h0, "h0", batched, rows);   // (D·layers, N, H)
                const Tensor<T> c_init = lstm ? initial_state(c0, "c0", batched, rows) : Tensor<T>();
                check_lengths(lengths, steps, rows);

                const auto state_shape = Dims{static_cast<std::ptrdiff_t>(rows), static_cast<std::ptrdiff_t>(hidden_size_)};
                const auto initial = [&](const Tensor<T>& all, std::size_t index) {
                    return reshape(narrow(all, 0, index, 1), state_shape);   // (N, H)
                };
                Tensor<T> layer_input = batch;   // (L, N, in)
                std::vector<Tensor<T>> h_n, c_n;
                for (std::size_t layer = 0; layer < num_layers_; ++layer)
                {
                    std::vector<Tensor<T>> outputs;
                    for (std::size_t direction = 0; direction < directions(); ++direction)
                    {
                        const std::size_t index = layer * directions() + direction;
                        const LSTMOutput<T> ran = run_direction(cell_, weights_[index], layer_input,
                                                                initial(h_init, index),
                                                                lstm ? initial(c_init, index) : Tensor<T>(), lengths,
                                                                direction == 1);
                        outputs.push_back(ran.output);
                        h_n.push_back(ran.h_n);
                        if (lstm)
                            c_n.push_back(ran.c_n);
                    }
                    layer_input = outputs.size() == 1 ? outputs[0] : cat(outputs, 2);   // (L, N, D·H)
                    if (layer + 1 < num_layers_)
                        layer_input = dropout(layer_input, dropout_, this->is_training());
                }
                const auto finish_output = [&](const Tensor<T>& output) {
                    return !batched ? squeeze(output, 1) : batch_first_ ? transpose(output, 0, 1) : output;
                };
                const auto finish_state = [&](const std::vector<Tensor<T>>& states) {
                    const Tensor<T> stacked = stack(states, 0);   // (D·layers, N, H)
                    return batched ? stacked : squeeze(stacked, 1);
                };
                return {finish_output(layer_input), finish_state(h_n), lstm ? finish_state(c_n) : Tensor<T>()};
            }

        private:
            std::size_t directions() const { return bidirectional_ ? 2 : 1; }
            std::string name() const { return type_name() + "(" + extra_repr() + ")"; }

            void check_input(const Tensor<T>& input) const
            {
                const std::string features = std::to_string(input_size_);
                if ((input.ndim() != 2 && input.ndim() != 3) || input.shape(-1) != input_size_)
                    throw shape_error(name() + ": input must be " +
                                      (batch_first_ ? "(N, L, " : "(L, N, ") + features + "), or (L, " + features +
                                      ") unbatched, got " + shape_string(input.shape()));
                if (input.numel() == 0)
                    throw shape_error(name() + ": input is empty, shape " + shape_string(input.shape()));
            }

            // The initial state (D·layers, N, H) from `given` ((D·layers, H) for an unbatched input), or zeros.
            Tensor<T> initial_state(const Tensor<T>& given, const char* what, bool batched, std::size_t rows) const
            {
                const std::size_t count = num_layers_ * directions();
                if (!given.defined())
                    return constant<T>(xt::zeros<T>({count, rows, hidden_size_}));
                const Shape expected = batched ? Shape{count, rows, hidden_size_} : Shape{count, hidden_size_};
                if (!xgrad::detail::shapes_equal(given.value().shape(), expected))
                    throw shape_error(name() + ": " + what + " must be " + shape_string(expected) + ", got " +
                                      shape_string(given.shape()));
                return batched ? given : unsqueeze(given, 1);
            }

            void check_lengths(const Lengths& lengths, std::size_t steps, std::size_t rows) const
            {
                if (!lengths.empty() && lengths.size() != rows)
                    throw value_error(name() + ": got " + std::to_string(lengths.size()) + " lengths for a batch of " +
                                      std::to_string(rows) + " sequences");
                for (const std::size_t length : lengths)
                    if (length == 0 || length > steps)
                        throw value_error(name() + ": a sequence length must be in [1, " + std::to_string(steps) +
                                          "] (the padded length), got " + std::to_string(length));
            }

            RecurrentCell cell_;
            std::size_t input_size_, hidden_size_, num_layers_;
            bool bias_, batch_first_;
            double dropout_;
            bool bidirectional_;
            std::vector<RecurrentWeights<T>> weights_;   // layer 0 forward, layer 0 reverse, layer 1 forward, ...
        };

        // What the cells share: one step of one layer and direction, with parameters weight_ih, weight_hh,
        // bias_ih, bias_hh.
        template <class T>
        class RecurrentCellModule : public Module<T>
        {
        public:
            std::string type_name() const override { return cell_type_name(cell_) + "Cell"; }
            std::string extra_repr() const override
            {
                return std::to_string(input_size_) + ", " + std::to_string(hidden_size_) +
                       (bias_ ? "" : ", bias=false") + (cell_ == RecurrentCell::rnn_relu ? ", nonlinearity=relu" : "");
            }

            Tensor<T> weight_ih;   // (G·H, in)
            Tensor<T> weight_hh;   // (G·H, H)
            Tensor<T> bias_ih;     // (G·H), undefined without bias
            Tensor<T> bias_hh;     // (G·H)

        protected:
            RecurrentCellModule(RecurrentCell cell, std::size_t input_size, std::size_t hidden_size, bool bias)
                : cell_(cell), input_size_(input_size), hidden_size_(hidden_size), bias_(bias)
            {
                if (input_size == 0 || hidden_size == 0)
                    throw value_error(type_name() + ": input_size and hidden_size must be positive");
                const std::size_t gates = kernels::gate_count(cell) * hidden_size;
                weight_ih = this->register_parameter("weight_ih", zeros<T>({gates, input_size}));
                weight_hh = this->register_parameter("weight_hh", zeros<T>({gates, hidden_size}));
                if (bias)
                {
                    bias_ih = this->register_parameter("bias_ih", zeros<T>({gates}));
                    bias_hh = this->register_parameter("bias_hh", zeros<T>({gates}));
                }
                const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
                for (auto& parameter : this->parameters())
                    init::uniform_(parameter, -bound, bound);
            }

            // One step: input (N, in) or (in), states (N, H) or (H), undefined for zeros.  c: LSTM only.
            LSTMState<T> step(const Tensor<T>& input, const Tensor<T>& h, const Tensor<T>& c) const
            {
                const std::string name = type_name() + "(" + extra_repr() + ")";
                if ((input.ndim() != 1 && input.ndim() != 2) || input.shape(-1) != input_size_ || input.numel() == 0)
                    throw shape_error(name + ": input must be (N, " + std::to_string(input_size_) + ") or (" +
                                      std::to_string(input_size_) + "), got " + shape_string(input.shape()));
                const bool batched = input.ndim() == 2;
                const std::size_t rows = batched ? input.shape(0) : 1;
                const Shape expected = batched ? Shape{rows, hidden_size_} : Shape{hidden_size_};
                const auto state = [&](const Tensor<T>& given, const char* what) {
                    if (!given.defined())
                        return constant<T>(xt::zeros<T>({rows, hidden_size_}));
                    if (!xgrad::detail::shapes_equal(given.value().shape(), expected))
                        throw shape_error(name + ": " + what + " must be " + shape_string(expected) + ", got " +
                                          shape_string(given.shape()));
                    return batched ? given : unsqueeze(given, 0);
                };
                const bool lstm = cell_ == RecurrentCell::lstm;
                const Tensor<T> sequence = reshape(input, Dims{1, static_cast<std::ptrdiff_t>(rows),
                                                               static_cast<std::ptrdiff_t>(input_size_)});   // (1, N, in)
                const Tensor<T> h0 = state(h, "h"), c0 = lstm ? state(c, "c") : Tensor<T>();
                const LSTMOutput<T> stepped = run_direction(cell_, {weight_ih, weight_hh, bias_ih, bias_hh}, sequence,
                                                            h0, c0, {}, false);
                const auto finish = [&](const Tensor<T>& s) { return batched ? s : squeeze(s, 0); };
                return {finish(stepped.h_n), lstm ? finish(stepped.c_n) : Tensor<T>()};
            }

        private:
            RecurrentCell cell_;
            std::size_t input_size_, hidden_size_;
            bool bias_;
        };
    }

    // h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)  (or relu), stacked num_layers deep, each layer
    // reading the one below (both directions' outputs side by side).
    template <class T = float>
    class RNN : public detail::RecurrentLayer<T>
    {
    public:
        RNN(std::size_t input_size, std::size_t hidden_size, const RNNOptions& options = RNNOptions())
            : detail::RecurrentLayer<T>(detail::parse_rnn_nonlinearity(options.nonlinearity(), "RNN"), input_size,
                                        hidden_size, options)
        {
        }

        // The output sequence, from zero initial states.
        Tensor<T> forward(const Tensor<T>& input) override { return forward(input, Tensor<T>()).output; }
        // h0: (D·num_layers, N, H), or undefined for zeros.
        RecurrentOutput<T> forward(const Tensor<T>& input, const Tensor<T>& h0, const Lengths& lengths = {})
        {
            const LSTMOutput<T> ran = this->run(input, h0, Tensor<T>(), lengths);
            return {ran.output, ran.h_n};
        }
    };

    // i, f, g, o = σ, σ, tanh, σ of x W_ih^T + b_ih + h W_hh^T + b_hh (in that order along the 4H rows);
    // c' = f c + i g;  h' = o tanh(c').  (PyTorch's proj_size is not provided.)
    template <class T = float>
    class LSTM : public detail::RecurrentLayer<T>
    {
    public:
        LSTM(std::size_t input_size, std::size_t hidden_size, const RecurrentOptions& options = RecurrentOptions())
            : detail::RecurrentLayer<T>(RecurrentCell::lstm, input_size, hidden_size, options)
        {
        }

        Tensor<T> forward(const Tensor<T>& input) override { return this->run(input, {}, {}, {}).output; }
        // h0, c0: (D·num_layers, N, H), both or neither (undefined: zeros).
        LSTMOutput<T> forward(const Tensor<T>& input, const Tensor<T>& h0, const Tensor<T>& c0,
                              const Lengths& lengths = {})
        {
            return this->run(input, h0, c0, lengths);
        }
    };

    // r, z = σ(x W_i{r,z}^T + b_i{r,z} + h W_h{r,z}^T + b_h{r,z});  n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn));
    // h' = (1 - z) n + z h.
    template <class T = float>
    class GRU : public detail::RecurrentLayer<T>
    {
    public:
        GRU(std::size_t input_size, std::size_t hidden_size, const RecurrentOptions& options = RecurrentOptions())
            : detail::RecurrentLayer<T>(RecurrentCell::gru, input_size, hidden_size, options)
        {
        }

        Tensor<T> forward(const Tensor<T>& input) override { return forward(input, Tensor<T>()).output; }
        RecurrentOutput<T> forward(const Tensor<T>& input, const Tensor<T>& h0, const Lengths& lengths = {})
        {
            const LSTMOutput<T> ran = this->run(input, h0, Tensor<T>(), lengths);
            return {ran.output, ran.h_n};
        }
    };

    // One RNN step: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).
    template <class T = float>
    class RNNCell : public detail::RecurrentCellModule<T>
    {
    public:
        RNNCell(std::size_t input_size, std::size_t hidden_size, bool bias = true,
                const std::string& nonlinearity = "tanh")
            : detail::RecurrentCellModule<T>(detail::parse_rnn_nonlinearity(nonlinearity, "RNNCell"), input_size,
                                             hidden_size, bias)
        {
        }

        // input (N, in) or (in);  h (N, H) or (H), undefined for zeros  ->  h'
        Tensor<T> forward(const Tensor<T>& input) override { return forward(input, Tensor<T>()); }
        Tensor<T> forward(const Tensor<T>& input, const Tensor<T>& h) { return this->step(input, h, Tensor<T>()).h; }
    };

    // One LSTM step: (h, c) -> (h', c').
    template <class T = float>
    class LSTMCell : public detail::RecurrentCellModule<T>
    {
    public:
        LSTMCell(std::size_t input_size, std::size_t hidden_size, bool bias = true)
            : detail::RecurrentCellModule<T>(RecurrentCell::lstm, input_size, hidden_size, bias)
        {
        }

        // h' from zero states.
        Tensor<T> forward(const Tensor<T>& input) override { return forward(input, LSTMState<T>()).h; }
        // state.h, state.c: (N, H) or (H), both undefined for zeros.
        LSTMState<T> forward(const Tensor<T>& input, const LSTMState<T>& state)
        {
            if (state.h.defined() != state.c.defined())
                throw value_error("LSTMCell: give both h and c, or neither");
            return this->step(input, state.h, state.c);
        }
    };

    // One GRU step: h -> h'.
    template <class T = float>
    class GRUCell : public detail::RecurrentCellModule<T>
    {
    public:
        GRUCell(std::size_t input_size, std::size_t hidden_size, bool bias = true)
            : detail::RecurrentCellModule<T>(RecurrentCell::gru, input_size, hidden_size, bias)
        {
        }

        Tensor<T> forward(const Tensor<T>& input) override { return forward(input, Tensor<T>()); }
        Tensor<T> forward(const Tensor<T>& input, const Tensor<T>& h) { return this->step(input, h, Tensor<T>()).h; }
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_RECURRENT_TEMPLATES(EXTERN, T)                                                                       \
    EXTERN template class nn::detail::RecurrentLayer<T>;                                                              \
    EXTERN template class nn::detail::RecurrentCellModule<T>;                                                         \
    EXTERN template class nn::RNN<T>;                                                                                 \
    EXTERN template class nn::LSTM<T>;                                                                                \
    EXTERN template class nn::GRU<T>;                                                                                 \
    EXTERN template class nn::RNNCell<T>;                                                                             \
    EXTERN template class nn::LSTMCell<T>;                                                                            \
    EXTERN template class nn::GRUCell<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_RECURRENT_TEMPLATES)
}
