// Convolution layers with torch.nn's parameters, options and default initialisation: Conv1d and Conv2d
// (weight (out, in/groups, k...)), ConvTranspose1d and ConvTranspose2d (weight (in, out/groups, k...)),
// each with a bias (out).
//   nn::Conv2d(1, 32, /*kernel=*/3, nn::Conv2dOptions().padding(1))
//   nn::ConvTranspose2d(16, 8, 4, nn::ConvTranspose2dOptions().stride(2).padding(1))
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "../ops/conv.hpp"
#include "../config.hpp"
#include "init.hpp"
#include "module.hpp"

namespace xgrad::nn
{
    class Conv2dOptions : public ChainedOptions<Conv2dOptions>
    {
    public:
        XGRAD_OPTION(Size2, stride) = {1, 1};
        XGRAD_OPTION(Size2, padding) = {0, 0};
        XGRAD_OPTION(Size2, dilation) = {1, 1};
        XGRAD_OPTION(std::size_t, groups) = 1;
        XGRAD_OPTION(bool, bias) = true;

    public:
        // Square settings from one number: .stride(2), .padding(1), .dilation(2).
        Conv2dOptions& stride(std::size_t s) { return stride(Size2{s, s}); }
        Conv2dOptions& padding(std::size_t p) { return padding(Size2{p, p}); }
        Conv2dOptions& dilation(std::size_t d) { return dilation(Size2{d, d}); }
    };

    class ConvTranspose2dOptions : public ChainedOptions<ConvTranspose2dOptions>
    {
    public:
        XGRAD_OPTION(Size2, stride) = {1, 1};
        XGRAD_OPTION(Size2, padding) = {0, 0};
        XGRAD_OPTION(Size2, output_padding) = {0, 0};
        XGRAD_OPTION(std::size_t, groups) = 1;
        XGRAD_OPTION(bool, bias) = true;
        XGRAD_OPTION(Size2, dilation) = {1, 1};

    public:
        // Square settings from one number.
        ConvTranspose2dOptions& stride(std::size_t s) { return stride(Size2{s, s}); }
        ConvTranspose2dOptions& padding(std::size_t p) { return padding(Size2{p, p}); }
        ConvTranspose2dOptions& output_padding(std::size_t p) { return output_padding(Size2{p, p}); }
        ConvTranspose2dOptions& dilation(std::size_t d) { return dilation(Size2{d, d}); }
    };

    class Conv1dOptions : public ChainedOptions<Conv1dOptions>
    {
    public:
        XGRAD_OPTION(std::size_t, stride) = 1;
        XGRAD_OPTION(std::size_t, padding) = 0;
        XGRAD_OPTION(std::size_t, dilation) = 1;
        XGRAD_OPTION(std::size_t, groups) = 1;
        XGRAD_OPTION(bool, bias) = true;
    };

    class ConvTranspose1dOptions : public ChainedOptions<ConvTranspose1dOptions>
    {
    public:
        XGRAD_OPTION(std::size_t, stride) = 1;
        XGRAD_OPTION(std::size_t, padding) = 0;
        XGRAD_OPTION(std::size_t, output_padding) = 0;
        XGRAD_OPTION(std::size_t, groups) = 1;
        XGRAD_OPTION(bool, bias) = true;
        XGRAD_OPTION(std::size_t, dilation) = 1;
    };

    namespace detail
    {
        // One setting per spatial dim as PyTorch prints it: (3,) or (3, 3).
        inline std::string size_tuple(const std::vector<std::size_t>& sizes)
        {
            std::string text = "(";
            for (std::size_t i = 0; i < sizes.size(); ++i)
                text += (i ? ", " : "") + std::to_string(sizes[i]);
            return text + (sizes.size() == 1 ? ",)" : ")");
        }

        // A convolution layer's settings, one entry per spatial dim, for its printout.
        struct ConvSettings
        {
            std::vector<std::size_t> kernel, stride, padding, output_padding, dilation;
            std::size_t groups;
        };

