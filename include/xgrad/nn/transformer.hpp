// Transformer blocks with torch.nn's module and parameter names: encoder and decoder layers, their stacks,
// the encoder-decoder Transformer, and positional encodings (fixed sinusoidal, or learned).
#pragma once

#include <cmath>
#include <optional>
#include <string>

#include "../config.hpp"
#include "../ops/dropout.hpp"
#include "activation.hpp"
#include "attention.hpp"
#include "dropout.hpp"
#include "linear.hpp"
#include "module.hpp"
#include "norm.hpp"

namespace xgrad::nn
{
    // Modules held in a list, named "0", "1", ...; it has no forward of its own.
    template <class T = float>
    class ModuleList : public Module<T>
    {
    public:
        template <class M>
        std::shared_ptr<M> push_back(std::shared_ptr<M> module)
        {
            return this->register_module(std::to_string(size()), std::move(module));
        }
        std::size_t size() const { return this->named_children().size(); }
        Tensor<T> forward(const Tensor<T>&) override
        {
            throw value_error("ModuleList has no forward: call its modules");
        }
        std::string type_name() const override { return "ModuleList"; }
    };

    // The settings of an encoder or decoder block, as torch.nn.TransformerEncoderLayer's and
    // TransformerDecoderLayer's arguments.  batch_first (xgrad's default, unlike PyTorch's) takes
    // (N, L, d_model); false takes (L, N, d_model).
    struct TransformerLayerOptions
    {
        std::size_t d_model;
        std::size_t nhead;
        std::size_t dim_feedforward = 2048;
        double dropout = 0.1;
        Activation activation = Activation::relu;
        double layer_norm_eps = 1e-5;
        bool norm_first = false;           // pre-norm (true) or post-norm (false, the original Transformer)
        bool batch_first = true;
    };
    using TransformerEncoderLayerOptions = TransformerLayerOptions;
    using TransformerDecoderLayerOptions = TransformerLayerOptions;

    namespace detail
    {
        // A sequence (N, L, d_model), or (L, N, d_model) when !batch_first, checked, and returned batch-first.
        template <class T>
        Tensor<T> batch_first_input(const char* layer, const char* name, const Tensor<T>& x,
                                    const TransformerLayerOptions& options)
        {
            if (x.ndim() != 3 || x.shape(2) != options.d_model)
                throw shape_error(std::string(layer) + "(d_model=" + std::to_string(options.d_model) + "): expected " +
                                  name + (options.batch_first ? " (N, L, " : " (L, N, ") +
                                  std::to_string(options.d_model) + "), got " + shape_string(x.shape()));
            return options.batch_first ? x : transpose(x, 0, 1);
        }

        // A residual sublayer: post-norm norm(x + sublayer(x)), pre-norm x + sublayer(norm(x)).
        template <class T, class Sublayer>
        Tensor<T> residual(bool norm_first, LayerNorm<T>& norm, const Tensor<T>& x, Sublayer&& sublayer)
        {
            return norm_first ? add(x, sublayer(norm(x))) : norm(add(x, sublayer(x)));
        }

        // num_layers copies of `layer`'s weights in `list` (PyTorch's deep copies), returned in order.
        template <class Layer, class T>
        std::vector<std::shared_ptr<Layer>> copies_of(const Layer& layer, std::size_t num_layers, ModuleList<T>& list)
        {
            std::vector<std::shared_ptr<Layer>> copies;
            for (std::size_t i = 0; i < num_layers; ++i)
            {
                auto copy = std::make_shared<Layer>(layer.options());
                copy->load_state_dict(layer.state_dict());
                copies.push_back(list.push_back(copy));
            }
            return copies;
        }
    }

    // The feed-forward part of a block, FF(x) = linear2(dropout(act(linear1(x)))), with PyTorch's names.
    template <class T>
    class TransformerBlock : public Module<T>
    {
    public:
        const TransformerLayerOptions& options() const { return options_; }

        std::shared_ptr<Linear<T>> linear1, linear2;
        std::shared_ptr<Dropout<T>> dropout;

