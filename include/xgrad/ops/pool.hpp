// 2-D pooling over NCHW tensors, as torch.nn.functional: max_pool2d, avg_pool2d (count_include_pad) and
// adaptive_avg_pool2d; max_pool1d and avg_pool1d are the 2-D ones on (N, C, L) seen as (N, C, 1, L).  Each backward is itself an op whose backward is the forward again (a scatter and a
// gather at the same arg-max positions; an average and its transpose), so second derivatives work.
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <memory>
#include <string>

#include "../config.hpp"
#include "../kernels/pool.hpp"
#include "../parallel.hpp"
#include "shape.hpp"

namespace xgrad
{
    namespace detail
    {
        // (N·C, OH·OW) positions in a plane; an array left uninitialised until the kernel writes every element
        using PoolIndex = std::shared_ptr<const kernels::pool_index[]>;
        using PoolWindows = std::shared_ptr<const kernels::pool_windows>;

        inline void check_pool_input(const char* op, const Shape& shape)
        {
            if (shape.size() != 4)
                throw shape_error(std::string(op) + ": input must be 4-D NCHW, got shape " + shape_string(shape));
        }

        // Checks a sliding-window pooling and describes its windows.
        inline kernels::pool_windows sliding_pool_windows(const char* op, const Shape& shape, Size2 kernel,
                                                          Size2 stride, Size2 padding, std::size_t divisor)
        {
            const std::string name(op);
            check_pool_input(op, shape);
            if (kernel[0] == 0 || kernel[1] == 0)
                throw value_error(name + ": kernel size must be positive, got " + shape_string(kernel));
            if (stride[0] == 0 || stride[1] == 0)
                throw value_error(name + ": stride must be positive, got " + shape_string(stride));
            if (2 * padding[0] > kernel[0] || 2 * padding[1] > kernel[1])
                throw value_error(name + ": padding " + shape_string(padding) +
                                  " must be at most half the kernel size " + shape_string(kernel));
            if (kernel[0] > shape[2] + 2 * padding[0] || kernel[1] > shape[3] + 2 * padding[1])
                throw shape_error(name + ": kernel " + shape_string(kernel) + " is larger than the padded input " +
                                  shape_string(Size2{shape[2] + 2 * padding[0], shape[3] + 2 * padding[1]}) +
                                  " (input " + shape_string(shape) + ", padding " + shape_string(padding) + ")");
            kernels::pool_windows windows;
            windows.in_h = shape[2];
            windows.in_w = shape[3];
            windows.rows = kernels::sliding_windows(shape[2], kernel[0], stride[0], padding[0]);
            windows.cols = kernels::sliding_windows(shape[3], kernel[1], stride[1], padding[1]);
            windows.divisor = divisor;
            windows.sliding = kernels::pool2d_shape{shape[2],  shape[3],  kernel[0],  kernel[1],
                                                    stride[0], stride[1], padding[0], padding[1]};
            return windows;
        }

        inline Shape pooled_shape(const Shape& input, const kernels::pool_windows& w)
        {
            return {input[0], input[1], w.rows.size(), w.cols.size()};
        }

        // Runs fn(first_plane, end_plane) over the N·C planes, split across threads when there is enough work.
        template <class Fn>
        void for_planes(std::size_t planes, std::size_t work_per_plane, Fn&& fn)
        {
            const std::size_t grain =
                std::max<std::size_t>(1, (std::size_t(1) << 15) / std::max<std::size_t>(1, work_per_plane));
            parallel_for(0, planes, grain, fn);
        }

        template <class T>
        Tensor<T> scatter_to_planes(const Tensor<T>& dout, const PoolIndex& index, const Shape& input_shape);

        // y[p, o] = x[p, index[p, o]] (value: that, already computed by the caller's kernel)
        //   =>  dL/dx = scatter_to_planes(dL/dy, index)
        template <class T>
        Tensor<T> gather_from_planes(const char* op, const Tensor<T>& x, xt::xarray<T> value, const PoolIndex& index)
        {
            return make_result<T>(op, std::move(value), {x}, [x, index](const Tensor<T>& dout) -> Grads<T> {
                return {scatter_to_planes(dout, index, x.shape())};
            });
        }

