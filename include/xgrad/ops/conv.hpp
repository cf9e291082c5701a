// 2-D convolution (NCHW, PyTorch's conv2d) lowered to the GEMM kernel through im2col, and the two ops its
// backward is made of: conv2d_input_grad (a transposed convolution) and conv2d_weight_grad.  The three are
// each other's derivatives, so gradients of gradients of a convolution work to any order.
// conv_transpose2d is conv2d_input_grad with PyTorch's arguments; conv1d and conv_transpose1d are the 2-D
// ops on sequences seen as images of height 1.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../core/creation.hpp"
#include "../kernels/conv.hpp"
#include "shape.hpp"

namespace xgrad
{
    namespace detail
    {
        // Everything the three convolution ops share: the sizes of input (N, C_in, H, W), weight
        // (C_out, C_in/groups, kh, kw) and output (N, C_out, OH, OW), checked once.
        struct Conv2dGeometry : kernels::conv2d_batch_shape
        {
            Shape output_shape() const { return {batch, out_channels(), image.out_h, image.out_w}; }

            // The backward ops' grad_output must have the output's shape.
            void check_grad_output(const char* op, const Shape& grad_output, const Shape& input,
                                   const Shape& weight) const
            {
                if (grad_output != output_shape())
                    throw shape_error(std::string(op) + ": grad_output must have shape " +
                                      shape_string(output_shape()) + " for input " + shape_string(input) +
                                      " and weight " + shape_string(weight) + ", got " + shape_string(grad_output));
            }

            // Checks the shapes and parameters of `op` and works out the output size.
            static Conv2dGeometry make(const char* op, const Shape& input, const Shape& weight, Size2 stride,
                                       Size2 padding, Size2 dilation, std::size_t groups)
            {
                const std::string name(op);
                if (input.size() != 4)
                    throw shape_error(name + ": input must be 4-D NCHW, got shape " + shape_string(input));
                if (weight.size() != 4)
                    throw shape_error(name +
                                      ": weight must be 4-D (out_channels, in_channels / groups, kh, kw), "
                                      "got shape " +
                                      shape_string(weight));
                if (stride[0] == 0 || stride[1] == 0)
                    throw value_error(name + ": stride must be positive, got " + shape_string(stride));
                if (dilation[0] == 0 || dilation[1] == 0)
                    throw value_error(name + ": dilation must be positive, got " + shape_string(dilation));
                if (groups == 0)
                    throw value_error(name + ": groups must be positive, got 0");
                if (input[1] % groups != 0 || weight[0] % groups != 0)
                    throw value_error(name + ": groups = " + std::to_string(groups) + " must divide both the " +
                                      std::to_string(input[1]) + " input channels and the " +
                                      std::to_string(weight[0]) + " output channels (input " + shape_string(input) +
                                      ", weight " + shape_string(weight) + ")");
                if (weight[1] * groups != input[1])
                    throw shape_error(name + ": input " + shape_string(input) + " has " + std::to_string(input[1]) +
                                      " channels but weight " + shape_string(weight) + " with groups = " +
                                      std::to_string(groups) + " expects " + std::to_string(weight[1] * groups));
                if (weight[0] == 0 || weight[2] == 0 || weight[3] == 0)
                    throw shape_error(name + ": weight " + shape_string(weight) + " has an empty dimension");
                Conv2dGeometry g{};
                g.batch = input[0];
                g.groups = groups;
                g.out_per_group = weight[0] / groups;
                auto& s = g.image;
                s.channels = weight[1];
                s.in_h = input[2];
                s.in_w = input[3];
                s.kernel_h = weight[2];
                s.kernel_w = weight[3];
                s.stride_h = stride[0];
                s.stride_w = stride[1];
                s.padding_h = padding[0];
                s.padding_w = padding[1];
                s.dilation_h = dilation[0];
                s.dilation_w = dilation[1];
                const std::size_t span_h = dilation[0] * (weight[2] - 1) + 1;
                const std::size_t span_w = dilation[1] * (weight[3] - 1) + 1;
                if (span_h > input[2] + 2 * padding[0] || span_w > input[3] + 2 * padding[1])
                    throw shape_error(name + ": kernel " + shape_string(Size2{weight[2], weight[3]}) + " (dilation " +
                                      shape_string(dilation) + ") is larger than the padded input " +
                                      shape_string(Size2{input[2] + 2 * padding[0], input[3] + 2 * padding[1]}) +
                                      " (input " + shape_string(input) + ", weight " + shape_string(weight) +
                                      ", padding " + shape_string(padding) + ")");
                s.out_h = (input[2] + 2 * padding[0] - span_h) / stride[0] + 1;
                s.out_w = (input[3] + 2 * padding[1] - span_w) / stride[1] + 1;
                return g;
            }
        };

