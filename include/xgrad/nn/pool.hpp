// Pooling layers: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d over (N, C, H, W) inputs, MaxPool1d and
// AvgPool1d over (N, C, L) inputs.
#pragma once

#include <string>

#include "../config.hpp"
#include "../ops/pool.hpp"
#include "module.hpp"

namespace xgrad::nn
{
    namespace detail
    {
        inline std::string pool_repr(const Size2& kernel, const Size2& stride, const Size2& padding)
        {
            auto pair = [](const Size2& s) {
                return s[0] == s[1] ? std::to_string(s[0]) : "(" + std::to_string(s[0]) + ", " + std::to_string(s[1]) + ")";
            };
            return "kernel_size=" + pair(kernel) + ", stride=" + pair(stride) + ", padding=" + pair(padding);
        }

        template <class T>
        void check_image_batch(const std::string& layer, const Tensor<T>& input)
        {
            if (input.ndim() != 4)
                throw shape_error(layer + ": input must be 4-D (N, C, H, W), got shape " + shape_string(input.shape()));
        }

        template <class T>
        void check_sequence_batch(const std::string& layer, const Tensor<T>& input)
        {
            if (input.ndim() != 3)
                throw shape_error(layer + ": input must be 3-D (N, C, L), got shape " + shape_string(input.shape()));
        }

        // The 1-D settings as the printout of the 2-D ones, which shows a square size as one number.
        inline std::string pool1d_repr(std::size_t kernel, std::size_t stride, std::size_t padding)
        {
            return pool_repr(Size2{kernel, kernel}, Size2{stride, stride}, Size2{padding, padding});
        }
    }

    // Maximum over each kernel window; the stride defaults to the kernel size.
    template <class T = float>
    class MaxPool2d : public Module<T>
    {
    public:
        MaxPool2d(Size2 kernel, Size2 stride, Size2 padding = {0, 0}) : kernel_(kernel), stride_(stride), padding_(padding) {}
        explicit MaxPool2d(std::size_t kernel, std::size_t stride = 0, std::size_t padding = 0)
            : MaxPool2d(Size2{kernel, kernel}, Size2{stride ? stride : kernel, stride ? stride : kernel}, Size2{padding, padding})
        {
        }
        Tensor<T> forward(const Tensor<T>& input) override
        {
            detail::check_image_batch(type_name(), input);
            return max_pool2d(input, kernel_, stride_, padding_);
        }
        std::string type_name() const override { return "MaxPool2d"; }
        std::string extra_repr() const override { return detail::pool_repr(kernel_, stride_, padding_); }

    private:
        Size2 kernel_, stride_, padding_;
    };

    // Mean over each kernel window (padding counts in the divisor, as PyTorch's default).
    template <class T = float>
    class AvgPool2d : public Module<T>
    {
    public:
        AvgPool2d(Size2 kernel, Size2 stride, Size2 padding = {0, 0}) : kernel_(kernel), stride_(stride), padding_(padding) {}
        explicit AvgPool2d(std::size_t kernel, std::size_t stride = 0, std::size_t padding = 0)
            : AvgPool2d(Size2{kernel, kernel}, Size2{stride ? stride : kernel, stride ? stride : kernel}, Size2{padding, padding})
        {
        }
        Tensor<T> forward(const Tensor<T>& input) override
        {
            detail::check_image_batch(type_name(), input);
            return avg_pool2d(input, kernel_, stride_, padding_);
        }
        std::string type_name() const override { return "AvgPool2d"; }
        std::string extra_repr() const override { return detail::pool_repr(kernel_, stride_, padding_); }

    private:
        Size2 kernel_, stride_, padding_;
    };

    // Mean over PyTorch's adaptive bins, giving an output of a fixed size ((1, 1): global average pooling).
    template <class T = float>
    class AdaptiveAvgPool2d : public Module<T>
    {
    public:
        explicit AdaptiveAvgPool2d(Size2 output_size) : output_size_(output_size) {}
        explicit AdaptiveAvgPool2d(std::size_t output_size) : output_size_{output_size, output_size} {}
        Tensor<T> forward(const Tensor<T>& input) override
        {
            detail::check_image_batch(type_name(), input);
            return adaptive_avg_pool2d(input, output_size_);
        }
        std::string type_name() const override { return "AdaptiveAvgPool2d"; }
        std::string extra_repr() const override
        {
            return "output_size=(" + std::to_string(output_size_[0]) + ", " + std::to_string(output_size_[1]) + ")";
        }

    private:
        Size2 output_size_;
    };

    // Maximum over each window of a sequence; the stride defaults to the kernel size.
    template <class T = float>
    class MaxPool1d : public Module<T>
    {
    public:
        explicit MaxPool1d(std::size_t kernel_size, std::size_t stride = 0, std::size_t padding = 0)
            : kernel_(kernel_size), stride_(stride ? stride : kernel_size), padding_(padding)
        {
        }
        Tensor<T> forward(const Tensor<T>& input) override
        {
            detail::check_sequence_batch(type_name(), input);
            return max_pool1d(input, kernel_, stride_, padding_);
        }
        std::string type_name() const override { return "MaxPool1d"; }
        std::string extra_repr() const override { return detail::pool1d_repr(kernel_, stride_, padding_); }

    private:
        std::size_t kernel_, stride_, padding_;
    };

    // Mean over each window of a sequence (padding counts in the divisor); the stride defaults to the kernel size.
    template <class T = float>
    class AvgPool1d : public Module<T>
    {
    public:
        explicit AvgPool1d(std::size_t kernel_size, std::size_t stride = 0, std::size_t padding = 0)
            : kernel_(kernel_size), stride_(stride ? stride : kernel_size), padding_(padding)
        {
        }
        Tensor<T> forward(const Tensor<T>& input) override
        {
            detail::check_sequence_batch(type_name(), input);
            return avg_pool1d(input, kernel_, stride_, padding_);
        }
        std::string type_name() const override { return "AvgPool1d"; }
        std::string extra_repr() const override { return detail::pool1d_repr(kernel_, stride_, padding_); }

    private:
        std::size_t kernel_, stride_, padding_;
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_POOL_TEMPLATES(EXTERN, T)                                                                            \
    EXTERN template class nn::MaxPool2d<T>;                                                                           \
    EXTERN template class nn::AvgPool2d<T>;                                                                           \
    EXTERN template class nn::AdaptiveAvgPool2d<T>;                                                                   \
    EXTERN template class nn::MaxPool1d<T>;                                                                           \
    EXTERN template class nn::AvgPool1d<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_POOL_TEMPLATES)
}
