// The Transformer decoder (nn/transformer.hpp): TransformerDecoderLayer, TransformerDecoder and the
// encoder-decoder Transformer; gradients against finite differences, masks, sequence-first inputs, the
// module names, and the errors.  Agreement with PyTorch is in test_pytorch_layers.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <xgrad/xgrad.hpp>
#include <xtensor/xview.hpp>

#include "test_support.hpp"

using namespace xgrad;
using namespace xgrad_test;

namespace
{
    // Non-zero biases and norm shifts everywhere, so that their gradients mean something.
    void randomise(nn::Module<double>& module, std::uint64_t seed)
    {
        NoGradGuard no_grad;
        for (auto& parameter : module.parameters())
            parameter.mutable_value() = normal_leaf(parameter.shape(), seed++, 0.5).value() +
                                        (parameter.ndim() == 1 ? 0.1 : 0.0);
    }

    xt::xarray<bool> causal_blocked(std::size_t size)
    {
        xt::xarray<bool> blocked = xt::zeros<bool>({size, size});
        for (std::size_t i = 0; i < size; ++i)
            for (std::size_t j = i + 1; j < size; ++j)
                blocked(i, j) = true;
        return blocked;
    }
}

TEST_CASE("TransformerDecoderLayer with dropout 0: gradients match finite differences, post- and pre-norm, with masks")
{
    for (const bool norm_first : {false, true})
    {
        CAPTURE(norm_first);
        nn::TransformerDecoderLayer<double> layer(4, 2, 5, 0.0, norm_first ? "gelu" : "relu", norm_first);
        randomise(layer, 100);
        const auto tgt = normal_leaf({2, 3, 4}, 1), memory = normal_leaf({2, 4, 4}, 2);
        const auto memory_mask = normal_leaf({3, 4}, 3);
        const xt::xarray<bool> memory_padding = {{false, false, false, true}, {false, true, false, false}};
        const xt::xarray<bool> tgt_padding = {{false, false, true}, {false, false, false}};
        Inputs inputs{tgt, memory, memory_mask};
        const auto parameters = layer.parameters();
        inputs.insert(inputs.end(), parameters.begin(), parameters.end());
        CHECK(gradcheck(
            [&](const Inputs& in) {
                return layer.forward(in[0], in[1], causal_blocked(3), in[2], tgt_padding, memory_padding);
            },
            inputs));
    }
}

TEST_CASE("TransformerDecoderLayer: the target is causal under tgt_mask; padded memory has no influence")
{
    nn::TransformerDecoderLayer<double> layer(6, 3, 8, 0.0);
    randomise(layer, 200);
    const auto tgt = normal_leaf({1, 4, 6}, 10), memory = normal_leaf({1, 5, 6}, 11);
    const Tensor<double> causal = nn::Transformer<double>::generate_square_subsequent_mask(4);
    const auto before = layer.forward(tgt, memory, causal).value();

    auto later = tgt.value();
    xt::view(later, 0, 3, xt::all()) += 1.0;
    const auto changed = layer.forward(Tensor<double>(later), memory, causal).value();
    CHECK(xt::allclose(xt::view(before, 0, xt::range(0, 3), xt::all()), xt::view(changed, 0, xt::range(0, 3), xt::all()),
                       1e-12, 1e-12));
    CHECK(!xt::allclose(xt::view(before, 0, 3, xt::all()), xt::view(changed, 0, 3, xt::all())));
    // The boolean causal mask gives the float one's numbers.
    CHECK(xt::allclose(layer.forward(tgt, memory, causal_blocked(4)).value(), before, 1e-12, 1e-12));

    const xt::xarray<bool> padding = {{false, false, false, false, true}};
    auto other_memory = memory.value();
    xt::view(other_memory, 0, 4, xt::all()) -= 3.0;
    CHECK(xt::allclose(layer.forward(tgt, memory, causal, {}, {}, padding).value(),
                       layer.forward(tgt, Tensor<double>(other_memory), causal, {}, {}, padding).value(), 1e-12, 1e-12));
}