        // db[o] = Σ_{n, i, j} dy[n, o, i, j]   (linear in dy)   =>  dL/d(dy)[n, o, i, j] = dL/d(db)[o]
        template <class T>
        Tensor<T> conv2d_bias_grad(const Tensor<T>& dout)
        {
            XGRAD_PROFILE_OP("conv2d_bias_grad");
            const Shape shape = dout.shape();   // (N, C_out, OH, OW)
            const std::size_t channels = shape[1];
            xt::xarray<T> value = xt::empty<T>({channels});
            kernels::channel_sums(shape[0], channels, shape[2] * shape[3], dout.value().data(), value.data());
            return make_result<T>("conv2d_bias_grad", std::move(value), {dout},
                                  [shape, channels](const Tensor<T>& ddb) -> Grads<T> {
                                      return {broadcast_to(reshape_exact(ddb, Shape{1, channels, 1, 1}), shape)};
                                  });
        }

        struct Conv2dParams
        {
            Size2 stride, padding, dilation;
            std::size_t groups;
        };

        // The geometry as the exporter reads it (record_attributes).
        inline OpAttributes conv2d_attributes(const Conv2dParams& params)
        {
            return OpAttributes()
                .set_ints("stride", attribute_pair(params.stride))
                .set_ints("padding", attribute_pair(params.padding))
                .set_ints("dilation", attribute_pair(params.dilation))
                .set_int("groups", static_cast<std::int64_t>(params.groups));
        }
    }