        // torch's repr: the sizes, kernel_size and stride, then the settings that differ from their defaults.
        inline std::string conv_repr(std::size_t in_channels, std::size_t out_channels, const ConvSettings& s,
                                     bool has_bias)
        {
            auto all_equal = [](const std::vector<std::size_t>& sizes, std::size_t value) {
                for (auto size : sizes)
                    if (size != value)
                        return false;
                return true;
            };
            std::string text = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                               ", kernel_size=" + size_tuple(s.kernel) + ", stride=" + size_tuple(s.stride);
            if (!all_equal(s.padding, 0))
                text += ", padding=" + size_tuple(s.padding);
            if (!all_equal(s.output_padding, 0))
                text += ", output_padding=" + size_tuple(s.output_padding);
            if (!all_equal(s.dilation, 1))
                text += ", dilation=" + size_tuple(s.dilation);
            if (s.groups != 1)
                text += ", groups=" + std::to_string(s.groups);
            return text + (has_bias ? "" : ", bias=false");
        }
    }

    // What the convolution layers share: the weight and bias, created and initialised as PyTorch's
    // _ConvNd does, and the check of an input's rank and channels.
    template <class T>
    class ConvLayer : public Module<T>
    {
    public:
        std::string type_name() const override { return type_name_; }

        Tensor<T> weight;   // (out, in / groups, k...), transposed: (in, out / groups, k...)
        Tensor<T> bias;     // (out), undefined without bias

    protected:
        // Kaiming-uniform with a = sqrt(5) on the weight, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
        // fan_in = weight.size(1) · kernel elements (out / groups · k... for a transposed convolution, as
        // torch computes it), and the bias uniform in the same bound.
        ConvLayer(std::string type_name, std::size_t in_channels, std::size_t out_channels,
                  const std::vector<std::size_t>& kernel, std::size_t groups, bool transposed, bool has_bias)
            : type_name_(std::move(type_name)), in_channels_(in_channels), out_channels_(out_channels)
        {
            if (groups == 0 || in_channels % groups != 0 || out_channels % groups != 0)
                throw value_error(type_name_ + ": groups " + std::to_string(groups) + " must divide in_channels " +
                                  std::to_string(in_channels) + " and out_channels " + std::to_string(out_channels));
            if (in_channels == 0 || out_channels == 0)
                throw value_error(type_name_ + ": channels must be positive");
            for (auto extent : kernel)
                if (extent == 0)
                    throw value_error(type_name_ + ": kernel size must be positive, got " +
                                      detail::size_tuple(kernel));
            Shape weight_shape = transposed ? Shape{in_channels, out_channels / groups}
                                            : Shape{out_channels, in_channels / groups};
            weight_shape.insert(weight_shape.end(), kernel.begin(), kernel.end());
            weight = this->register_parameter("weight", zeros<T>(weight_shape));
            init::kaiming_uniform_(weight, std::sqrt(5.0));
            if (has_bias)
            {
                const double bound = 1.0 / std::sqrt(static_cast<double>(init::fans(weight).first));
                bias = this->register_parameter("bias", zeros<T>({out_channels}));
                init::uniform_(bias, -bound, bound);
            }
        }

        // The input must be (N, in_channels, spatial...); `layout` spells that out for the message.
        void check_input(const Tensor<T>& input, std::size_t rank, const std::string& layout) const
        {
            if (input.ndim() != rank || input.shape(1) != in_channels_)
                throw shape_error(type_name_ + "(" + this->extra_repr() + "): input must be (N, " +
                                  std::to_string(in_channels_) + layout + "), got " + shape_string(input.shape()));
        }

        std::string repr(const detail::ConvSettings& settings) const
        {
            return detail::conv_repr(in_channels_, out_channels_, settings, bias.defined());
        }

    private:
        std::string type_name_;
        std::size_t in_channels_, out_channels_;
    };

