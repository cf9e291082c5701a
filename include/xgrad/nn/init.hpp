// Parameter initialisation, as torch.nn.init: each function fills a tensor in place and returns it.
// fan_in / fan_out of a weight (out, in, k...) are in·k and out·k, as PyTorch computes them.
#pragma once

#include <cmath>
#include <string>
#include <utility>

#include "../config.hpp"
#include "../core/creation.hpp"
#include "../core/tensor.hpp"

namespace xgrad::nn::init
{
    // (fan_in, fan_out) of a weight of shape (out, in, receptive...).
    template <class T>
    std::pair<std::size_t, std::size_t> fans(const Tensor<T>& weight)
    {
        if (weight.ndim() < 2)
            throw shape_error("init: fan in and fan out need a tensor with at least 2 dims, got shape " +
                              shape_string(weight.shape()));
        const std::size_t receptive = weight.numel() / (weight.shape(0) * weight.shape(1));
        return {weight.shape(1) * receptive, weight.shape(0) * receptive};
    }

    // The gain PyTorch recommends for a nonlinearity: "linear", "sigmoid", "tanh", "relu", "leaky_relu".
    inline double calculate_gain(const std::string& nonlinearity, double negative_slope = 0.01)
    {
        if (nonlinearity == "linear" || nonlinearity == "sigmoid" || nonlinearity == "conv2d")
            return 1.0;
        if (nonlinearity == "tanh")
            return 5.0 / 3.0;
        if (nonlinearity == "relu")
            return std::sqrt(2.0);
        if (nonlinearity == "leaky_relu")
            return std::sqrt(2.0 / (1.0 + negative_slope * negative_slope));
        throw value_error("calculate_gain: unknown nonlinearity \"" + nonlinearity + "\"");
    }

    template <class T, class Rng = Generator>
    Tensor<T>& uniform_(Tensor<T>& tensor, double low, double high, Rng& rng = default_generator())
    {
        tensor.mutable_value() = rand<T>(tensor.shape(), rng, false, T(low), T(high)).value();
        return tensor;
    }

    template <class T, class Rng = Generator>
    Tensor<T>& normal_(Tensor<T>& tensor, double mean, double stddev, Rng& rng = default_generator())
    {
        tensor.mutable_value() = randn<T>(tensor.shape(), rng, false, T(mean), T(stddev)).value();
        return tensor;
    }

    template <class T>
    Tensor<T>& constant_(Tensor<T>& tensor, double value)
    {
        tensor.mutable_value().fill(T(value));
        return tensor;
    }
    template <class T> Tensor<T>& zeros_(Tensor<T>& tensor) { return constant_(tensor, 0.0); }
    template <class T> Tensor<T>& ones_(Tensor<T>& tensor) { return constant_(tensor, 1.0); }

    // U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))
    template <class T, class Rng = Generator>
    Tensor<T>& xavier_uniform_(Tensor<T>& tensor, double gain = 1.0, Rng& rng = default_generator())
    {
        const auto [fan_in, fan_out] = fans(tensor);
        const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
        return uniform_(tensor, -bound, bound, rng);
    }

    // N(0, s^2) with s = gain * sqrt(2 / (fan_in + fan_out))
    template <class T, class Rng = Generator>
    Tensor<T>& xavier_normal_(Tensor<T>& tensor, double gain = 1.0, Rng& rng = default_generator())
    {
        const auto [fan_in, fan_out] = fans(tensor);
        return normal_(tensor, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), rng);
    }

    namespace detail
    {
        template <class T>
        double kaiming_std(const Tensor<T>& tensor, double a, const std::string& mode, const std::string& nonlinearity)
        {
            const auto [fan_in, fan_out] = fans(tensor);
            if (mode != "fan_in" && mode != "fan_out")
                throw value_error("kaiming init: mode must be \"fan_in\" or \"fan_out\", got \"" + mode + "\"");
            const double fan = static_cast<double>(mode == "fan_in" ? fan_in : fan_out);
            return calculate_gain(nonlinearity, a) / std::sqrt(fan);
        }
    }

    // U(-b, b) with b = gain * sqrt(3 / fan); PyTorch's default for Linear and Conv2d weights is a = sqrt(5).
    template <class T, class Rng = Generator>
    Tensor<T>& kaiming_uniform_(Tensor<T>& tensor, double a = 0.0, const std::string& mode = "fan_in",
                                const std::string& nonlinearity = "leaky_relu", Rng& rng = default_generator())
    {
        const double bound = std::sqrt(3.0) * detail::kaiming_std(tensor, a, mode, nonlinearity);
        return uniform_(tensor, -bound, bound, rng);
    }

    // N(0, s^2) with s = gain / sqrt(fan)
    template <class T, class Rng = Generator>
    Tensor<T>& kaiming_normal_(Tensor<T>& tensor, double a = 0.0, const std::string& mode = "fan_in",
                               const std::string& nonlinearity = "leaky_relu", Rng& rng = default_generator())
    {
        return normal_(tensor, 0.0, detail::kaiming_std(tensor, a, mode, nonlinearity), rng);
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_INIT_TEMPLATES(EXTERN, T)                                                                            \
    EXTERN template Tensor<T>& nn::init::uniform_<T, Generator>(Tensor<T>&, double, double, Generator&);              \
    EXTERN template Tensor<T>& nn::init::normal_<T, Generator>(Tensor<T>&, double, double, Generator&);               \
    EXTERN template Tensor<T>& nn::init::constant_<T>(Tensor<T>&, double);                                            \
    EXTERN template Tensor<T>& nn::init::xavier_uniform_<T, Generator>(Tensor<T>&, double, Generator&);               \
    EXTERN template Tensor<T>& nn::init::xavier_normal_<T, Generator>(Tensor<T>&, double, Generator&);                \
    EXTERN template Tensor<T>& nn::init::kaiming_uniform_<T, Generator>(Tensor<T>&, double, const std::string&,       \
                                                                        const std::string&, Generator&);              \
    EXTERN template Tensor<T>& nn::init::kaiming_normal_<T, Generator>(Tensor<T>&, double, const std::string&,        \
                                                                       const std::string&, Generator&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_INIT_TEMPLATES)
}