    protected:
        explicit TransformerBlock(TransformerLayerOptions options) : options_(std::move(options)) {}
        // Registers linear1, dropout and linear2 (called between the attention and the norms, PyTorch's order).
        void register_feed_forward()
        {
            linear1 = this->register_module("linear1", Linear<T>(options_.d_model, options_.dim_feedforward));
            dropout = this->register_module("dropout", Dropout<T>(options_.dropout));
            linear2 = this->register_module("linear2", Linear<T>(options_.dim_feedforward, options_.d_model));
        }
        Tensor<T> feed_forward(const Tensor<T>& x) { return (*linear2)((*dropout)(activate(options_.activation, (*linear1)(x)))); }

        TransformerLayerOptions options_;
    };

    // One encoder block.  Post-norm: x = norm1(x + SA(x)); x = norm2(x + FF(x)).
    // Pre-norm: x = x + SA(norm1(x)); x = x + FF(norm2(x)).
    template <class T = float>
    class TransformerEncoderLayer : public TransformerBlock<T>
    {
    public:
        explicit TransformerEncoderLayer(TransformerLayerOptions options) : TransformerBlock<T>(std::move(options))
        {
            const auto& o = this->options_;
            self_attn = this->register_module("self_attn", MultiheadAttention<T>(o.d_model, o.nhead, o.dropout));
            this->register_feed_forward();
            norm1 = this->register_module("norm1", LayerNorm<T>(o.d_model, o.layer_norm_eps));
            norm2 = this->register_module("norm2", LayerNorm<T>(o.d_model, o.layer_norm_eps));
            dropout1 = this->register_module("dropout1", Dropout<T>(o.dropout));
            dropout2 = this->register_module("dropout2", Dropout<T>(o.dropout));
        }
        TransformerEncoderLayer(std::size_t d_model, std::size_t nhead, std::size_t dim_feedforward = 2048,
                                double dropout = 0.1, const std::string& activation = "relu", bool norm_first = false)
            : TransformerEncoderLayer(TransformerLayerOptions{
                  d_model, nhead, dim_feedforward, dropout, parse_activation(activation, "TransformerEncoderLayer"),
                  1e-5, norm_first})
        {
        }

        // src: (N, L, d_model).  Masks as MultiheadAttention's.
        Tensor<T> forward(const Tensor<T>& src, const AttentionMask<T>& src_mask,
                          const AttentionMask<T>& src_key_padding_mask = {}, bool is_causal = false)
        {
            const auto& o = this->options_;
            Tensor<T> x = detail::batch_first_input("TransformerEncoderLayer", "src", src, o);   // (N, L, d_model)
            x = detail::residual(o.norm_first, *norm1, x, [&](const Tensor<T>& y) {
                return (*dropout1)(self_attn->forward(y, y, y, src_key_padding_mask, src_mask, is_causal));
            });
            x = detail::residual(o.norm_first, *norm2, x,
                                 [&](const Tensor<T>& y) { return (*dropout2)(this->feed_forward(y)); });
            return o.batch_first ? x : transpose(x, 0, 1);
        }
        Tensor<T> forward(const Tensor<T>& src) override { return forward(src, std::nullopt); }

        std::string type_name() const override { return "TransformerEncoderLayer"; }

        std::shared_ptr<MultiheadAttention<T>> self_attn;
        std::shared_ptr<LayerNorm<T>> norm1, norm2;
        std::shared_ptr<Dropout<T>> dropout1, dropout2;
    };

    // A stack of num_layers encoder layers, each starting from a copy of `layer`'s weights (as PyTorch's
    // deep copy), optionally followed by a final LayerNorm ("norm"; use it with pre-norm layers).
    template <class T = float>
    class TransformerEncoder : public Module<T>
    {
    public:
        TransformerEncoder(const TransformerEncoderLayer<T>& layer, std::size_t num_layers, bool final_norm = false)
        {
            layers = this->register_module("layers", ModuleList<T>());
            blocks_ = detail::copies_of(layer, num_layers, *layers);
            if (final_norm)
                norm = this->register_module("norm", LayerNorm<T>(layer.options().d_model, layer.options().layer_norm_eps));
        }

        Tensor<T> forward(const Tensor<T>& src, const AttentionMask<T>& mask,
                          const AttentionMask<T>& src_key_padding_mask = {}, bool is_causal = false)
        {
            Tensor<T> x = src;
            for (const auto& block : blocks_)
                x = block->forward(x, mask, src_key_padding_mask, is_causal);
            return norm ? (*norm)(x) : x;
        }
        Tensor<T> forward(const Tensor<T>& src) override { return forward(src, std::nullopt); }

        std::string type_name() const override { return "TransformerEncoder"; }