        // dx[p, index[p, o]] += dy[p, o]   (the backward of max_pool2d; linear in dy)
        //   =>  dL/d(dy) = gather_from_planes(dL/d(dx), index)
        template <class T>
        Tensor<T> scatter_to_planes(const Tensor<T>& dout, const PoolIndex& index, const Shape& input_shape)
        {
            XGRAD_PROFILE_OP("max_pool2d_backward");
            const Shape out_shape = dout.shape();
            const std::size_t planes = out_shape[0] * out_shape[1];
            const std::size_t in_size = input_shape[2] * input_shape[3], out_size = out_shape[2] * out_shape[3];
            xt::xarray<T> value = xt::empty<T>(input_shape);   // (N, C, H, W), every element written below
            const T* dy = dout.value().data();
            T* dx = value.data();
            for_planes(planes, in_size, [&](std::size_t first, std::size_t end) {
                kernels::scatter_planes(end - first, in_size, out_size, index.get() + first * out_size,
                                        dy + first * out_size, dx + first * in_size);
            });
            return make_result<T>("max_pool2d_backward", std::move(value), {dout},
                                  [index, planes, in_size, out_size, out_shape](const Tensor<T>& ddx) -> Grads<T> {
                                      xt::xarray<T> picked = xt::empty<T>(out_shape);   // (N, C, OH, OW)
                                      const T* src = ddx.value().data();
                                      T* dst = picked.data();
                                      for_planes(planes, in_size, [&](std::size_t first, std::size_t end) {
                                          kernels::gather_planes(end - first, in_size, out_size,
                                                                 index.get() + first * out_size,
                                                                 src + first * in_size, dst + first * out_size);
                                      });
                                      return {gather_from_planes("max_pool2d_gather", ddx, std::move(picked), index)};
                                  });
        }

        // The names of an averaging op and of its backward.
        // A sliding pool's window, as the exporter reads it.
        inline OpAttributes pool_attributes(Size2 kernel, Size2 stride, Size2 padding)
        {
            return OpAttributes()
                .set_ints("kernel", attribute_pair(kernel))
                .set_ints("stride", attribute_pair(stride))
                .set_ints("padding", attribute_pair(padding));
        }

        struct AveragePoolNames
        {
            const char* forward;
            const char* backward;
        };
        inline constexpr AveragePoolNames avg_pool2d_names{"avg_pool2d", "avg_pool2d_backward"};
        inline constexpr AveragePoolNames adaptive_avg_pool2d_names{"adaptive_avg_pool2d",
                                                                    "adaptive_avg_pool2d_backward"};

        template <class T>
        Tensor<T> average_pool_backward(AveragePoolNames op, const Tensor<T>& dout, const PoolWindows& windows,
                                        const Shape& input_shape);

        // y[p, o] = Σ_{i in window o} x[p, i] / divisor   =>  dL/dx = average_pool_backward(dL/dy)
        template <class T>
        Tensor<T> average_pool(AveragePoolNames op, const Tensor<T>& x, const PoolWindows& windows)
        {
            XGRAD_PROFILE_OP(op.forward);
            const Shape in_shape = x.shape();
            const std::size_t planes = in_shape[0] * in_shape[1];
            xt::xarray<T> value = xt::empty<T>(pooled_shape(in_shape, *windows));   // (N, C, OH, OW)
            const T* in = x.value().data();
            T* out = value.data();
            for_planes(planes, windows->in_size(), [&](std::size_t first, std::size_t end) {
                kernels::avg_pool2d(*windows, end - first, in + first * windows->in_size(),
                                    out + first * windows->out_size());
            });
            return make_result<T>(op.forward, std::move(value), {x},
                                  [op, windows, in_shape](const Tensor<T>& dout) -> Grads<T> {
                                      return {average_pool_backward(op, dout, windows, in_shape)};
                                  });
        }

        // dx = Aᵀ dy for the averaging y = A x: linear, so  dL/d(dy) = A dL/d(dx) = average_pool(dL/d(dx))
        template <class T>
        Tensor<T> average_pool_backward(AveragePoolNames op, const Tensor<T>& dout, const PoolWindows& windows,
                                        const Shape& input_shape)
        {
            XGRAD_PROFILE_OP(op.backward);
            const std::size_t planes = input_shape[0] * input_shape[1];
            xt::xarray<T> value = xt::empty<T>(input_shape);   // (N, C, H, W), every element written below
            const T* dy = dout.value().data();
            T* dx = value.data();
            for_planes(planes, windows->in_size(), [&](std::size_t first, std::size_t end) {
                kernels::avg_pool2d_backward(*windows, end - first, dy + first * windows->out_size(),
                                             dx + first * windows->in_size());
            });
            return make_result<T>(
                op.backward, std::move(value), {dout},
                [op, windows](const Tensor<T>& ddx) -> Grads<T> { return {average_pool(op, ddx, windows)}; });
        }
    }

