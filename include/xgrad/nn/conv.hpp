// nn::Conv2d: a 2-D convolution layer with torch.nn.Conv2d's parameters (weight (out, in/groups, kh, kw),
// bias (out)), options and default initialisation.
//   nn::Conv2d(1, 32, /*kernel=*/3, nn::Conv2dOptions().padding(1))
#pragma once

#include <cmath>
#include <string>

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

    template <class T = float>
    class Conv2d : public Module<T>
    {
    public:
        // Weight and bias as PyTorch: Kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        Conv2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel_size,
               Conv2dOptions options = Conv2dOptions())
            : in_channels_(in_channels), out_channels_(out_channels), kernel_(kernel_size), options_(options)
        {
            if (options.groups() == 0 || in_channels % options.groups() != 0 || out_channels % options.groups() != 0)
                throw value_error("Conv2d: groups " + std::to_string(options.groups()) +
                                  " must divide in_channels " + std::to_string(in_channels) + " and out_channels " +
                                  std::to_string(out_channels));
            if (in_channels == 0 || out_channels == 0 || kernel_size[0] == 0 || kernel_size[1] == 0)
                throw value_error("Conv2d: channels and kernel size must be positive");
            const std::size_t in_per_group = in_channels / options.groups();
            weight = this->register_parameter("weight", zeros<T>({out_channels, in_per_group, kernel_size[0], kernel_size[1]}));
            init::kaiming_uniform_(weight, std::sqrt(5.0));
            if (options.bias())
            {
                const double fan_in = static_cast<double>(in_per_group * kernel_size[0] * kernel_size[1]);
                bias = this->register_parameter("bias", zeros<T>({out_channels}));
                init::uniform_(bias, -1.0 / std::sqrt(fan_in), 1.0 / std::sqrt(fan_in));
            }
        }
        Conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size,
               Conv2dOptions options = Conv2dOptions())
            : Conv2d(in_channels, out_channels, Size2{kernel_size, kernel_size}, options)
        {
        }

        // x: (N, in_channels, H, W)  ->  (N, out_channels, OH, OW)
        Tensor<T> forward(const Tensor<T>& input) override
        {
            if (input.ndim() != 4 || input.shape(1) != in_channels_)
                throw shape_error("Conv2d(" + extra_repr() + "): input must be (N, " + std::to_string(in_channels_) +
                                  ", H, W), got " + shape_string(input.shape()));
            return conv2d(input, weight, bias, options_.stride(), options_.padding(), options_.dilation(),
                          options_.groups());
        }

        std::string type_name() const override { return "Conv2d"; }
        std::string extra_repr() const override
        {
            auto pair = [](const Size2& s) { return "(" + std::to_string(s[0]) + ", " + std::to_string(s[1]) + ")"; };
            std::string text = std::to_string(in_channels_) + ", " + std::to_string(out_channels_) +
                               ", kernel_size=" + pair(kernel_) + ", stride=" + pair(options_.stride());
            if (options_.padding() != Size2{0, 0})
                text += ", padding=" + pair(options_.padding());
            if (options_.dilation() != Size2{1, 1})
                text += ", dilation=" + pair(options_.dilation());
            if (options_.groups() != 1)
                text += ", groups=" + std::to_string(options_.groups());
            return text + (bias.defined() ? "" : ", bias=false");
        }

        Tensor<T> weight;   // (out, in / groups, kh, kw)
        Tensor<T> bias;     // (out), undefined without bias

    private:
        std::size_t in_channels_, out_channels_;
        Size2 kernel_;
        Conv2dOptions options_;
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_CONV_TEMPLATES(EXTERN, T)                                                                            \
    EXTERN template class nn::Conv2d<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_CONV_TEMPLATES)
}
