// Attention: scaled_dot_product_attention (values, masks, causal, first and second derivatives),
// MultiheadAttention and the transformer encoder (gradients, masks, train/eval, copies), positional
// encodings, and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
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
    // softmax(q k^T / sqrt(E) + mask) v by loops, for q (B, L, E), k (B, S, E), v (B, S, Ev), mask (L, S).
    template <class T>
    xt::xarray<T> naive_attention(const xt::xarray<T>& q, const xt::xarray<T>& k, const xt::xarray<T>& v,
                                  const xt::xarray<T>& mask)
    {
        const std::size_t batch = q.shape()[0], length = q.shape()[1], source = k.shape()[1];
        const std::size_t embed = q.shape()[2], value_dim = v.shape()[2];
        xt::xarray<T> out = xt::zeros<T>({batch, length, value_dim});
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t i = 0; i < length; ++i)
            {
                std::vector<double> scores(source);
                double top = -std::numeric_limits<double>::infinity(), total = 0;
                for (std::size_t j = 0; j < source; ++j)
                {
                    double s = 0;
                    for (std::size_t e = 0; e < embed; ++e)
                        s += double(q(b, i, e)) * double(k(b, j, e));
                    scores[j] = s / std::sqrt(double(embed)) + double(mask(i, j));
                    top = std::max(top, scores[j]);
                }
                for (auto& s : scores)
                    total += (s = std::exp(s - top));
                for (std::size_t j = 0; j < source; ++j)
                    for (std::size_t e = 0; e < value_dim; ++e)
                        out(b, i, e) += T(scores[j] / total * double(v(b, j, e)));
            }
        return out;
    }
}

TEST_CASE_TEMPLATE("scaled_dot_product_attention matches the formula, with additive, boolean and causal masks", T,
                   float, double)
{
    const double tolerance = std::is_same<T, float>::value ? 1e-5 : 1e-12;
    const auto q = normal_leaf<T>({2, 3, 4}, 1), k = normal_leaf<T>({2, 5, 4}, 2), v = normal_leaf<T>({2, 5, 3}, 3);
    const xt::xarray<T> no_mask = xt::zeros<T>({3, 5});
    check_close(scaled_dot_product_attention(q, k, v).value(), naive_attention(q.value(), k.value(), v.value(), no_mask),
                tolerance);

    const auto additive = normal_leaf<T>({3, 5}, 4);
    check_close(scaled_dot_product_attention(q, k, v, additive).value(),
                naive_attention(q.value(), k.value(), v.value(), additive.value()), tolerance);

    // Boolean mask: true = may attend (torch.nn.functional's convention).
    const xt::xarray<bool> attend = {{true, false, true, true, false},
                                     {false, false, false, false, true},
                                     {true, true, true, true, true}};
    xt::xarray<T> blocked = xt::zeros<T>({3, 5});
    for (std::size_t i = 0; i < attend.size(); ++i)
        blocked.data()[i] = attend.data()[i] ? T(0) : -std::numeric_limits<T>::infinity();
    check_close(scaled_dot_product_attention(q, k, v, attend).value(),
                naive_attention(q.value(), k.value(), v.value(), blocked), tolerance);

    // Causal: query i sees keys 0..i (top-left aligned when L != S); the first query sees only v[0].
    xt::xarray<T> causal = xt::zeros<T>({3, 5});
    xt::xarray<bool> lower = xt::zeros<bool>({3, 5});
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 5; ++j)
        {
            causal(i, j) = j > i ? -std::numeric_limits<T>::infinity() : T(0);
            lower(i, j) = j <= i;
        }
    const auto y = scaled_dot_product_attention(q, k, v, Tensor<T>(), true);
    check_close(y.value(), naive_attention(q.value(), k.value(), v.value(), causal), tolerance);
    check_close(y.value(), scaled_dot_product_attention(q, k, v, lower).value(), tolerance);
    check_close(xt::xarray<T>(xt::view(y.value(), xt::all(), 0, xt::all())),
                xt::xarray<T>(xt::view(v.value(), xt::all(), 0, xt::all())), tolerance);
    // A 4-D (N, H, L, E) call broadcasts a (L, S) mask over batch and heads.
    const auto q4 = normal_leaf<T>({2, 2, 3, 4}, 5), k4 = normal_leaf<T>({2, 2, 5, 4}, 6), v4 = normal_leaf<T>({2, 2, 5, 3}, 7);
    CHECK(scaled_dot_product_attention(q4, k4, v4, attend, true).shape() == Shape{2, 2, 3, 3});
}