        std::shared_ptr<ModuleList<T>> layers;
        std::shared_ptr<LayerNorm<T>> norm;   // null without a final norm

    private:
        std::vector<std::shared_ptr<TransformerEncoderLayer<T>>> blocks_;
    };

    // One decoder block: self-attention on the target, cross-attention on the encoder's output (memory),
    // feed-forward.  Post-norm: x = norm1(x + SA(x)); x = norm2(x + MHA(x, memory)); x = norm3(x + FF(x)).
    // Pre-norm: x = x + SA(norm1(x)); x = x + MHA(norm2(x), memory); x = x + FF(norm3(x)).
    template <class T = float>
    class TransformerDecoderLayer : public TransformerBlock<T>
    {
    public:
        explicit TransformerDecoderLayer(TransformerLayerOptions options) : TransformerBlock<T>(std::move(options))
        {
            const auto& o = this->options_;
            self_attn = this->register_module("self_attn", MultiheadAttention<T>(o.d_model, o.nhead, o.dropout));
            multihead_attn = this->register_module("multihead_attn", MultiheadAttention<T>(o.d_model, o.nhead, o.dropout));
            this->register_feed_forward();
            norm1 = this->register_module("norm1", LayerNorm<T>(o.d_model, o.layer_norm_eps));
            norm2 = this->register_module("norm2", LayerNorm<T>(o.d_model, o.layer_norm_eps));
            norm3 = this->register_module("norm3", LayerNorm<T>(o.d_model, o.layer_norm_eps));
            dropout1 = this->register_module("dropout1", Dropout<T>(o.dropout));
            dropout2 = this->register_module("dropout2", Dropout<T>(o.dropout));
            dropout3 = this->register_module("dropout3", Dropout<T>(o.dropout));
        }
        TransformerDecoderLayer(std::size_t d_model, std::size_t nhead, std::size_t dim_feedforward = 2048,
                                double dropout = 0.1, const std::string& activation = "relu", bool norm_first = false)
            : TransformerDecoderLayer(TransformerLayerOptions{
                  d_model, nhead, dim_feedforward, dropout, parse_activation(activation, "TransformerDecoderLayer"),
                  1e-5, norm_first})
        {
        }

        // tgt: (N, T, d_model)   memory: (N, S, d_model)   ->   (N, T, d_model)
        // tgt_mask (T, T) and tgt_key_padding_mask (N, T) mask the self-attention, memory_mask (T, S) and
        // memory_key_padding_mask (N, S) the cross-attention; each as MultiheadAttention's masks.
        Tensor<T> forward(const Tensor<T>& tgt, const Tensor<T>& memory, const AttentionMask<T>& tgt_mask = {},
                          const AttentionMask<T>& memory_mask = {}, const AttentionMask<T>& tgt_key_padding_mask = {},
                          const AttentionMask<T>& memory_key_padding_mask = {})
        {
            const auto& o = this->options_;
            Tensor<T> x = detail::batch_first_input("TransformerDecoderLayer", "tgt", tgt, o);         // (N, T, d_model)
            const Tensor<T> mem = detail::batch_first_input("TransformerDecoderLayer", "memory", memory, o);   // (N, S, d_model)
            if (mem.shape(0) != x.shape(0))
                throw shape_error("TransformerDecoderLayer: tgt " + shape_string(tgt.shape()) + " and memory " +
                                  shape_string(memory.shape()) + " hold different batch sizes");
            x = detail::residual(o.norm_first, *norm1, x, [&](const Tensor<T>& y) {
                return (*dropout1)(self_attn->forward(y, y, y, tgt_key_padding_mask, tgt_mask));
            });
            x = detail::residual(o.norm_first, *norm2, x, [&](const Tensor<T>& y) {
                return (*dropout2)(multihead_attn->forward(y, mem, mem, memory_key_padding_mask, memory_mask));
            });
            x = detail::residual(o.norm_first, *norm3, x,
                                 [&](const Tensor<T>& y) { return (*dropout3)(this->feed_forward(y)); });
            return o.batch_first ? x : transpose(x, 0, 1);
        }
        Tensor<T> forward(const Tensor<T>&) override
        {
            throw value_error("TransformerDecoderLayer needs the encoder's output: call forward(tgt, memory, ...)");
        }

        std::string type_name() const override { return "TransformerDecoderLayer"; }

