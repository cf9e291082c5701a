// xgrad against PyTorch 1.13: the expressions of scripts/make_fixtures.py, rebuilt here with xgrad's ops,
// give PyTorch's outputs, gradients and Hessian-vector products (tests/fixtures/ops/<case>.json).
// Double must agree to a relative error of 1e-9, float (the same inputs, rounded) to 1e-4; the error of an
// array is max |xgrad - torch| / max |torch|.  PyTorch is needed only to regenerate the fixtures.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xgrad/xgrad.hpp>

#include "test_support.hpp"

using nlohmann::json;
using xgrad::Dims;
using xgrad::IndexArray;
using xgrad::Shape;
using xgrad::Tensor;
using xgrad_test::read_array;
using xgrad_test::read_mask;

namespace
{
    const std::vector<std::string> case_names = {
        "reduce_chain",     "reduce_keepdims",      "elementwise_chain",     "activations",
        "matmul_broadcast", "matmul_transposes",    "matmul_1d",             "mlp_cross_entropy",
        "attention_softmax", "log_softmax_logsumexp", "regression_losses",   "bce_with_logits",
        "cross_entropy_variants", "cross_entropy_spatial", "shape_chain", "cross_entropy_weighted"};

    const std::string fixture_dir = std::string(XGRAD_TEST_FIXTURES) + "/ops";

    json load_fixture(const std::string& name)
    {
        return xgrad_test::load_fixture("ops/" + name + ".json", "scripts/make_fixtures.py");
    }

    // The non-differentiable arguments of a case: targets, class indices, masks.
    struct Constants
    {
        const json& table;
        template <class T>
        Tensor<T> tensor(const char* name) const
        {
            return Tensor<T>(xt::xarray<T>(xt::cast<T>(read_array<double>(table.at(name)))));
        }
        IndexArray index(const char* name) const { return read_array<std::int64_t>(table.at(name)); }
        xt::xarray<bool> mask(const char* name) const
        {
            return read_mask(table.at(name));
        }
    };