    template <class T>
    Tensor<T> conv2d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>(),
                     Size2 stride = {1, 1}, Size2 padding = {0, 0}, Size2 dilation = {1, 1}, std::size_t groups = 1);
    template <class T>
    Tensor<T> conv2d_input_grad(const Tensor<T>& grad_output, const Tensor<T>& weight, const Shape& input_shape,
                                Size2 stride = {1, 1}, Size2 padding = {0, 0}, Size2 dilation = {1, 1},
                                std::size_t groups = 1);
    template <class T>
    Tensor<T> conv2d_weight_grad(const Tensor<T>& input, const Tensor<T>& grad_output, const Shape& weight_shape,
                                 Size2 stride = {1, 1}, Size2 padding = {0, 0}, Size2 dilation = {1, 1},
                                 std::size_t groups = 1);

    // y = conv2d(x, W) + b, as torch.nn.functional.conv2d:
    //   x: (N, C_in, H, W)   W: (C_out, C_in / groups, kh, kw)   b: (C_out) or undefined   y: (N, C_out, OH, OW)
    //   y[n, o, i, j] = b[o] + Σ_{c, ki, kj} W[o, c, ki, kj] · x[n, g·C_in/G + c, i·s - p + ki·d, j·s - p + kj·d]
    // Backward (y is linear in x and in W):
    //   dL/dx = conv2d_input_grad(dL/dy, W)    (col2im of Wᵀ · dy: a transposed convolution)
    //   dL/dW = conv2d_weight_grad(x, dL/dy)   (Σ_n dy · colᵀ)
    //   dL/db = conv2d_bias_grad(dL/dy) = Σ_{n, i, j} dL/dy[n, o, i, j]
    template <class T>
    Tensor<T> conv2d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias, Size2 stride,
                     Size2 padding, Size2 dilation, std::size_t groups)
    {
        XGRAD_PROFILE_OP("conv2d");
        const auto g =
            detail::Conv2dGeometry::make("conv2d", input.shape(), weight.shape(), stride, padding, dilation, groups);
        const bool has_bias = bias.defined();
        if (has_bias && bias.shape() != Shape{g.out_channels()})
            throw shape_error("conv2d: bias must have shape (" + std::to_string(g.out_channels()) + ",) for weight " +
                              shape_string(weight.shape()) + ", got " + shape_string(bias.shape()));
        xt::xarray<T> value = xt::empty<T>(g.output_shape());   // (N, C_out, OH, OW)
        kernels::conv2d(g, input.value().data(), weight.value().data(), value.data());
        if (has_bias)
            kernels::add_channel_bias(g.batch, g.out_channels(), g.image.col_cols(), bias.value().data(), value.data());
        std::vector<Tensor<T>> parents{input, weight};
        if (has_bias)
            parents.push_back(bias);
        const detail::Conv2dParams params{stride, padding, dilation, groups};
        const Tensor<T> result = make_result<T>(
            "conv2d", std::move(value), std::move(parents),
            [input, weight, bias, params](const Tensor<T>& dout) -> Grads<T> {
                const Size2 s = params.stride, p = params.padding, d = params.dilation;
                const std::size_t groups = params.groups;
                Grads<T> grads{
                    detail::grad_if_needed(
                        input, [&] { return conv2d_input_grad(dout, weight, input.shape(), s, p, d, groups); }),
                    detail::grad_if_needed(
                        weight, [&] { return conv2d_weight_grad(input, dout, weight.shape(), s, p, d, groups); })};
                if (bias.defined())
                    grads.push_back(detail::grad_if_needed(bias, [&] { return detail::conv2d_bias_grad(dout); }));
                return grads;
            });
        return record_attributes(result, [&] { return detail::conv2d_attributes(params); });
    }

    // The same with one stride, padding and dilation for both spatial dims.
    template <class T>
    Tensor<T> conv2d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias, std::size_t stride,
                     std::size_t padding = 0, std::size_t dilation = 1, std::size_t groups = 1)
    {
        return conv2d(input, weight, bias, Size2{stride, stride}, Size2{padding, padding}, Size2{dilation, dilation},
                      groups);
    }

    // dx = conv2d_input_grad(dy, W): the gradient of conv2d with respect to its input, input_shape saying which
    // input size (several map to one output size when stride > 1).  As torch.nn.grad.conv2d_input.  It is
    // linear in dy and in W; from <ddx, conv2d_input_grad(dy, W)> = <conv2d(ddx, W), dy>:
    //   dL/d(dy) = conv2d(dL/d(dx), W)
    //   dL/dW    = conv2d_weight_grad(dL/d(dx), dy)
    template <class T>
    Tensor<T> conv2d_input_grad(const Tensor<T>& grad_output, const Tensor<T>& weight, const Shape& input_shape,
                                Size2 stride, Size2 padding, Size2 dilation, std::size_t groups)
    {
        XGRAD_PROFILE_OP("conv2d_input_grad");
        const auto g = detail::Conv2dGeometry::make("conv2d_input_grad", input_shape, weight.shape(), stride, padding,
                                                    dilation, groups);
        g.check_grad_output("conv2d_input_grad", grad_output.shape(), input_shape, weight.shape());
        xt::xarray<T> value = xt::empty<T>(input_shape);   // (N, C_in, H, W)
        kernels::conv2d_input_grad(g, grad_output.value().data(), weight.value().data(), value.data());
        const detail::Conv2dParams params{stride, padding, dilation, groups};
        const Tensor<T> result = make_result<T>(
            "conv2d_input_grad", std::move(value), {grad_output, weight},
            [grad_output, weight, params](const Tensor<T>& dout) -> Grads<T> {
                const Size2 s = params.stride, p = params.padding, d = params.dilation;
                const std::size_t groups = params.groups;
                return {detail::grad_if_needed(grad_output,
                                               [&] { return conv2d(dout, weight, Tensor<T>(), s, p, d, groups); }),
                        detail::grad_if_needed(weight, [&] {
                            return conv2d_weight_grad(dout, grad_output, weight.shape(), s, p, d, groups);
                        })};
            });
        return record_attributes(result, [&] { return detail::conv2d_attributes(params); });
    }

    // dW = conv2d_weight_grad(x, dy): the gradient of conv2d with respect to its weight, as
    // torch.nn.grad.conv2d_weight.  It is linear in x and in dy; from <ddW, conv2d_weight_grad(x, dy)> =
    // <conv2d(x, ddW), dy>:
    //   dL/dx    = conv2d_input_grad(dy, dL/d(dW))
    //   dL/d(dy) = conv2d(x, dL/d(dW))
    template <class T>
    Tensor<T> conv2d_weight_grad(const Tensor<T>& input, const Tensor<T>& grad_output, const Shape& weight_shape,
                                 Size2 stride, Size2 padding, Size2 dilation, std::size_t groups)
    {
        XGRAD_PROFILE_OP("conv2d_weight_grad");
        const auto g = detail::Conv2dGeometry::make("conv2d_weight_grad", input.shape(), weight_shape, stride, padding,
                                                    dilation, groups);
        g.check_grad_output("conv2d_weight_grad", grad_output.shape(), input.shape(), weight_shape);
        xt::xarray<T> value = xt::empty<T>(weight_shape);   // (C_out, C_in / groups, kh, kw)
        kernels::conv2d_weight_grad(g, input.value().data(), grad_output.value().data(), value.data());
        const detail::Conv2dParams params{stride, padding, dilation, groups};
        return make_result<T>(
            "conv2d_weight_grad", std::move(value), {input, grad_output},
            [input, grad_output, params](const Tensor<T>& dout) -> Grads<T> {
                const Size2 s = params.stride, p = params.padding, d = params.dilation;
                const std::size_t groups = params.groups;
                return {
                    detail::grad_if_needed(
                        input, [&] { return conv2d_input_grad(grad_output, dout, input.shape(), s, p, d, groups); }),
                    detail::grad_if_needed(grad_output,
                                           [&] { return conv2d(input, dout, Tensor<T>(), s, p, d, groups); })};
            });
    }

    namespace detail
    {
        // The output shape of conv_transpose2d (N, C_out, OH, OW), its arguments checked; along each dim
        //   OH = (H - 1)·stride - 2·padding + dilation·(kernel - 1) + output_padding + 1
        inline Shape conv_transpose2d_output_shape(const Shape& input, const Shape& weight, Size2 stride,
                                                   Size2 padding, Size2 output_padding, std::size_t groups,
                                                   Size2 dilation)
        {
            const std::string name("conv_transpose2d");
            if (input.size() != 4)
                throw shape_error(name + ": input must be 4-D NCHW, got shape " + shape_string(input));
            if (weight.size() != 4)
                throw shape_error(name +
                                  ": weight must be 4-D (in_channels, out_channels / groups, kh, kw), got shape " +
                                  shape_string(weight));
            if (stride[0] == 0 || stride[1] == 0)
                throw value_error(name + ": stride must be positive, got " + shape_string(stride));
            if (dilation[0] == 0 || dilation[1] == 0)
                throw value_error(name + ": dilation must be positive, got " + shape_string(dilation));
            if (groups == 0 || input[1] % groups != 0)
                throw value_error(name + ": groups = " + std::to_string(groups) + " must divide the " +
                                  std::to_string(input[1]) + " input channels (input " + shape_string(input) + ")");
            if (weight[0] != input[1])
                throw shape_error(name + ": input " + shape_string(input) + " has " + std::to_string(input[1]) +
                                  " channels but weight " + shape_string(weight) + " expects " +
                                  std::to_string(weight[0]));
            if (weight[1] == 0 || weight[2] == 0 || weight[3] == 0 || input[2] == 0 || input[3] == 0)
                throw shape_error(name + ": input " + shape_string(input) + " or weight " + shape_string(weight) +
                                  " has an empty dimension");
            Shape output{input[0], weight[1] * groups, 0, 0};
            for (std::size_t d = 0; d < 2; ++d)
            {
                if (output_padding[d] >= stride[d] && output_padding[d] >= dilation[d])
                    throw value_error(name + ": output_padding " + shape_string(output_padding) +
                                      " must be smaller than the stride " + shape_string(stride) +
                                      " or the dilation " + shape_string(dilation));
                const std::size_t extent = (input[2 + d] - 1) * stride[d] + dilation[d] * (weight[2 + d] - 1) +
                                           output_padding[d] + 1;
                if (extent <= 2 * padding[d])
                    throw shape_error(name + ": padding " + shape_string(padding) + " leaves no output for input " +
                                      shape_string(input) + " and weight " + shape_string(weight));
                output[2 + d] = extent - 2 * padding[d];
            }
            return output;
        }

        // The transposed convolution when an output_padding reaches the stride (allowed below the dilation):
        // conv2d_input_grad takes only sizes that convolve back to the input's, which such an output is not,
        // so compute the unpadded transposed convolution and take PyTorch's window of it, [padding,
        // padding + OH) along each dim, the positions past its end (reached by no input) as zeros.
        template <class T>
        Tensor<T> conv_transpose2d_by_window(const Tensor<T>& input, const Tensor<T>& weight, const Shape& output_shape,
                                             Size2 stride, Size2 padding, std::size_t groups, Size2 dilation)
        {
            Shape full_shape = output_shape;   // (N, C_out, (H - 1)·s + d·(kh - 1) + 1, ...)
            for (std::size_t d = 0; d < 2; ++d)
                full_shape[2 + d] = (input.shape(2 + d) - 1) * stride[d] + dilation[d] * (weight.shape(2 + d) - 1) + 1;
            Tensor<T> output = conv2d_input_grad(input, weight, full_shape, stride, Size2{0, 0}, dilation, groups);
            for (std::size_t d = 0; d < 2; ++d)
            {
                const auto dim = static_cast<std::ptrdiff_t>(2 + d);
                const std::size_t available = std::min(full_shape[2 + d] - std::min(padding[d], full_shape[2 + d]),
                                                       output_shape[2 + d]);
                Shape padded = output.shape();
                padded[2 + d] = output_shape[2 + d];
                output = available == 0 ? zeros<T>(padded)
                                        : narrow_backward(narrow(output, dim, padding[d], available), padded,
                                                          2 + d, 0);
            }
            return output;
        }
    }

    // y = conv_transpose2d(x, W) + b, as torch.nn.functional.conv_transpose2d: the adjoint of conv2d with the
    // same weight, that is conv2d_input_grad (a gradient-of-input of conv2d is exactly this computation).
    //   x: (N, C_in, H, W)   W: (C_in, C_out / groups, kh, kw)   b: (C_out) or undefined   y: (N, C_out, OH, OW)
    //   y[n, g·C_out/G + o, i·s - p + ki·d, j·s - p + kj·d] += W[c, o, ki, kj] · x[n, c, i, j]   (c in group g)
    //   OH = (H - 1)·s - 2p + d·(kh - 1) + output_padding + 1, output_padding below the stride or the dilation
    // Backward: conv2d_input_grad's, dL/dx = conv2d(dL/dy, W) and dL/dW = conv2d_weight_grad(dL/dy, x);
    // the bias is added by broadcasting, so dL/db = Σ_{n, i, j} dL/dy[n, o, i, j].
    template <class T>
    Tensor<T> conv_transpose2d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>(),
                               Size2 stride = {1, 1}, Size2 padding = {0, 0}, Size2 output_padding = {0, 0},
                               std::size_t groups = 1, Size2 dilation = {1, 1})
    {
        XGRAD_PROFILE_OP("conv_transpose2d");
        const Shape output_shape = detail::conv_transpose2d_output_shape(input.shape(), weight.shape(), stride,
                                                                         padding, output_padding, groups, dilation);
        const std::size_t out_channels = output_shape[1];
        if (bias.defined() && bias.shape() != Shape{out_channels})
            throw shape_error("conv_transpose2d: bias must have shape (" + std::to_string(out_channels) +
                              ",) for weight " + shape_string(weight.shape()) + " and groups = " +
                              std::to_string(groups) + ", got " + shape_string(bias.shape()));
        const Tensor<T> output =
            output_padding[0] < stride[0] && output_padding[1] < stride[1]
                ? conv2d_input_grad(input, weight, output_shape, stride, padding, dilation, groups)
                : detail::conv_transpose2d_by_window(input, weight, output_shape, stride, padding, groups, dilation);
        if (!bias.defined())
            return output;
        return add(output, reshape(bias, Dims{1, static_cast<std::ptrdiff_t>(out_channels), 1, 1}));
    }

    // The same with one stride, padding, output_padding and dilation for both spatial dims.
    template <class T>
    Tensor<T> conv_transpose2d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias,
                               std::size_t stride, std::size_t padding = 0, std::size_t output_padding = 0,
                               std::size_t groups = 1, std::size_t dilation = 1)
    {
        return conv_transpose2d(input, weight, bias, Size2{stride, stride}, Size2{padding, padding},
                                Size2{output_padding, output_padding}, groups, Size2{dilation, dilation});
    }

    // y = conv1d(x, W) + b, as torch.nn.functional.conv1d: conv2d of x seen as (N, C_in, 1, L) and W as
    // (C_out, C_in / groups, 1, k), so its backward is conv2d's through the views.
    //   x: (N, C_in, L)   W: (C_out, C_in / groups, k)   b: (C_out) or undefined   y: (N, C_out, OL)
    //   OL = (L + 2p - d·(k - 1) - 1) / s + 1
    template <class T>
    Tensor<T> conv1d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>(),
                     std::size_t stride = 1, std::size_t padding = 0, std::size_t dilation = 1, std::size_t groups = 1)
    {
        const Tensor<T> image = detail::sequence_as_image("conv1d", "input", "(N, C, L)", input);
        const Tensor<T> kernel =
            detail::sequence_as_image("conv1d", "weight", "(out_channels, in_channels / groups, k)", weight);
        return squeeze(conv2d(image, kernel, bias, Size2{1, stride}, Size2{0, padding}, Size2{1, dilation}, groups), 2);
    }

    // y = conv_transpose1d(x, W) + b, as torch.nn.functional.conv_transpose1d: conv_transpose2d on rows.
    //   x: (N, C_in, L)   W: (C_in, C_out / groups, k)   b: (C_out) or undefined   y: (N, C_out, OL)
    //   OL = (L - 1)·s - 2p + d·(k - 1) + output_padding + 1
    template <class T>
    Tensor<T> conv_transpose1d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>(),
                               std::size_t stride = 1, std::size_t padding = 0, std::size_t output_padding = 0,
                               std::size_t groups = 1, std::size_t dilation = 1)
    {
        const Tensor<T> image = detail::sequence_as_image("conv_transpose1d", "input", "(N, C, L)", input);
        const Tensor<T> kernel = detail::sequence_as_image("conv_transpose1d", "weight",
                                                           "(in_channels, out_channels / groups, k)", weight);
        return squeeze(conv_transpose2d(image, kernel, bias, Size2{1, stride}, Size2{0, padding},
                                        Size2{0, output_padding}, groups, Size2{1, dilation}),
                       2);
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPS_CONV_TEMPLATES(EXTERN, T)                                                                           \
    EXTERN template Tensor<T> conv2d<T>(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, Size2, Size2, Size2,    \
                                        std::size_t);                                                                 \
    EXTERN template Tensor<T> conv2d<T>(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, std::size_t,            \
                                        std::size_t, std::size_t, std::size_t);                                       \
    EXTERN template Tensor<T> conv_transpose2d<T>(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, Size2,        \
                                                  Size2, Size2, std::size_t, Size2);                                  \
    EXTERN template Tensor<T> conv_transpose2d<T>(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, std::size_t,  \
                                                  std::size_t, std::size_t, std::size_t, std::size_t);                \
    EXTERN template Tensor<T> conv1d<T>(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, std::size_t,            \
                                        std::size_t, std::size_t, std::size_t);                                       \
    EXTERN template Tensor<T> conv_transpose1d<T>(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, std::size_t,  \
                                                  std::size_t, std::size_t, std::size_t, std::size_t);                \
    EXTERN template Tensor<T> conv2d_input_grad<T>(const Tensor<T>&, const Tensor<T>&, const Shape&, Size2, Size2,    \
                                                   Size2, std::size_t);                                               \
    EXTERN template Tensor<T> conv2d_weight_grad<T>(const Tensor<T>&, const Tensor<T>&, const Shape&, Size2, Size2,   \
                                                    Size2, std::size_t);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPS_CONV_TEMPLATES)
}