    // y[n, c, i, j] = max of x[n, c] over the kernel window at (i·stride - padding, j·stride - padding),
    // padding counting as -inf, as torch.nn.functional.max_pool2d (padding at most half the kernel).
    //   dL/dx[n, c, argmax] += dL/dy[n, c, i, j]   (each gradient goes to the position that won)
    template <class T>
    Tensor<T> max_pool2d(const Tensor<T>& x, Size2 kernel, Size2 stride, Size2 padding = {0, 0})
    {
        XGRAD_PROFILE_OP("max_pool2d");
        const auto windows = detail::sliding_pool_windows("max_pool2d", x.shape(), kernel, stride, padding, 0);
        const Shape in_shape = x.shape();
        if (windows.in_size() > std::numeric_limits<kernels::pool_index>::max())
            throw shape_error("max_pool2d: a plane of " + shape_string(in_shape) + " has more positions than its " +
                              std::to_string(std::numeric_limits<kernels::pool_index>::digits) + "-bit arg-max holds");
        const std::size_t planes = in_shape[0] * in_shape[1];
        xt::xarray<T> value = xt::empty<T>(detail::pooled_shape(in_shape, windows));   // (N, C, OH, OW)
        std::shared_ptr<kernels::pool_index[]> index(new kernels::pool_index[value.size()]);
        const T* in = x.value().data();
        T* out = value.data();
        detail::for_planes(planes, windows.in_size(), [&](std::size_t first, std::size_t end) {
            kernels::max_pool2d(*windows.sliding, end - first, in + first * windows.in_size(),
                                out + first * windows.out_size(), index.get() + first * windows.out_size());
        });
        return record_attributes(
            detail::gather_from_planes("max_pool2d", x, std::move(value), detail::PoolIndex(std::move(index))),
            [&] { return detail::pool_attributes(kernel, stride, padding); });
    }

    // stride = kernel.
    template <class T>
    Tensor<T> max_pool2d(const Tensor<T>& x, Size2 kernel)
    {
        return max_pool2d(x, kernel, kernel);
    }

    template <class T>
    Tensor<T> max_pool2d(const Tensor<T>& x, std::size_t kernel, std::size_t stride, std::size_t padding = 0)
    {
        return max_pool2d(x, Size2{kernel, kernel}, Size2{stride, stride}, Size2{padding, padding});
    }

    template <class T>
    Tensor<T> max_pool2d(const Tensor<T>& x, std::size_t kernel)
    {
        return max_pool2d(x, kernel, kernel);
    }

    // y[n, c, i, j] = mean of x[n, c] over the kernel window, padding counting as 0 in the sum and in the
    // count (count_include_pad, torch's default): the divisor is kernel_h · kernel_w.
    //   dL/dx[n, c, h, w] = Σ over windows holding (h, w) of dL/dy[n, c, i, j] / (kernel_h · kernel_w)
    template <class T>
    Tensor<T> avg_pool2d(const Tensor<T>& x, Size2 kernel, Size2 stride, Size2 padding = {0, 0})
    {
        auto windows = std::make_shared<const kernels::pool_windows>(
            detail::sliding_pool_windows("avg_pool2d", x.shape(), kernel, stride, padding, kernel[0] * kernel[1]));
        return record_attributes(detail::average_pool(detail::avg_pool2d_names, x, windows),
                                 [&] { return detail::pool_attributes(kernel, stride, padding); });
    }

    // stride = kernel.
    template <class T>
    Tensor<T> avg_pool2d(const Tensor<T>& x, Size2 kernel)
    {
        return avg_pool2d(x, kernel, kernel);
    }

    template <class T>
    Tensor<T> avg_pool2d(const Tensor<T>& x, std::size_t kernel, std::size_t stride, std::size_t padding = 0)
    {
        return avg_pool2d(x, Size2{kernel, kernel}, Size2{stride, stride}, Size2{padding, padding});
    }

    template <class T>
    Tensor<T> avg_pool2d(const Tensor<T>& x, std::size_t kernel)
    {
        return avg_pool2d(x, kernel, kernel);
    }

