// Activation functions as modules, for use inside nn::Sequential.
#pragma once

#include <string>

#include "../config.hpp"
#include "../ops/activation.hpp"
#include "../ops/shape.hpp"
#include "module.hpp"

namespace xgrad::nn
{
    // The activation between the two linear layers of a Transformer block.
    enum class Activation
    {
        relu,
        gelu
    };

    inline const char* to_string(Activation activation) { return activation == Activation::gelu ? "gelu" : "relu"; }

    // PyTorch's name of the activation ("relu" or "gelu"), parsed once where a layer is built.
    inline Activation parse_activation(const std::string& name, const char* who)
    {
        if (name == "relu")
            return Activation::relu;
        if (name == "gelu")
            return Activation::gelu;
        throw value_error(std::string(who) + ": activation must be \"relu\" or \"gelu\", got \"" + name + "\"");
    }

    template <class T>
    Tensor<T> activate(Activation activation, const Tensor<T>& x)
    {
        return activation == Activation::gelu ? gelu(x) : relu(x);
    }

    template <class T = float>
    class ReLU : public Module<T>
    {
    public:
        Tensor<T> forward(const Tensor<T>& input) override { return relu(input); }
        std::string type_name() const override { return "ReLU"; }
    };

    template <class T = float>
    class Sigmoid : public Module<T>
    {
    public:
        Tensor<T> forward(const Tensor<T>& input) override { return sigmoid(input); }
        std::string type_name() const override { return "Sigmoid"; }
    };

    template <class T = float>
    class Tanh : public Module<T>
    {
    public:
        Tensor<T> forward(const Tensor<T>& input) override { return tanh(input); }
        std::string type_name() const override { return "Tanh"; }
    };

    template <class T = float>
    class GELU : public Module<T>
    {
    public:
        explicit GELU(GeluApproximation approximate = GeluApproximation::none) : approximate_(approximate) {}
        explicit GELU(const std::string& approximate) : approximate_(parse_gelu_approximation(approximate, "GELU")) {}
        Tensor<T> forward(const Tensor<T>& input) override { return gelu(input, approximate_); }
        std::string type_name() const override { return "GELU"; }
        std::string extra_repr() const override { return std::string("approximate='") + to_string(approximate_) + "'"; }

    private:
        GeluApproximation approximate_;
    };

    template <class T = float>
    class LeakyReLU : public Module<T>
    {
    public:
        explicit LeakyReLU(double negative_slope = 0.01) : negative_slope_(negative_slope) {}
        Tensor<T> forward(const Tensor<T>& input) override { return leaky_relu(input, T(negative_slope_)); }
        std::string type_name() const override { return "LeakyReLU"; }
        std::string extra_repr() const override { return "negative_slope=" + format_setting(negative_slope_); }

    private:
        double negative_slope_;
    };

    template <class T = float>
    class Softmax : public Module<T>
    {
    public:
        explicit Softmax(std::ptrdiff_t dim = -1) : dim_(dim) {}
        Tensor<T> forward(const Tensor<T>& input) override { return softmax(input, dim_); }
        std::string type_name() const override { return "Softmax"; }
        std::string extra_repr() const override { return "dim=" + std::to_string(dim_); }

    private:
        std::ptrdiff_t dim_;
    };

    // Merges dims start_dim..end_dim: (N, C, H, W) -> (N, C*H*W) by default.
    template <class T = float>
    class Flatten : public Module<T>
    {
    public:
        explicit Flatten(std::ptrdiff_t start_dim = 1, std::ptrdiff_t end_dim = -1)
            : start_dim_(start_dim), end_dim_(end_dim)
        {
        }
        Tensor<T> forward(const Tensor<T>& input) override { return flatten(input, start_dim_, end_dim_); }
        std::string type_name() const override { return "Flatten"; }
        std::string extra_repr() const override
        {
            return "start_dim=" + std::to_string(start_dim_) + ", end_dim=" + std::to_string(end_dim_);
        }

    private:
        std::ptrdiff_t start_dim_, end_dim_;
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_ACTIVATION_TEMPLATES(EXTERN, T)                                                                      \
    EXTERN template class nn::ReLU<T>;                                                                                \
    EXTERN template class nn::Sigmoid<T>;                                                                             \
    EXTERN template class nn::Tanh<T>;                                                                                \
    EXTERN template class nn::GELU<T>;                                                                                \
    EXTERN template class nn::LeakyReLU<T>;                                                                           \
    EXTERN template class nn::Softmax<T>;                                                                             \
    EXTERN template class nn::Flatten<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_ACTIVATION_TEMPLATES)
}