TEST_CASE("scaled_dot_product_attention: gradients and second derivatives match finite differences")
{
    const auto q = normal_leaf({2, 3, 4}, 11), k = normal_leaf({2, 5, 4}, 12), v = normal_leaf({2, 5, 3}, 13);
    const auto mask = normal_leaf({3, 5}, 14);
    const xt::xarray<bool> attend = {{true, false, true, true, false},
                                     {false, true, false, false, true},
                                     {true, true, true, true, true}};

    CHECK(gradcheck([](const Inputs& in) { return scaled_dot_product_attention(in[0], in[1], in[2]); }, Inputs{q, k, v}));
    CHECK(gradcheck([](const Inputs& in) { return scaled_dot_product_attention(in[0], in[1], in[2], Tensor<double>(), true); },
                    Inputs{q, k, v}));
    CHECK(gradcheck([](const Inputs& in) { return scaled_dot_product_attention(in[0], in[1], in[2], in[3]); },
                    Inputs{q, k, v, mask}));
    CHECK(gradcheck([&](const Inputs& in) { return scaled_dot_product_attention(in[0], in[1], in[2], attend, true); },
                    Inputs{q, k, v}));

    CHECK(gradgradcheck([](const Inputs& in) { return scaled_dot_product_attention(in[0], in[1], in[2]); },
                        Inputs{q, k, v}));
    CHECK(gradgradcheck([&](const Inputs& in) { return scaled_dot_product_attention(in[0], in[1], in[2], attend, true); },
                        Inputs{q, k, v}));
}

TEST_CASE("MultiheadAttention: gradients w.r.t. inputs and every parameter match finite differences")
{
    nn::MultiheadAttention<double> attention(4, 2);
    {
        NoGradGuard no_grad;   // non-zero biases, so that their gradients mean something
        attention.in_proj_bias.mutable_value() = normal_leaf({12}, 20).value();
        attention.out_proj->bias.mutable_value() = normal_leaf({4}, 21).value();
    }
    const auto parameters = attention.parameters();

    SUBCASE("cross-attention with a key padding mask")
    {
        const auto q = normal_leaf({2, 3, 4}, 22), k = normal_leaf({2, 5, 4}, 23), v = normal_leaf({2, 5, 4}, 24);
        const xt::xarray<bool> padding = {{false, false, false, false, true}, {false, true, false, false, true}};
        Inputs inputs{q, k, v};
        inputs.insert(inputs.end(), parameters.begin(), parameters.end());
        CHECK(gradcheck([&](const Inputs& in) { return attention.forward(in[0], in[1], in[2], padding); }, inputs));
    }
    SUBCASE("causal self-attention (is_causal and an attn_mask)")
    {
        const auto x = normal_leaf({2, 4, 4}, 25);
        xt::xarray<bool> future = xt::zeros<bool>({4, 4});
        for (std::size_t i = 0; i < 4; ++i)
            for (std::size_t j = i + 1; j < 4; ++j)
                future(i, j) = true;
        Inputs inputs{x};
        inputs.insert(inputs.end(), parameters.begin(), parameters.end());
        CHECK(gradcheck([&](const Inputs& in) { return attention.forward(in[0], in[0], in[0], std::nullopt, std::nullopt, true); },
                        inputs));
        CHECK(gradcheck([&](const Inputs& in) { return attention.forward(in[0], in[0], in[0], std::nullopt, future); },
                        Inputs{x}));
        CHECK(attention.forward(x, x, x, std::nullopt, future).value() ==
              attention.forward(x, x, x, std::nullopt, std::nullopt, true).value());
    }
}