    // The expressions of scripts/make_fixtures.py, case by case, in xgrad.
    template <class T>
    Tensor<T> evaluate(const std::string& name, const std::vector<Tensor<T>>& in, const Constants& c)
    {
        using namespace xgrad;
        if (name == "reduce_chain")
        {
            const auto& x = in[0];   // (3, 4, 5)
            return add(mul(logsumexp(x, -1), var(x, Dims{0, 2})), mean(max(x, 1), -1, true));
        }
        if (name == "reduce_keepdims")
        {
            const auto& x = in[0];   // (2, 3, 4)
            const Tensor<T> low = min(mul(x, x), Dims{0, 2}, true);
            return add(add(mul(low, sum(x, -1, true)), mean(x)), var(x, 1, true, 0));
        }
        if (name == "elementwise_chain")
        {
            const auto &a = in[0], &b = in[1];   // (3, 4), (4)
            const Tensor<T> positive = b * b + T(1);
            return sqrt(positive) * exp(-a * a) + log(positive + T(1)) / (T(1) + abs(a)) - pow(a, 3) * T(0.5) +
                   erf(a) * clamp(a, T(-0.5), T(0.5)) + pow(positive, a) - (a - b) / positive;
        }
        if (name == "activations")
        {
            const auto& x = in[0];
            return relu(x) * sigmoid(x) + tanh(x) * leaky_relu(x, 0.1) + softplus(x, 2.0) + gelu(x) * T(0.5) +
                   gelu(x, "tanh") * tanh(x);
        }
        if (name == "matmul_broadcast")
            return tanh(matmul(in[0], in[1]));   // (2, 1, 3, 4) @ (5, 4, 2)
        if (name == "matmul_transposes")
        {
            const auto &a = in[0], &at = in[1], &b = in[2], &bt = in[3];
            return matmul(a, b) * matmul(at, b, true, false) + matmul(a, bt, false, true) * matmul(at, bt, true, true);
        }
        if (name == "matmul_1d")
        {
            const auto &v = in[0], &m = in[1], &batch = in[2], &w = in[3];
            return cat({matmul(m, v), flatten(matmul(v, batch)), reshape(matmul(v, w), {1})}) *
                   sum(sigmoid(matmul(m, w)));
        }
        if (name == "mlp_cross_entropy")
        {
            const auto &x = in[0], &w1 = in[1], &b1 = in[2], &w2 = in[3], &b2 = in[4];
            const Tensor<T> hidden = gelu(matmul(x, w1, false, true) + b1);
            return cross_entropy(matmul(hidden, w2, false, true) + b2, c.index("target"), "mean", T(0.1));
        }
        if (name == "attention_softmax")
            return matmul(softmax(matmul(in[0], in[1], false, true) * T(0.5), -1), in[2]);
        if (name == "log_softmax_logsumexp")
            return log_softmax(in[0], 0) * softmax(in[0], -1) + logsumexp(in[0], Dims{0, 1});
        if (name == "regression_losses")
        {
            const auto &x = in[0], &t = in[1];
            return mse_loss(tanh(x), t) + l1_loss(x, t, "sum") * T(0.1) + huber_loss(x, t, "none", T(0.5));
        }
        if (name == "bce_with_logits")
        {
            const auto& x = in[0];
            const Tensor<T> target = c.tensor<T>("target");
            return binary_cross_entropy_with_logits(x, target, "none", c.tensor<T>("pos_weight")) +
                   binary_cross_entropy_with_logits(x * x, target);
        }
        if (name == "cross_entropy_variants")
        {
            const auto& z = in[0];
            const IndexArray t = c.index("target");
            return cross_entropy(z, t, "none", T(0.2)) + cross_entropy(z, t, "sum") * T(0.1) +
                   nll_loss(log_softmax(z, 1), t);
        }
        if (name == "cross_entropy_spatial")
        {
            const auto& z = in[0];   // (2, 3, 2, 2)
            const IndexArray labels = c.index("labels");
            return cross_entropy(z, c.tensor<T>("probs"), "mean", T(0.1)) + cross_entropy(z, labels) * T(0.5) +
                   cross_entropy(z, labels, "none", T(0.3));
        }
        if (name == "cross_entropy_weighted")
        {
            const auto &z = in[0], &s = in[1];   // (5, 4), (2, 4, 3)
            const IndexArray t = c.index("target"), u = c.index("other_target"), labels = c.index("labels");
            const Tensor<T> w = c.tensor<T>("weight");
            const Tensor<T> log_probs = log_softmax(z, 1);
            return cross_entropy(z, t, "none", T(0.2), -100, w) + cross_entropy(z, t, "mean", T(0.3), -100, w) +
                   cross_entropy(z, t, "sum", T(0.1), -100, w) * T(0.1) + cross_entropy(z, u, "mean", T(0), 3, w) +
                   nll_loss(log_probs, t, "mean", -100, w) + nll_loss(log_probs, u, "sum", 0, w) * T(0.5) +
                   cross_entropy(s, labels, "mean", T(0.25), -100, w) +
                   cross_entropy(s, c.tensor<T>("probs"), "mean", T(0.1), -100, w);
        }
        if (name == "shape_chain")
        {
            const auto &x = in[0], &b = in[1];   // (2, 3, 4), (7)
            Tensor<T> y = narrow(transpose(reshape(x, {4, -1}), 0, 1), 0, 1, 4);   // (4, 4)
            y = index_select(y, 1, c.index("select"));
            const Tensor<T> g = gather(y, 1, c.index("gather_index"));            // (4, 2)
            const Tensor<T> z = cat({g, masked_fill(y, c.mask("mask"), 0.5), narrow(y, 1, 2, 1)}, 1);   // (4, 7)
            const Tensor<T> s = stack({z, z * z}, 0);                                // (2, 4, 7)
            const Tensor<T> w = xgrad::where(c.mask("condition"), s, b * s);
            return flatten(squeeze(unsqueeze(permute(tanh(w), {2, 0, 1}), 1), 1), 1);   // (7, 8)
        }
        FAIL("no xgrad expression for fixture " << name);
        return Tensor<T>();
    }