TEST_CASE("TransformerDecoderLayer: batch_first false takes and returns (L, N, d_model)")
{
    nn::TransformerDecoderLayerOptions options{4, 2, 6, 0.0};
    nn::TransformerDecoderLayer<double> batch_first(options);
    options.batch_first = false;
    nn::TransformerDecoderLayer<double> sequence_first(options);
    sequence_first.load_state_dict(batch_first.state_dict());
    const auto tgt = normal_leaf({2, 3, 4}, 20), memory = normal_leaf({2, 5, 4}, 21);
    const auto expected = batch_first.forward(tgt, memory).value();
    const auto got = sequence_first.forward(transpose(tgt, 0, 1), transpose(memory, 0, 1));
    CHECK(got.shape() == Shape{3, 2, 4});
    CHECK(xt::allclose(transpose(got, 0, 1).value(), expected, 1e-12, 1e-12));
}

TEST_CASE("TransformerDecoder and Transformer: PyTorch's module names, copies of the layer, the square mask")
{
    nn::TransformerDecoderLayer<double> layer(4, 2, 5, 0.0);
    randomise(layer, 300);
    nn::TransformerDecoder<double> decoder(layer, 2, true);
    const auto state = decoder.state_dict();
    std::vector<std::string> keys;
    for (const auto& entry : state)
        keys.push_back(entry.first);
    const std::vector<std::string> layer_keys = {
        "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
        "multihead_attn.in_proj_weight", "multihead_attn.in_proj_bias", "multihead_attn.out_proj.weight",
        "multihead_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
        "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "norm3.weight", "norm3.bias"};
    std::vector<std::string> expected;
    for (const std::string prefix : {"layers.0.", "layers.1."})
        for (const auto& key : layer_keys)
            expected.push_back(prefix + key);
    expected.push_back("norm.weight");
    expected.push_back("norm.bias");
    CHECK(keys == expected);
    // Each layer starts as a copy of `layer`, and owns its weights.
    const auto layer_state = layer.state_dict();
    for (const auto& key : layer_keys)
    {
        CAPTURE(key);
        CHECK(state.at("layers.0." + key) == layer_state.at(key));
        CHECK(state.at("layers.1." + key) == layer_state.at(key));
    }
    {
        NoGradGuard no_grad;
        decoder.named_parameters()[0].second.mutable_value() += 1.0;
    }
    CHECK(decoder.state_dict().at("layers.1.self_attn.in_proj_weight") == layer_state.at("self_attn.in_proj_weight"));

    nn::TransformerOptions options;
    options.d_model = 4;
    options.nhead = 2;
    options.num_encoder_layers = 1;
    options.num_decoder_layers = 2;
    options.dim_feedforward = 6;
    nn::Transformer<double> transformer(options);
    std::vector<std::string> prefixes;
    for (const auto& entry : transformer.state_dict())
        if (entry.first.rfind("encoder.norm.", 0) == 0 || entry.first.rfind("decoder.norm.", 0) == 0 ||
            entry.first.find(".self_attn.in_proj_weight") != std::string::npos)
            prefixes.push_back(entry.first);
    CHECK(prefixes == std::vector<std::string>{"encoder.layers.0.self_attn.in_proj_weight", "encoder.norm.weight",
                                                "encoder.norm.bias", "decoder.layers.0.self_attn.in_proj_weight",
                                                "decoder.layers.1.self_attn.in_proj_weight", "decoder.norm.weight",
                                                "decoder.norm.bias"});
    CHECK(transformer.parameters().size() == 12 + 2 + 2 * 18 + 2);   // encoder layer, norm, decoder layers, norm

    const auto mask = nn::Transformer<float>::generate_square_subsequent_mask(3).value();
    const float inf = std::numeric_limits<float>::infinity();
    CHECK(mask == xt::xarray<float>{{0.f, -inf, -inf}, {0.f, 0.f, -inf}, {0.f, 0.f, 0.f}});
}

TEST_CASE("Transformer with dropout 0: gradients w.r.t. source, target and a float src_mask match finite differences")
{
    nn::TransformerOptions options;
    options.d_model = 4;
    options.nhead = 2;
    options.num_encoder_layers = 1;
    options.num_decoder_layers = 1;
    options.dim_feedforward = 5;
    options.dropout = 0.0;
    options.norm_first = true;
    nn::Transformer<double> transformer(options);
    randomise(transformer, 400);
    const auto src = normal_leaf({2, 4, 4}, 30), tgt = normal_leaf({2, 3, 4}, 31), src_mask = normal_leaf({4, 4}, 32);
    const xt::xarray<bool> memory_padding = {{false, false, true, false}, {false, false, false, false}};
    CHECK(gradcheck(
        [&](const Inputs& in) {
            return transformer.forward(in[0], in[1], in[2], nn::Transformer<double>::generate_square_subsequent_mask(3),
                                       {}, {}, {}, memory_padding);
        },
        Inputs{src, tgt, src_mask}));
}

TEST_CASE("TransformerDecoderLayer: dropout acts in training only")
{
    nn::TransformerDecoderLayer<float> layer(8, 2, 16, 0.5);
    const auto tgt = normal_leaf<float>({2, 3, 8}, 40), memory = normal_leaf<float>({2, 4, 8}, 41);
    manual_seed(1);
    const auto trained1 = layer.forward(tgt, memory).value();
    manual_seed(2);
    const auto trained2 = layer.forward(tgt, memory).value();
    CHECK(trained1 != trained2);
    layer.eval();
    CHECK(layer.forward(tgt, memory).value() == layer.forward(tgt, memory).value());
}

TEST_CASE("decoder errors name the layer and the shapes")
{
    CHECK_THROWS_AS(nn::TransformerDecoderLayer<float>(8, 3), value_error);
    CHECK_THROWS_AS(nn::TransformerDecoderLayer<float>(8, 2, 16, 0.1, "swish"), value_error);

    nn::TransformerDecoderLayer<float> layer(8, 2, 16, 0.0);
    const auto tgt = zeros<float>({2, 3, 8}), memory = zeros<float>({2, 5, 8});
    check_error<shape_error>([&] { layer.forward(zeros<float>({2, 3, 6}), memory); },
                             {"TransformerDecoderLayer", "tgt", "(2, 3, 6)"});
    check_error<shape_error>([&] { layer.forward(tgt, zeros<float>({5, 8})); },
                             {"TransformerDecoderLayer", "memory", "(5, 8)"});
    check_error<shape_error>([&] { layer.forward(tgt, zeros<float>({3, 5, 8})); },
                             {"TransformerDecoderLayer", "(2, 3, 8)", "(3, 5, 8)", "batch"});
    check_error<shape_error>([&] { layer.forward(tgt, memory, causal_blocked(4)); }, {"attn_mask", "(3, 3)", "(4, 4)"});
    check_error<shape_error>([&] { layer.forward(tgt, memory, {}, zeros<float>({3, 4})); },
                             {"attn_mask", "(3, 5)", "(3, 4)"});
    check_error<shape_error>([&] { layer.forward(tgt, memory, {}, {}, zeros<float>({2, 5})); },
                             {"key_padding_mask", "(2, 3)", "(2, 5)"});
    check_error<shape_error>([&] { layer.forward(tgt, memory, {}, {}, {}, xt::xarray<bool>(xt::zeros<bool>({2, 3}))); },
                             {"key_padding_mask", "(2, 5)", "(2, 3)"});
    check_error<value_error>([&] { layer(tgt); }, {"TransformerDecoderLayer", "memory"});

    nn::TransformerDecoder<float> decoder(layer, 2);
    check_error<value_error>([&] { decoder(tgt); }, {"TransformerDecoder", "memory"});
    check_error<shape_error>([&] { decoder.forward(tgt, zeros<float>({2, 5, 4})); }, {"TransformerDecoderLayer", "(2, 5, 4)"});

    nn::TransformerOptions options;
    options.d_model = 8;
    options.nhead = 2;
    options.num_encoder_layers = 1;
    options.num_decoder_layers = 1;
    options.dim_feedforward = 16;
    nn::Transformer<float> transformer(options);
    check_error<value_error>([&] { transformer(tgt); }, {"Transformer", "source", "target"});
    check_error<shape_error>([&] { transformer.forward(zeros<float>({2, 5, 6}), tgt); },
                             {"TransformerEncoderLayer", "src", "(2, 5, 6)"});
    check_error<shape_error>([&] { transformer.forward(memory, tgt, causal_blocked(3)); }, {"attn_mask", "(5, 5)", "(3, 3)"});
    options.nhead = 3;
    CHECK_THROWS_AS(nn::Transformer<float>{options}, value_error);
}