TEST_CASE("MultiheadAttention with float masks: gradients w.r.t. inputs, masks and every parameter match finite "
          "differences, second derivatives too")
{
    nn::MultiheadAttention<double> attention(4, 2);
    {
        NoGradGuard no_grad;
        attention.in_proj_bias.mutable_value() = normal_leaf({12}, 80).value();
        attention.out_proj->bias.mutable_value() = normal_leaf({4}, 81).value();
    }
    const auto parameters = attention.parameters();
    const auto x = normal_leaf({2, 3, 4}, 82);
    const auto pair_mask = normal_leaf({3, 3}, 83), per_head_mask = normal_leaf({4, 3, 3}, 84);
    const auto padding_mask = normal_leaf({2, 3}, 85);
    Inputs inputs{x, pair_mask, per_head_mask, padding_mask};
    inputs.insert(inputs.end(), parameters.begin(), parameters.end());

    auto output_and_weights = [&](const Inputs& in, const Tensor<double>& attn_mask, bool average) {
        const auto attended = attention.forward_with_weights(in[0], in[0], in[0], in[3], attn_mask, average);
        return cat({reshape(attended.output, {-1}), reshape(attended.weights, {-1})});
    };
    CHECK(gradcheck([&](const Inputs& in) { return output_and_weights(in, in[1], true); }, inputs));
    CHECK(gradcheck([&](const Inputs& in) { return output_and_weights(in, in[2], false); }, inputs));
    CHECK(gradgradcheck([&](const Inputs& in) { return attention.forward(in[0], in[0], in[0], in[3], in[1]); },
                        Inputs{x, pair_mask, per_head_mask, padding_mask}));
}

TEST_CASE("MultiheadAttention: float masks add to the scores; weights averaged and per head")
{
    nn::MultiheadAttention<double> attention(6, 3);
    const auto q = normal_leaf({2, 3, 6}, 90), k = normal_leaf({2, 4, 6}, 91);
    const xt::xarray<bool> padding = {{false, false, false, true}, {false, true, false, false}};
    const xt::xarray<bool> pairs = {{false, true, false, false}, {false, false, false, false}, {true, false, false, true}};

    // A boolean mask and its float form (-inf where true) give the same numbers; so do a (L, S) mask and
    // its copy for every (sample, head) as (N * num_heads, L, S).
    const Tensor<double> float_padding(xgrad::detail::additive_from_bool<double>(padding, true));
    const xt::xarray<double> float_pairs = xgrad::detail::additive_from_bool<double>(pairs, true);
    xt::xarray<double> per_head = xt::zeros<double>({6, 3, 4});
    for (std::size_t row = 0; row < 6; ++row)
        xt::view(per_head, row) = float_pairs;
    const auto expected = attention.forward(q, k, k, padding, pairs).value();
    CHECK(xt::allclose(attention.forward(q, k, k, float_padding, Tensor<double>(float_pairs)).value(), expected,
                       1e-12, 1e-12));
    CHECK(xt::allclose(attention.forward(q, k, k, padding, Tensor<double>(per_head)).value(), expected, 1e-12, 1e-12));

    // Given both, a float key padding mask and a float attn_mask add.
    const auto bias = normal_leaf({2, 4}, 92), pair_bias = normal_leaf({3, 4}, 93);
    xt::xarray<double> summed = xt::zeros<double>({6, 3, 4});
    for (std::size_t n = 0; n < 2; ++n)
        for (std::size_t h = 0; h < 3; ++h)
            xt::view(summed, n * 3 + h) = pair_bias.value() + xt::view(bias.value(), xt::newaxis(), n, xt::all());
    CHECK(xt::allclose(attention.forward(q, k, k, bias, pair_bias).value(),
                       attention.forward(q, k, k, {}, Tensor<double>(summed)).value(), 1e-12, 1e-12));

    // The weights: per head (N, H, L, S), rows summing to one, zero on padded keys and blocked pairs; the
    // average is their mean over the heads; the output is forward's.
    const auto per_head_result = attention.forward_with_weights(q, k, k, padding, pairs, false);
    const auto averaged = attention.forward_with_weights(q, k, k, padding, pairs);
    CHECK(per_head_result.weights.shape() == Shape{2, 3, 3, 4});
    CHECK(averaged.weights.shape() == Shape{2, 3, 4});
    CHECK(xt::allclose(xt::sum(per_head_result.weights.value(), {3}), xt::ones<double>({2, 3, 3}), 1e-12, 1e-12));
    CHECK(xt::allclose(xt::mean(per_head_result.weights.value(), {1}), averaged.weights.value(), 1e-12, 1e-12));
    CHECK(per_head_result.output.value() == expected);
    for (std::size_t n = 0; n < 2; ++n)
        for (std::size_t i = 0; i < 3; ++i)
            for (std::size_t j = 0; j < 4; ++j)
                if (padding(n, j) || pairs(i, j))
                    CHECK(averaged.weights.value()(n, i, j) == 0.0);
}