    // y (N, C, out_h, out_w): the mean of x over PyTorch's adaptive bins, rows
    // [floor(i·H / out_h), ceil((i + 1)·H / out_h)) and the same for columns; (1, 1) is global average pooling.
    //   dL/dx[n, c, h, w] = Σ over bins holding (h, w) of dL/dy[n, c, i, j] / (the bin's area)
    template <class T>
    Tensor<T> adaptive_avg_pool2d(const Tensor<T>& x, Size2 output_size)
    {
        const Shape shape = x.shape();
        detail::check_pool_input("adaptive_avg_pool2d", shape);
        if (output_size[0] == 0 || output_size[1] == 0)
            throw value_error("adaptive_avg_pool2d: output size must be positive, got " +
                              shape_string(output_size));
        if (shape[2] == 0 || shape[3] == 0)
            throw shape_error("adaptive_avg_pool2d: input " + shape_string(shape) + " has an empty plane");
        kernels::pool_windows windows;
        windows.in_h = shape[2];
        windows.in_w = shape[3];
        windows.rows = kernels::adaptive_windows(shape[2], output_size[0]);
        windows.cols = kernels::adaptive_windows(shape[3], output_size[1]);
        windows.divisor = 0;   // each bin's own area
        return detail::average_pool(detail::adaptive_avg_pool2d_names, x,
                                    std::make_shared<const kernels::pool_windows>(std::move(windows)));
    }

    template <class T>
    Tensor<T> adaptive_avg_pool2d(const Tensor<T>& x, std::size_t output_size)
    {
        return adaptive_avg_pool2d(x, Size2{output_size, output_size});
    }

    // max_pool2d along sequences, as torch.nn.functional.max_pool1d:   x: (N, C, L)  ->  (N, C, OL)
    //   y[n, c, i] = max of x[n, c] over [i·stride - padding, i·stride - padding + kernel)
    template <class T>
    Tensor<T> max_pool1d(const Tensor<T>& x, std::size_t kernel, std::size_t stride, std::size_t padding = 0)
    {
        const Tensor<T> image = detail::sequence_as_image("max_pool1d", "input", "(N, C, L)", x);
        return squeeze(max_pool2d(image, Size2{1, kernel}, Size2{1, stride}, Size2{0, padding}), 2);
    }

    // stride = kernel.
    template <class T>
    Tensor<T> max_pool1d(const Tensor<T>& x, std::size_t kernel)
    {
        return max_pool1d(x, kernel, kernel);
    }

    // avg_pool2d along sequences, as torch.nn.functional.avg_pool1d (count_include_pad: the divisor is
    // kernel):   x: (N, C, L)  ->  (N, C, OL)
    template <class T>
    Tensor<T> avg_pool1d(const Tensor<T>& x, std::size_t kernel, std::size_t stride, std::size_t padding = 0)
    {
        const Tensor<T> image = detail::sequence_as_image("avg_pool1d", "input", "(N, C, L)", x);
        return squeeze(avg_pool2d(image, Size2{1, kernel}, Size2{1, stride}, Size2{0, padding}), 2);
    }

    // stride = kernel.
    template <class T>
    Tensor<T> avg_pool1d(const Tensor<T>& x, std::size_t kernel)
    {
        return avg_pool1d(x, kernel, kernel);
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPS_POOL_TEMPLATES(EXTERN, T)                                                                           \
    EXTERN template Tensor<T> max_pool2d<T>(const Tensor<T>&, Size2, Size2, Size2);                                   \
    EXTERN template Tensor<T> max_pool2d<T>(const Tensor<T>&, Size2);                                                 \
    EXTERN template Tensor<T> max_pool2d<T>(const Tensor<T>&, std::size_t, std::size_t, std::size_t);                 \
    EXTERN template Tensor<T> max_pool2d<T>(const Tensor<T>&, std::size_t);                                           \
    EXTERN template Tensor<T> avg_pool2d<T>(const Tensor<T>&, Size2, Size2, Size2);                                   \
    EXTERN template Tensor<T> avg_pool2d<T>(const Tensor<T>&, Size2);                                                 \
    EXTERN template Tensor<T> avg_pool2d<T>(const Tensor<T>&, std::size_t, std::size_t, std::size_t);                 \
    EXTERN template Tensor<T> avg_pool2d<T>(const Tensor<T>&, std::size_t);                                           \
    EXTERN template Tensor<T> max_pool1d<T>(const Tensor<T>&, std::size_t, std::size_t, std::size_t);                 \
    EXTERN template Tensor<T> max_pool1d<T>(const Tensor<T>&, std::size_t);                                           \
    EXTERN template Tensor<T> avg_pool1d<T>(const Tensor<T>&, std::size_t, std::size_t, std::size_t);                 \
    EXTERN template Tensor<T> avg_pool1d<T>(const Tensor<T>&, std::size_t);                                           \
    EXTERN template Tensor<T> adaptive_avg_pool2d<T>(const Tensor<T>&, Size2);                                        \
    EXTERN template Tensor<T> adaptive_avg_pool2d<T>(const Tensor<T>&, std::size_t);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPS_POOL_TEMPLATES)
}