        std::shared_ptr<MultiheadAttention<T>> self_attn, multihead_attn;
        std::shared_ptr<LayerNorm<T>> norm1, norm2, norm3;
        std::shared_ptr<Dropout<T>> dropout1, dropout2, dropout3;
    };

    // A stack of num_layers decoder layers, copies of `layer` as TransformerEncoder's, and an optional final
    // LayerNorm ("norm").
    template <class T = float>
    class TransformerDecoder : public Module<T>
    {
    public:
        TransformerDecoder(const TransformerDecoderLayer<T>& layer, std::size_t num_layers, bool final_norm = false)
        {
            layers = this->register_module("layers", ModuleList<T>());
            blocks_ = detail::copies_of(layer, num_layers, *layers);
            if (final_norm)
                norm = this->register_module("norm", LayerNorm<T>(layer.options().d_model, layer.options().layer_norm_eps));
        }

        // As TransformerDecoderLayer::forward, through every layer.
        Tensor<T> forward(const Tensor<T>& tgt, const Tensor<T>& memory, const AttentionMask<T>& tgt_mask = {},
                          const AttentionMask<T>& memory_mask = {}, const AttentionMask<T>& tgt_key_padding_mask = {},
                          const AttentionMask<T>& memory_key_padding_mask = {})
        {
            Tensor<T> x = tgt;
            for (const auto& block : blocks_)
                x = block->forward(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask);
            return norm ? (*norm)(x) : x;
        }
        Tensor<T> forward(const Tensor<T>&) override
        {
            throw value_error("TransformerDecoder needs the encoder's output: call forward(tgt, memory, ...)");
        }

        std::string type_name() const override { return "TransformerDecoder"; }

        std::shared_ptr<ModuleList<T>> layers;
        std::shared_ptr<LayerNorm<T>> norm;   // null without a final norm

    private:
        std::vector<std::shared_ptr<TransformerDecoderLayer<T>>> blocks_;
    };

    // The settings of torch.nn.Transformer (its defaults; batch_first is xgrad's true).
    struct TransformerOptions
    {
        std::size_t d_model = 512;
        std::size_t nhead = 8;
        std::size_t num_encoder_layers = 6;
        std::size_t num_decoder_layers = 6;
        std::size_t dim_feedforward = 2048;
        double dropout = 0.1;
        Activation activation = Activation::relu;
        double layer_norm_eps = 1e-5;
        bool batch_first = true;
        bool norm_first = false;
    };

    // The encoder-decoder of "Attention Is All You Need" as torch.nn.Transformer: an encoder and a decoder,
    // each a stack with a final LayerNorm ("encoder.norm", "decoder.norm"); every weight matrix
    // Xavier-uniform initialised, as PyTorch's.
    template <class T = float>
    class Transformer : public Module<T>
    {
    public:
        explicit Transformer(TransformerOptions options = {}) : options_(std::move(options))
        {
            const TransformerLayerOptions layer{options_.d_model,    options_.nhead,          options_.dim_feedforward,
                                                options_.dropout,    options_.activation,     options_.layer_norm_eps,
                                                options_.norm_first, options_.batch_first};
            encoder = this->register_module(
                "encoder", TransformerEncoder<T>(TransformerEncoderLayer<T>(layer), options_.num_encoder_layers, true));
            decoder = this->register_module(
                "decoder", TransformerDecoder<T>(TransformerDecoderLayer<T>(layer), options_.num_decoder_layers, true));
            for (auto& parameter : this->parameters())
                if (parameter.ndim() > 1)
                    init::xavier_uniform_(parameter);
        }

        // src: (N, S, d_model)   tgt: (N, T, d_model)   ->   (N, T, d_model)
        // src_mask (S, S), tgt_mask (T, T), memory_mask (T, S) and the key padding masks (N, S), (N, T), (N, S)
        // go to the encoder's self-attention, the decoder's self-attention and its cross-attention.
        Tensor<T> forward(const Tensor<T>& src, const Tensor<T>& tgt, const AttentionMask<T>& src_mask = {},
                          const AttentionMask<T>& tgt_mask = {}, const AttentionMask<T>& memory_mask = {},
                          const AttentionMask<T>& src_key_padding_mask = {},
                          const AttentionMask<T>& tgt_key_padding_mask = {},
                          const AttentionMask<T>& memory_key_padding_mask = {})
        {
            const Tensor<T> memory = encoder->forward(src, src_mask, src_key_padding_mask);
            return decoder->forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask);
        }
        Tensor<T> forward(const Tensor<T>&) override
        {
            throw value_error("Transformer needs a source and a target: call forward(src, tgt, ...)");
        }