TEST_CASE("MultiheadAttention with batch_first false takes and returns sequences first, as torch's default")
{
    nn::MultiheadAttention<double> batch_first(6, 3);
    nn::MultiheadAttention<double> sequence_first(6, 3, nn::MultiheadAttentionOptions().batch_first(false));
    sequence_first.load_state_dict(batch_first.state_dict());   // the same keys, whatever the layout
    const auto q = normal_leaf({3, 2, 6}, 94), k = normal_leaf({4, 2, 6}, 95);   // (L, N, E), (S, N, E)
    const xt::xarray<bool> padding = {{false, false, false, true}, {false, true, false, false}};   // (N, S)
    const xt::xarray<bool> pairs = {{false, true, false, false}, {false, false, false, false}, {true, false, false, true}};

    const auto expected = batch_first.forward_with_weights(transpose(q, 0, 1), transpose(k, 0, 1),
                                                           transpose(k, 0, 1), padding, pairs);
    const auto actual = sequence_first.forward_with_weights(q, k, k, padding, pairs);
    CHECK(actual.output.shape() == Shape{3, 2, 6});
    CHECK(xt::allclose(actual.output.value(), xt::transpose(expected.output.value(), {1, 0, 2}), 1e-12, 1e-12));
    CHECK(actual.weights.shape() == Shape{2, 3, 4});   // batch first, as torch returns them
    CHECK(xt::allclose(actual.weights.value(), expected.weights.value(), 1e-12, 1e-12));
    CHECK(sequence_first.forward(q).shape() == Shape{3, 2, 6});
    CHECK(gradcheck([&](const Inputs& in) { return sequence_first.forward(in[0], in[1], in[1]); }, Inputs{q, k}));
    CHECK(sequence_first.extra_repr().find("batch_first=False") != std::string::npos);
    check_error<shape_error>([&] { sequence_first.forward(normal_leaf({2, 6}, 96)); },
                             {"MultiheadAttention", "batch_first=False", "(L, N, 6)"});
}

TEST_CASE("MultiheadAttention: padded keys and future positions have no influence")
{
    nn::MultiheadAttention<double> attention(6, 3);
    const auto q = normal_leaf({2, 3, 6}, 30), k = normal_leaf({2, 4, 6}, 31), v = normal_leaf({2, 4, 6}, 32);
    const xt::xarray<bool> padding = {{false, false, false, true}, {false, true, false, true}};
    const auto y = attention.forward(q, k, v, padding).value();
    auto k2 = k.value(), v2 = v.value();
    xt::view(k2, 1, 1, xt::all()) += 5.0;
    xt::view(v2, 0, 3, xt::all()) -= 7.0;
    const auto y2 = attention.forward(q, Tensor<double>(k2), Tensor<double>(v2), padding).value();
    CHECK(xt::allclose(y, y2, 1e-12, 1e-12));
    const auto unmasked = attention.forward(q, Tensor<double>(k2), Tensor<double>(v2)).value();
    CHECK(!xt::allclose(y, unmasked));

    // Causal: changing the last position changes only the last output.
    const auto x = normal_leaf({1, 4, 6}, 33);
    auto x2 = x.value();
    xt::view(x2, 0, 3, xt::all()) += 1.0;
    const auto a = attention.forward(x, x, x, std::nullopt, std::nullopt, true).value();
    const Tensor<double> changed(x2);
    const auto b = attention.forward(changed, changed, changed, std::nullopt, std::nullopt, true).value();
    CHECK(xt::allclose(xt::view(a, 0, xt::range(0, 3), xt::all()), xt::view(b, 0, xt::range(0, 3), xt::all()), 1e-12, 1e-12));
    CHECK(!xt::allclose(xt::view(a, 0, 3, xt::all()), xt::view(b, 0, 3, xt::all())));
}

TEST_CASE("MultiheadAttention: attention dropout acts in training only")
{
    nn::MultiheadAttention<float> attention(8, 2, 0.5);
    const auto x = normal_leaf<float>({2, 5, 8}, 40);
    manual_seed(1);
    const auto trained1 = attention(x).value();
    manual_seed(2);
    const auto trained2 = attention(x).value();
    CHECK(trained1 != trained2);
    attention.eval();
    CHECK(attention(x).value() == attention(x).value());
}

