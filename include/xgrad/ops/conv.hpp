// 2-D convolution (NCHW, PyTorch's conv2d) lowered to the GEMM kernel through im2col, and the two ops its
// backward is made of: conv2d_input_grad (a transposed convolution) and conv2d_weight_grad.  The three are
// each other's derivatives, so gradients of gradients of a convolution work to any order.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "../kernels/gemm.hpp"
#include "../kernels/im2col.hpp"
#include "../kernels/simd.hpp"
#include "../parallel.hpp"
#include "shape.hpp"

namespace xgrad
{
    namespace detail
    {
        // Everything the three convolution ops share: the sizes of input (N, C_in, H, W), weight
        // (C_out, C_in/groups, kh, kw) and output (N, C_out, OH, OW), checked once.
        struct Conv2dGeometry
        {
            std::size_t batch = 0, in_channels = 0, out_channels = 0, groups = 1;
            kernels::conv2d_shape image{};   // one image and one group: channels = C_in / groups

            Shape input_shape() const { return {batch, in_channels, image.in_h, image.in_w}; }
            Shape weight_shape() const { return {out_channels, image.channels, image.kernel_h, image.kernel_w}; }
            Shape output_shape() const { return {batch, out_channels, image.out_h, image.out_w}; }
            std::size_t out_per_group() const { return out_channels / groups; }
            // A 1×1 kernel with stride 1 and no padding: the column matrix is the image itself.
            bool pointwise() const
            {
                const auto& s = image;
                return s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.padding_h == 0 &&
                       s.padding_w == 0;
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
                Conv2dGeometry g;
                g.batch = input[0];
                g.in_channels = input[1];
                g.out_channels = weight[0];
                g.groups = groups;
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

        // Runs image_fn(n, col_buffer) for every image n.  With at least as many images as threads the batch
        // is split across threads, each with its own column buffer, and the GEMMs inside run single-threaded
        // (parallel_for nested in a chunk runs inline); otherwise images go one by one and each GEMM uses
        // every thread.  part_fn(part, first, end) sees the split, for per-thread accumulators.
        template <class T, class PartFn>
        void for_batch_parts(std::size_t batch, std::size_t parts, PartFn&& part_fn)
        {
            if (parts <= 1)
            {
                part_fn(0, 0, batch);
                return;
            }
            parallel_for(0, parts, 1, [&](std::size_t first_part, std::size_t end_part) {
                for (std::size_t part = first_part; part < end_part; ++part)
                    part_fn(part, part * batch / parts, (part + 1) * batch / parts);
            });
        }

        inline std::size_t batch_parts(std::size_t batch)
        {
            const std::size_t threads = get_num_threads();
            return batch >= threads ? threads : 1;
        }

        // y (N, C_out, OH·OW) = W_g (C_out/G, C_in/G·kh·kw) · col_g (C_in/G·kh·kw, OH·OW) for each group g.
        // The im2col matrix (k, p) of one image group: the image itself for a 1x1 stride-1 convolution,
        // else unfolded into `buffer`.
        template <class T, class Geometry>
        const T* columns_of(const Geometry& g, const T* image, kernels::aligned_scratch<T>& buffer)
        {
            if (g.pointwise())
                return image;
            T* columns = buffer.data(g.image.col_rows() * g.image.col_cols());
            kernels::im2col(g.image, image, columns);
            return columns;
        }

        template <class T>
        void conv2d_forward(const Conv2dGeometry& g, const T* input, const T* weight, T* output)
        {
            const auto& s = g.image;
            const std::size_t k = s.col_rows(), p = s.col_cols(), m = g.out_per_group();
            const std::size_t image_size = g.in_channels * s.in_h * s.in_w;
            for_batch_parts<T>(g.batch, batch_parts(g.batch), [&](std::size_t, std::size_t first, std::size_t end) {
                kernels::aligned_scratch<T> col_buffer;
                for (std::size_t n = first; n < end; ++n)
                    for (std::size_t group = 0; group < g.groups; ++group)
                    {
                        const T* image = input + n * image_size + group * s.channels * s.in_h * s.in_w;
                        const T* col = columns_of(g, image, col_buffer);
                        kernels::gemm<T>(false, false, m, p, k, T(1), weight + group * m * k, k, col, p, T(0),
                                         output + (n * g.out_channels + group * m) * p, p);
                    }
            });
        }

        // dx (N, C_in, H, W) = col2im(W_gᵀ · dy_g) for each group g.
        template <class T>
        void conv2d_input_backward(const Conv2dGeometry& g, const T* dout, const T* weight, T* dinput)
        {
            const auto& s = g.image;
            const std::size_t k = s.col_rows(), p = s.col_cols(), m = g.out_per_group();
            const std::size_t image_size = g.in_channels * s.in_h * s.in_w;
            for_batch_parts<T>(g.batch, batch_parts(g.batch), [&](std::size_t, std::size_t first, std::size_t end) {
                kernels::aligned_scratch<T> col_buffer;
                for (std::size_t n = first; n < end; ++n)
                    for (std::size_t group = 0; group < g.groups; ++group)
                    {
                        T* dimage = dinput + n * image_size + group * s.channels * s.in_h * s.in_w;
                        const T* dout_group = dout + (n * g.out_channels + group * m) * p;
                        if (g.pointwise())
                        {
                            kernels::gemm<T>(true, false, k, p, m, T(1), weight + group * m * k, k, dout_group, p, T(0),
                                             dimage, p);
                            continue;
                        }
                        T* dcol = col_buffer.data(k * p);
                        kernels::gemm<T>(true, false, k, p, m, T(1), weight + group * m * k, k, dout_group, p, T(0),
                                         dcol, p);
                        std::fill(dimage, dimage + s.channels * s.in_h * s.in_w, T(0));
                        kernels::col2im(s, dcol, dimage);
                    }
            });
        }

        // dW_g (C_out/G, C_in/G·kh·kw) = Σ_n dy_g · col_gᵀ, each thread summing its images into its own
        // accumulator, the accumulators added at the end.
        template <class T>
        void conv2d_weight_backward(const Conv2dGeometry& g, const T* input, const T* dout, T* dweight)
        {
            const auto& s = g.image;
            const std::size_t k = s.col_rows(), p = s.col_cols(), m = g.out_per_group();
            const std::size_t image_size = g.in_channels * s.in_h * s.in_w;
            const std::size_t weight_size = g.out_channels * k;
            const std::size_t parts = batch_parts(g.batch);
            std::vector<T> partial_sums(parts > 1 ? (parts - 1) * weight_size : 0);
            std::fill(dweight, dweight + weight_size, T(0));
            for_batch_parts<T>(g.batch, parts, [&](std::size_t part, std::size_t first, std::size_t end) {
                T* accumulator = part == 0 ? dweight : partial_sums.data() + (part - 1) * weight_size;
                kernels::aligned_scratch<T> col_buffer;
                for (std::size_t n = first; n < end; ++n)
                    for (std::size_t group = 0; group < g.groups; ++group)
                    {
                        const T* image = input + n * image_size + group * s.channels * s.in_h * s.in_w;
                        const T* col = columns_of(g, image, col_buffer);
                        kernels::gemm<T>(false, true, m, k, p, T(1), dout + (n * g.out_channels + group * m) * p, p,
                                         col, p, T(1), accumulator + group * m * k, k);
                    }
            });
            for (std::size_t part = 1; part < parts; ++part)
            {
                const T* partial = partial_sums.data() + (part - 1) * weight_size;
                for (std::size_t i = 0; i < weight_size; ++i)
                    dweight[i] += partial[i];
            }
        }

        // Σ x[i] over a contiguous range, in SIMD lanes (a plain loop would add one element at a time: the
        // compiler may not reorder floating-point sums).
        template <class T>
        T sum_contiguous(const T* x, std::size_t n)
        {
            using batch = xsimd::batch<T, xsimd::default_arch>;
            const std::size_t vn = n - n % batch::size;
            batch lanes(T(0));
            for (std::size_t i = 0; i < vn; i += batch::size)
                lanes += batch::load_unaligned(x + i);
            alignas(kernels::scratch_alignment) T lane_values[batch::size];
            lanes.store_aligned(lane_values);
            T total = 0;
            for (const T lane : lane_values)
                total += lane;
            for (std::size_t i = vn; i < n; ++i)   // scalar tail
                total += x[i];
            return total;
        }

        // db[o] = Σ_{n, i, j} dy[n, o, i, j]   (linear in dy)   =>  dL/d(dy)[n, o, i, j] = dL/d(db)[o]
        template <class T>
        Tensor<T> conv2d_bias_grad(const Tensor<T>& dout)
        {
            const Shape shape = dout.shape();   // (N, C_out, OH, OW)
            const std::size_t channels = shape[1], plane = shape[2] * shape[3];
            xt::xarray<T> value = xt::zeros<T>({channels});
            const T* dy = dout.value().data();
            for (std::size_t n = 0; n < shape[0]; ++n)
                for (std::size_t o = 0; o < channels; ++o, dy += plane)
                    value(o) += sum_contiguous(dy, plane);
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
        const auto g =
            detail::Conv2dGeometry::make("conv2d", input.shape(), weight.shape(), stride, padding, dilation, groups);
        const bool has_bias = bias.defined();
        if (has_bias && bias.shape() != Shape{g.out_channels})
            throw shape_error("conv2d: bias must have shape (" + std::to_string(g.out_channels) + ",) for weight " +
                              shape_string(weight.shape()) + ", got " + shape_string(bias.shape()));
        xt::xarray<T> value = xt::empty<T>(g.output_shape());   // (N, C_out, OH, OW)
        detail::conv2d_forward(g, input.value().data(), weight.value().data(), value.data());
        if (has_bias)
        {
            const std::size_t p = g.image.col_cols();
            const T* b = bias.value().data();
            for (std::size_t n = 0; n < g.batch; ++n)
                for (std::size_t o = 0; o < g.out_channels; ++o)
                {
                    T* row = value.data() + (n * g.out_channels + o) * p;
                    for (std::size_t i = 0; i < p; ++i)
                        row[i] += b[o];
                }
        }
        std::vector<Tensor<T>> parents{input, weight};
        if (has_bias)
            parents.push_back(bias);
        const detail::Conv2dParams params{stride, padding, dilation, groups};
        return make_result<T>(
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
        const auto g = detail::Conv2dGeometry::make("conv2d_input_grad", input_shape, weight.shape(), stride, padding,
                                                    dilation, groups);
        if (grad_output.shape() != g.output_shape())
            throw shape_error("conv2d_input_grad: grad_output must have shape " + shape_string(g.output_shape()) +
                              " for input " + shape_string(input_shape) + " and weight " +
                              shape_string(weight.shape()) + ", got " + shape_string(grad_output.shape()));
        xt::xarray<T> value = xt::empty<T>(input_shape);   // (N, C_in, H, W)
        detail::conv2d_input_backward(g, grad_output.value().data(), weight.value().data(), value.data());
        const detail::Conv2dParams params{stride, padding, dilation, groups};
        return make_result<T>(
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
        const auto g = detail::Conv2dGeometry::make("conv2d_weight_grad", input.shape(), weight_shape, stride, padding,
                                                    dilation, groups);
        if (grad_output.shape() != g.output_shape())
            throw shape_error("conv2d_weight_grad: grad_output must have shape " + shape_string(g.output_shape()) +
                              " for input " + shape_string(input.shape()) + " and weight " +
                              shape_string(weight_shape) + ", got " + shape_string(grad_output.shape()));
        xt::xarray<T> value = xt::empty<T>(weight_shape);   // (C_out, C_in / groups, kh, kw)
        detail::conv2d_weight_backward(g, input.value().data(), grad_output.value().data(), value.data());
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
}