    // max |actual - expected| / max |expected| (0 when both are 0).
    double relative_error(const xt::xarray<double>& actual, const xt::xarray<double>& expected)
    {
        REQUIRE(Shape(actual.shape().begin(), actual.shape().end()) ==
                Shape(expected.shape().begin(), expected.shape().end()));
        double difference = 0, scale = 0;
        for (std::size_t i = 0; i < actual.size(); ++i)
        {
            difference = std::max(difference, std::abs(actual.data()[i] - expected.data()[i]));
            scale = std::max(scale, std::abs(expected.data()[i]));
        }
        if (std::isnan(difference))
            return difference;
        return scale > 0 ? difference / scale : difference;
    }

    template <class T>
    xt::xarray<double> as_double(const Tensor<T>& t)
    {
        return xt::cast<double>(t.value());
    }

    template <class T>
    std::vector<Tensor<T>> read_inputs(const json& fixture)
    {
        std::vector<Tensor<T>> inputs;
        for (const auto& input : fixture.at("inputs"))
            inputs.emplace_back(xt::xarray<T>(xt::cast<T>(read_array<double>(input))), true);
        return inputs;
    }

    // Output, gradients of L = sum(output * probe), and the Hessian-vector products, checked at `tolerance`.
    template <class T>
    void check_against_fixture(const std::string& name, const json& fixture, double tolerance, bool second_order)
    {
        const Constants constants{fixture.at("constants")};
        const std::vector<Tensor<T>> inputs = read_inputs<T>(fixture);
        const Tensor<T> output = evaluate<T>(name, inputs, constants);
        const double output_error = relative_error(as_double(output), read_array<double>(fixture.at("output")));
        INFO("output relative error " << output_error);
        CHECK(output_error <= tolerance);

        const Tensor<T> probe(xt::xarray<T>(xt::cast<T>(read_array<double>(fixture.at("probe")))));
        const Tensor<T> loss = xgrad::sum(xgrad::mul(output, probe));
        const auto grads = xgrad::grad(std::vector<Tensor<T>>{loss}, inputs, second_order);
        Tensor<T> projected = xgrad::zeros<T>({});
        for (std::size_t i = 0; i < inputs.size(); ++i)
        {
            const double error = relative_error(as_double(grads[i]), read_array<double>(fixture.at("grads")[i]));
            INFO("input " << i << ": gradient relative error " << error);
            CHECK(error <= tolerance);
            const Tensor<T> direction(xt::xarray<T>(xt::cast<T>(read_array<double>(fixture.at("directions")[i]))));
            projected = xgrad::add(projected, xgrad::sum(xgrad::mul(grads[i], direction)));
        }
        if (!second_order)
            return;
        std::vector<Tensor<T>> hvp;
        if (projected.requires_grad())
            hvp = xgrad::grad(std::vector<Tensor<T>>{projected}, inputs);
        else   // every gradient is constant in the inputs: the Hessian is 0
            for (const auto& input : inputs)
                hvp.push_back(xgrad::zeros_like(input));
        for (std::size_t i = 0; i < inputs.size(); ++i)
        {
            const double error = relative_error(as_double(hvp[i]), read_array<double>(fixture.at("hvp")[i]));
            INFO("input " << i << ": Hessian-vector product relative error " << error);
            CHECK(error <= tolerance);
        }
    }
}

TEST_CASE("PyTorch reference: every fixture has an xgrad expression and vice versa")
{
    std::set<std::string> on_disk;
    for (const auto& entry : std::filesystem::directory_iterator(fixture_dir))
        if (entry.path().extension() == ".json")
            on_disk.insert(entry.path().stem().string());
    CHECK(on_disk == std::set<std::string>(case_names.begin(), case_names.end()));
}

TEST_CASE("PyTorch reference: double agrees to 1e-9 in outputs, gradients and Hessian-vector products")
{
    for (const auto& name : case_names)
    {
        CAPTURE(name);
        const json fixture = load_fixture(name);
        CHECK(fixture.at("name").get<std::string>() == name);
        REQUIRE(fixture.at("inputs").size() == fixture.at("grads").size());
        check_against_fixture<double>(name, fixture, 1e-9, true);
    }
}

TEST_CASE("PyTorch reference: float agrees to 1e-4 in outputs and gradients")
{
    for (const auto& name : case_names)
    {
        CAPTURE(name);
        check_against_fixture<float>(name, load_fixture(name), 1e-4, false);
    }
}