TEST_CASE("TransformerEncoderLayer: the activation as an enum or as PyTorch's name, checked once at construction")
{
    const auto x = normal_leaf({2, 3, 4}, 52);
    for (const auto& [name, activation] : {std::pair{"relu", nn::Activation::relu}, std::pair{"gelu", nn::Activation::gelu}})
    {
        manual_seed(7);
        nn::TransformerEncoderLayer<double> by_name(4, 2, 6, 0.0, name, true);
        manual_seed(7);
        nn::TransformerEncoderLayer<double> by_enum(nn::TransformerEncoderLayerOptions{4, 2, 6, 0.0, activation, 1e-5, true});
        CHECK(by_name.forward(x, std::nullopt).value() == by_enum.forward(x, std::nullopt).value());
        CHECK(std::string(nn::to_string(activation)) == name);
    }
    check_error<value_error>([] { nn::TransformerEncoderLayer<double> layer(4, 2, 6, 0.0, "swish"); },
                             {"TransformerEncoderLayer", "swish"});
}

TEST_CASE("TransformerEncoderLayer with dropout 0: gradients match finite differences, post- and pre-norm")
{
    for (const bool norm_first : {false, true})
        for (const std::string activation : {"relu", "gelu"})
        {
            INFO("norm_first = " << norm_first << ", activation = " << activation);
            nn::TransformerEncoderLayer<double> layer(4, 2, 6, 0.0, activation, norm_first);
            {
                NoGradGuard no_grad;
                Generator rng(50);
                for (auto& [name, p] : layer.named_parameters())
                    if (name.find("bias") != std::string::npos || name.find("norm") != std::string::npos)
                        p.mutable_value() += randn<double>(p.shape(), rng).value() * 0.3;
            }
            const auto x = normal_leaf({2, 3, 4}, 51);
            Inputs inputs{x};
            const auto parameters = layer.parameters();
            inputs.insert(inputs.end(), parameters.begin(), parameters.end());
            const xt::xarray<bool> padding = {{false, false, false}, {false, false, true}};
            CHECK(gradcheck([&](const Inputs& in) { return layer.forward(in[0], std::nullopt, padding); }, inputs));
            CHECK(gradcheck([&](const Inputs& in) { return layer.forward(in[0], std::nullopt, std::nullopt, true); },
                            Inputs{x}));
        }
}

TEST_CASE("TransformerEncoder: its layers start as copies of the given layer and train independently")
{
    nn::TransformerEncoderLayer<float> layer(8, 2, 16, 0.0, "relu", true);
    nn::TransformerEncoder<float> encoder(layer, 3, true);
    const auto original = layer.state_dict();
    const auto state = encoder.state_dict();
    for (const auto& entry : original)
    {
        const auto& name = entry.first;
        const auto& value = entry.second;
        INFO(name);
        for (int i = 0; i < 3; ++i)
            CHECK(state["layers." + std::to_string(i) + "." + name] == value);
    }
    auto first = encoder.named_parameters()[0].second;
    first.mutable_value() += 1.f;
    CHECK(encoder.state_dict()["layers.1.self_attn.in_proj_weight"] == original["self_attn.in_proj_weight"]);
    CHECK(layer.state_dict()["self_attn.in_proj_weight"] == original["self_attn.in_proj_weight"]);

    const auto x = normal_leaf<float>({2, 5, 8}, 60);
    const auto y = encoder(x);
    CHECK(y.shape() == Shape{2, 5, 8});
    sum(y).backward();
    for (const auto& entry : encoder.named_parameters())
    {
        const auto& name = entry.first;
        const auto& p = entry.second;
        INFO(name);
        CHECK(p.has_grad());
    }
}

TEST_CASE("positional encodings")
{
    nn::SinusoidalPositionalEncoding<double> sinusoidal(6, 10);
    const auto zero_input = zeros<double>({1, 4, 6});
    const auto codes = sinusoidal(zero_input).value();
    for (std::size_t pos = 0; pos < 4; ++pos)
        for (std::size_t i = 0; i < 6; i += 2)
        {
            const double angle = double(pos) / std::pow(10000.0, double(i) / 6.0);
            CHECK(codes(0, pos, i) == doctest::Approx(std::sin(angle)));
            CHECK(codes(0, pos, i + 1) == doctest::Approx(std::cos(angle)));
        }
    CHECK(sinusoidal.parameters().empty());
    check_error<shape_error>([&] { sinusoidal(zeros<double>({1, 11, 6})); }, {"SinusoidalPositionalEncoding", "(1, 11, 6)"});
    check_error<shape_error>([&] { sinusoidal(zeros<double>({4, 6})); }, {"SinusoidalPositionalEncoding", "(4, 6)"});

    nn::LearnedPositionalEncoding<double> learned(6, 10);
    CHECK(learned.named_parameters()[0].first == "weight");
    const auto x = normal_leaf({2, 3, 6}, 70);
    CHECK(gradcheck([&](const Inputs& in) { return learned(in[0]); }, Inputs{x, learned.weight}));
    check_error<shape_error>([&] { learned(zeros<double>({1, 3, 5})); }, {"LearnedPositionalEncoding", "(1, 3, 5)"});
}