        // The causal mask (size, size) for tgt_mask: -inf above the diagonal, 0 elsewhere (a float mask).
        static Tensor<T> generate_square_subsequent_mask(std::size_t size)
        {
            return constant<T>(xgrad::detail::causal_additive_mask<T>(size, size));
        }

        const TransformerOptions& options() const { return options_; }
        std::string type_name() const override { return "Transformer"; }

        std::shared_ptr<TransformerEncoder<T>> encoder;
        std::shared_ptr<TransformerDecoder<T>> decoder;

    private:
        TransformerOptions options_;
    };

    // Checks x: (N, L, d_model) against position codes (max_len, d_model).
    template <class T>
    void check_positions(const char* layer, const Tensor<T>& x, const Tensor<T>& codes)
    {
        if (x.ndim() != 3 || x.shape(2) != codes.shape(1) || x.shape(1) > codes.shape(0))
            throw shape_error(std::string(layer) + ": expected input (N, L, " + std::to_string(codes.shape(1)) +
                              ") with L <= " + std::to_string(codes.shape(0)) + ", got " + shape_string(x.shape()));
    }

    // Adds fixed sinusoidal position codes (Vaswani et al.): pe[pos, 2i] = sin(pos / 10000^(2i/d)),
    // pe[pos, 2i+1] = cos(pos / 10000^(2i/d)).   x: (N, L, d_model), L <= max_len
    template <class T = float>
    class SinusoidalPositionalEncoding : public Module<T>
    {
    public:
        SinusoidalPositionalEncoding(std::size_t d_model, std::size_t max_len = 5000)
            : codes_(xt::xarray<T>(xt::zeros<T>({max_len, d_model})))
        {
            auto& pe = codes_.mutable_value();
            for (std::size_t pos = 0; pos < max_len; ++pos)
                for (std::size_t i = 0; i < d_model; ++i)
                {
                    const double angle = static_cast<double>(pos) /
                                         std::pow(10000.0, static_cast<double>(i - i % 2) / static_cast<double>(d_model));
                    pe(pos, i) = static_cast<T>(i % 2 == 0 ? std::sin(angle) : std::cos(angle));
                }
        }
        Tensor<T> forward(const Tensor<T>& x) override
        {
            check_positions("SinusoidalPositionalEncoding", x, codes_);
            return add(x, narrow(codes_, 0, 0, x.shape(1)));
        }
        std::string type_name() const override { return "SinusoidalPositionalEncoding"; }

    private:
        Tensor<T> codes_;   // (max_len, d_model), constant
    };

    // Adds a learned vector per position ("weight", (max_len, d_model), N(0, 1) like an Embedding).
    template <class T = float>
    class LearnedPositionalEncoding : public Module<T>
    {
    public:
        LearnedPositionalEncoding(std::size_t d_model, std::size_t max_len)
        {
            weight = this->register_parameter("weight", zeros<T>({max_len, d_model}));
            init::normal_(weight, 0.0, 1.0);
        }
        Tensor<T> forward(const Tensor<T>& x) override
        {
            check_positions("LearnedPositionalEncoding", x, weight);
            return add(x, narrow(weight, 0, 0, x.shape(1)));
        }
        std::string type_name() const override { return "LearnedPositionalEncoding"; }

        Tensor<T> weight;
    };

}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_TRANSFORMER_TEMPLATES(EXTERN, T)                                                                     \
    EXTERN template class nn::ModuleList<T>;                                                                          \
    EXTERN template class nn::TransformerBlock<T>;                                                                    \
    EXTERN template class nn::TransformerEncoderLayer<T>;                                                             \
    EXTERN template class nn::TransformerEncoder<T>;                                                                  \
    EXTERN template class nn::TransformerDecoderLayer<T>;                                                             \
    EXTERN template class nn::TransformerDecoder<T>;                                                                  \
    EXTERN template class nn::Transformer<T>;                                                                         \
    EXTERN template class nn::SinusoidalPositionalEncoding<T>;                                                        \
    EXTERN template class nn::LearnedPositionalEncoding<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_TRANSFORMER_TEMPLATES)
}