    // x: (N, in_channels, H, W)  ->  (N, out_channels, OH, OW)
    template <class T = float>
    class Conv2d : public ConvLayer<T>
    {
    public:
        Conv2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel_size,
               Conv2dOptions options = Conv2dOptions())
            : ConvLayer<T>("Conv2d", in_channels, out_channels, {kernel_size[0], kernel_size[1]}, options.groups(),
                           false, options.bias()),
              kernel_(kernel_size), options_(options)
        {
        }
        Conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size,
               Conv2dOptions options = Conv2dOptions())
            : Conv2d(in_channels, out_channels, Size2{kernel_size, kernel_size}, options)
        {
        }

        Tensor<T> forward(const Tensor<T>& input) override
        {
            this->check_input(input, 4, ", H, W");
            return conv2d(input, this->weight, this->bias, options_.stride(), options_.padding(), options_.dilation(),
                          options_.groups());
        }

        std::string extra_repr() const override
        {
            const auto& o = options_;
            return this->repr({{kernel_[0], kernel_[1]},
                               {o.stride()[0], o.stride()[1]},
                               {o.padding()[0], o.padding()[1]},
                               {},
                               {o.dilation()[0], o.dilation()[1]},
                               o.groups()});
        }

    private:
        Size2 kernel_;
        Conv2dOptions options_;
    };

    // x: (N, in_channels, H, W)  ->  (N, out_channels, OH, OW),  OH = (H - 1)·s - 2p + d·(kh - 1) + output_padding + 1
    template <class T = float>
    class ConvTranspose2d : public ConvLayer<T>
    {
    public:
        ConvTranspose2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel_size,
                        ConvTranspose2dOptions options = ConvTranspose2dOptions())
            : ConvLayer<T>("ConvTranspose2d", in_channels, out_channels, {kernel_size[0], kernel_size[1]},
                           options.groups(), true, options.bias()),
              kernel_(kernel_size), options_(options)
        {
        }
        ConvTranspose2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size,
                        ConvTranspose2dOptions options = ConvTranspose2dOptions())
            : ConvTranspose2d(in_channels, out_channels, Size2{kernel_size, kernel_size}, options)
        {
        }

        Tensor<T> forward(const Tensor<T>& input) override
        {
            this->check_input(input, 4, ", H, W");
            const auto& o = options_;
            return conv_transpose2d(input, this->weight, this->bias, o.stride(), o.padding(), o.output_padding(),
                                    o.groups(), o.dilation());
        }

        std::string extra_repr() const override
        {
            const auto& o = options_;
            return this->repr({{kernel_[0], kernel_[1]},
                               {o.stride()[0], o.stride()[1]},
                               {o.padding()[0], o.padding()[1]},
                               {o.output_padding()[0], o.output_padding()[1]},
                               {o.dilation()[0], o.dilation()[1]},
                               o.groups()});
        }

    private:
        Size2 kernel_;
        ConvTranspose2dOptions options_;
    };

    // x: (N, in_channels, L)  ->  (N, out_channels, OL)
    template <class T = float>
    class Conv1d : public ConvLayer<T>
    {
    public:
        Conv1d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size,
               Conv1dOptions options = Conv1dOptions())
            : ConvLayer<T>("Conv1d", in_channels, out_channels, {kernel_size}, options.groups(), false,
                           options.bias()),
              kernel_(kernel_size), options_(options)
        {
        }

        Tensor<T> forward(const Tensor<T>& input) override
        {
            this->check_input(input, 3, ", L");
            return conv1d(input, this->weight, this->bias, options_.stride(), options_.padding(), options_.dilation(),
                          options_.groups());
        }

        std::string extra_repr() const override
        {
            const auto& o = options_;
            return this->repr({{kernel_}, {o.stride()}, {o.padding()}, {}, {o.dilation()}, o.groups()});
        }

    private:
        std::size_t kernel_;
        Conv1dOptions options_;
    };

    // x: (N, in_channels, L)  ->  (N, out_channels, OL),  OL = (L - 1)·s - 2p + d·(k - 1) + output_padding + 1
    template <class T = float>
    class ConvTranspose1d : public ConvLayer<T>
    {
    public:
        ConvTranspose1d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size,
                        ConvTranspose1dOptions options = ConvTranspose1dOptions())
            : ConvLayer<T>("ConvTranspose1d", in_channels, out_channels, {kernel_size}, options.groups(), true,
                           options.bias()),
              kernel_(kernel_size), options_(options)
        {
        }

        Tensor<T> forward(const Tensor<T>& input) override
        {
            this->check_input(input, 3, ", L");
            const auto& o = options_;
            return conv_transpose1d(input, this->weight, this->bias, o.stride(), o.padding(), o.output_padding(),
                                    o.groups(), o.dilation());
        }

        std::string extra_repr() const override
        {
            const auto& o = options_;
            return this->repr({{kernel_}, {o.stride()}, {o.padding()}, {o.output_padding()}, {o.dilation()}, o.groups()});
        }

    private:
        std::size_t kernel_;
        ConvTranspose1dOptions options_;
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_CONV_TEMPLATES(EXTERN, T)                                                                            \
    EXTERN template class nn::ConvLayer<T>;                                                                           \
    EXTERN template class nn::Conv2d<T>;                                                                              \
    EXTERN template class nn::ConvTranspose2d<T>;                                                                     \
    EXTERN template class nn::Conv1d<T>;                                                                              \
    EXTERN template class nn::ConvTranspose1d<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_CONV_TEMPLATES)
}