TEST_CASE("attention errors name the layer or op and the shapes")
{
    check_error<value_error>([] { nn::MultiheadAttention<float>(10, 3); }, {"10", "3"});
    CHECK_THROWS_AS(nn::MultiheadAttention<float>(8, 0), value_error);
    CHECK_THROWS_AS(nn::TransformerEncoderLayer<float>(8, 3), value_error);
    CHECK_THROWS_AS(nn::TransformerEncoderLayer<float>(8, 2, 16, 0.1, "swish"), value_error);

    nn::MultiheadAttention<float> attention(8, 2);
    const auto x = zeros<float>({2, 3, 8});
    check_error<shape_error>([&] { attention(zeros<float>({2, 3, 6})); }, {"MultiheadAttention", "(2, 3, 6)"});
    check_error<shape_error>([&] { attention(zeros<float>({3, 8})); }, {"MultiheadAttention", "(3, 8)"});
    check_error<shape_error>([&] { attention.forward(x, zeros<float>({2, 4, 8}), zeros<float>({2, 5, 8})); },
                             {"MultiheadAttention", "(2, 4, 8)", "(2, 5, 8)"});
    check_error<shape_error>([&] { attention.forward(x, x, x, xt::xarray<bool>(xt::zeros<bool>({2, 4}))); },
                             {"key_padding_mask", "(2, 3)", "(2, 4)"});
    check_error<shape_error>([&] { attention.forward(x, x, x, std::nullopt, xt::xarray<bool>(xt::zeros<bool>({3, 2}))); },
                             {"attn_mask", "(3, 3)", "(3, 2)"});
    check_error<shape_error>([&] { attention.forward(x, x, x, zeros<float>({3, 2})); },
                             {"key_padding_mask", "(2, 3)", "(3, 2)"});
    check_error<shape_error>([&] { attention.forward(x, x, x, {}, zeros<float>({2, 3, 3})); },
                             {"attn_mask", "(3, 3)", "(4, 3, 3)", "(2, 3, 3)"});
    check_error<shape_error>([&] { attention.forward(x, x, x, {}, zeros<float>({3})); }, {"attn_mask", "(3,)"});
    check_error<shape_error>([&] { attention.forward_with_weights(x, x, x, {}, zeros<float>({2, 2, 3, 3})); },
                             {"attn_mask", "(2, 2, 3, 3)"});

    for (const bool norm_first : {false, true})
    {
        nn::TransformerEncoderLayer<float> layer(8, 2, 16, 0.0, "relu", norm_first);
        check_error<shape_error>([&] { layer(zeros<float>({2, 3, 6})); }, {"TransformerEncoderLayer", "(2, 3, 6)"});
        check_error<shape_error>([&] { layer(zeros<float>({3, 8})); }, {"TransformerEncoderLayer", "(3, 8)"});
    }

    check_error<shape_error>([&] { scaled_dot_product_attention(zeros<float>({2, 3, 4}), zeros<float>({2, 5, 3}),
                                                                zeros<float>({2, 5, 3})); },
                             {"scaled_dot_product_attention", "(2, 3, 4)", "(2, 5, 3)"});
    check_error<shape_error>([&] { scaled_dot_product_attention(zeros<float>({2, 3, 4}), zeros<float>({2, 5, 4}),
                                                                zeros<float>({2, 5, 3}), zeros<float>({3, 4})); },
                             {"scaled_dot_product_attention", "(3, 4)"});
    check_error<shape_error>([&] { scaled_dot_product_attention(zeros<float>({4}), zeros<float>({4}), zeros<float>({4})); },
                             {"scaled_dot_product_attention", "(4,)"});
}
