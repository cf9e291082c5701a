// 2-D convolution over a batch on raw pointers (NCHW, PyTorch's layouts): the forward, the input gradient and
// the weight gradient as GEMMs on im2col columns, one driver walking the images and groups for all three; the
// bias's add and gradient; each beside the plain loop it is tested against.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "../parallel.hpp"
#include "gemm.hpp"
#include "im2col.hpp"
#include "map.hpp"
#include "reduce.hpp"
#include "simd.hpp"

namespace xgrad::kernels
{
    // A convolution over a batch, each group of channels convolved apart:
    //   x: (batch, groups·C, in_h, in_w)   W: (groups·M, C, kh, kw)   y: (batch, groups·M, out_h, out_w)
    // with C = image.channels and M = out_per_group, `image` the geometry of one image and one group.
    struct conv2d_batch_shape
    {
        std::size_t batch, groups, out_per_group;
        conv2d_shape image;

        std::size_t in_channels() const { return groups * image.channels; }
        std::size_t out_channels() const { return groups * out_per_group; }
        // One group of one image in x (C, in_h, in_w) and in y (out_per_group, out_h·out_w); one group of W
        // (out_per_group, C·kh·kw).
        std::size_t input_block() const { return image.channels * image.in_h * image.in_w; }
        std::size_t output_block() const { return out_per_group * image.col_cols(); }
        std::size_t weight_block() const { return out_per_group * image.col_rows(); }
        std::size_t input_size() const { return batch * groups * input_block(); }
        std::size_t output_size() const { return batch * groups * output_block(); }
        std::size_t weight_size() const { return groups * weight_block(); }
        // Where group `group` of image n starts in x and in y, and where group `group` starts in W.
        std::size_t input_offset(std::size_t n, std::size_t group) const
        {
            return (n * groups + group) * input_block();
        }
        std::size_t output_offset(std::size_t n, std::size_t group) const
        {
            return (n * groups + group) * output_block();
        }
        std::size_t weight_offset(std::size_t group) const { return group * weight_block(); }
        // A 1×1 kernel with stride 1 and no padding: the column matrix is the image itself.
        bool pointwise() const
        {
            const auto& s = image;
            return s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.padding_h == 0 &&
                   s.padding_w == 0;
        }
    };

    namespace detail
    {
        // How many shares the batch is split into: one per thread when there are at least as many images as
        // threads, so that each thread runs whole images and the GEMMs inside run single-threaded (parallel_for
        // nested in a chunk runs inline); otherwise one, images going one by one and each GEMM using every thread.
        inline std::size_t conv2d_batch_parts(std::size_t batch)
        {
            const std::size_t threads = get_num_threads();
            return batch >= threads ? threads : 1;
        }

        // The batch × group driver of the three convolution kernels: work(part, n, group, col_buffer) for every
        // image n and group, the images split into `parts` contiguous shares (`part` says which, for per-share
        // accumulators), each share with its own column buffer.
        template <class T, class Work>
        void for_each_image_group(const conv2d_batch_shape& c, std::size_t parts, Work&& work)
        {
            auto run_part = [&](std::size_t part) {
                aligned_scratch<T> col_buffer;
                for (std::size_t n = part * c.batch / parts; n < (part + 1) * c.batch / parts; ++n)
                    for (std::size_t group = 0; group < c.groups; ++group)
                        work(part, n, group, col_buffer);
            };
            if (parts <= 1)
            {
                run_part(0);
                return;
            }
            parallel_for(0, parts, 1, [&](std::size_t first_part, std::size_t end_part) {
                for (std::size_t part = first_part; part < end_part; ++part)
                    run_part(part);
            });
        }

        // The column matrix (C·kh·kw, out_h·out_w) of one image group: the image itself for a pointwise
        // convolution, else unfolded into `buffer`.
        template <class T>
        const T* columns_of(const conv2d_batch_shape& c, const T* image, aligned_scratch<T>& buffer)
        {
            if (c.pointwise())
                return image;
            T* columns = buffer.data(c.image.col_rows() * c.image.col_cols());
            im2col(c.image, image, columns);
            return columns;
        }

        // fn(y_index, w_index, x_index) for every kernel tap that lands inside the input: the definition
        //   y[n, o, i, j] = Σ_{ch, ki, kj} W[o, ch, ki, kj] · x[n, g·C + ch, i·s - p + ki·d, j·s - p + kj·d]
        // (g = o / out_per_group) read as the list of products it adds. The three references are this loop,
        // each with its own multiply-add.
        template <class Fn>
        void for_each_conv2d_tap(const conv2d_batch_shape& c, Fn&& fn)
        {
            const auto& s = c.image;
            for (std::size_t n = 0; n < c.batch; ++n)
                for (std::size_t o = 0; o < c.out_channels(); ++o)
                    for (std::size_t i = 0; i < s.out_h; ++i)
                        for (std::size_t j = 0; j < s.out_w; ++j)
                            for (std::size_t ch = 0; ch < s.channels; ++ch)
                                for (std::size_t ki = 0; ki < s.kernel_h; ++ki)
                                    for (std::size_t kj = 0; kj < s.kernel_w; ++kj)
                                    {
                                        const auto ih = std::ptrdiff_t(i * s.stride_h + ki * s.dilation_h) -
                                                        std::ptrdiff_t(s.padding_h);
                                        const auto iw = std::ptrdiff_t(j * s.stride_w + kj * s.dilation_w) -
                                                        std::ptrdiff_t(s.padding_w);
                                        if (ih < 0 || iw < 0 || ih >= std::ptrdiff_t(s.in_h) ||
                                            iw >= std::ptrdiff_t(s.in_w))
                                            continue;
                                        const std::size_t x_channel = o / c.out_per_group * s.channels + ch;
                                        fn(((n * c.out_channels() + o) * s.out_h + i) * s.out_w + j,
                                           ((o * s.channels + ch) * s.kernel_h + ki) * s.kernel_w + kj,
                                           ((n * c.in_channels() + x_channel) * s.in_h + std::size_t(ih)) * s.in_w +
                                               std::size_t(iw));
                                    }
        }
    }

    // y_g (out_per_group, out_h·out_w) = W_g (out_per_group, C·kh·kw) · col_g (C·kh·kw, out_h·out_w)
    // for every image and group g.
    template <class T>
    void conv2d(const conv2d_batch_shape& c, const T* input, const T* weight, T* output)
    {
        const std::size_t k = c.image.col_rows(), p = c.image.col_cols(), m = c.out_per_group;
        detail::for_each_image_group<T>(
            c, detail::conv2d_batch_parts(c.batch),
            [&](std::size_t, std::size_t n, std::size_t group, aligned_scratch<T>& col_buffer) {
                const T* col = detail::columns_of(c, input + c.input_offset(n, group), col_buffer);
                gemm<T>(false, false, m, p, k, T(1), weight + c.weight_offset(group), k, col, p, T(0),
                        output + c.output_offset(n, group), p);
            });
    }
    template <class T>
    void conv2d_reference(const conv2d_batch_shape& c, const T* input, const T* weight, T* output)
    {
        std::fill(output, output + c.output_size(), T(0));
        detail::for_each_conv2d_tap(
            c, [&](std::size_t y, std::size_t w, std::size_t x) { output[y] += weight[w] * input[x]; });
    }

    // dx_g = col2im(W_gᵀ · dy_g) for every image and group g: the adjoint of conv2d in x (a transposed
    // convolution).  dy: like conv2d's y   dx: like its x
    template <class T>
    void conv2d_input_grad(const conv2d_batch_shape& c, const T* dout, const T* weight, T* dinput)
    {
        const std::size_t k = c.image.col_rows(), p = c.image.col_cols(), m = c.out_per_group;
        detail::for_each_image_group<T>(
            c, detail::conv2d_batch_parts(c.batch),
            [&](std::size_t, std::size_t n, std::size_t group, aligned_scratch<T>& col_buffer) {
                T* dimage = dinput + c.input_offset(n, group);
                // A pointwise convolution's column matrix is the image: the GEMM writes dx itself.
                T* dcol = c.pointwise() ? dimage : col_buffer.data(k * p);
                gemm<T>(true, false, k, p, m, T(1), weight + c.weight_offset(group), k,
                        dout + c.output_offset(n, group), p, T(0), dcol, p);
                if (c.pointwise())
                    return;
                std::fill(dimage, dimage + c.input_block(), T(0));
                col2im(c.image, dcol, dimage);
            });
    }
    template <class T>
    void conv2d_input_grad_reference(const conv2d_batch_shape& c, const T* dout, const T* weight, T* dinput)
    {
        std::fill(dinput, dinput + c.input_size(), T(0));
        detail::for_each_conv2d_tap(
            c, [&](std::size_t y, std::size_t w, std::size_t x) { dinput[x] += weight[w] * dout[y]; });
    }

    // dW_g = Σ_n dy_g · col_gᵀ for every group g.  dy: like conv2d's y   dW: like its W
    // Each share of the batch sums its images into its own accumulator (the first share into dW), and the
    // others are added to dW in share order at the end.
    template <class T>
    void conv2d_weight_grad(const conv2d_batch_shape& c, const T* input, const T* dout, T* dweight)
    {
        const std::size_t k = c.image.col_rows(), p = c.image.col_cols(), m = c.out_per_group;
        const std::size_t parts = detail::conv2d_batch_parts(c.batch), weight_size = c.weight_size();
        std::vector<T> partial_sums((parts - 1) * weight_size);   // (parts - 1, C_out, C, kh, kw)
        std::fill(dweight, dweight + weight_size, T(0));
        detail::for_each_image_group<T>(
            c, parts, [&](std::size_t part, std::size_t n, std::size_t group, aligned_scratch<T>& col_buffer) {
                T* accumulator = part == 0 ? dweight : partial_sums.data() + (part - 1) * weight_size;
                const T* col = detail::columns_of(c, input + c.input_offset(n, group), col_buffer);
                gemm<T>(false, true, m, k, p, T(1), dout + c.output_offset(n, group), p, col, p, T(1),
                        accumulator + c.weight_offset(group), k);
            });
        for (std::size_t part = 1; part < parts; ++part)
            add<T>(weight_size, dweight, partial_sums.data() + (part - 1) * weight_size, dweight);
    }
    template <class T>
    void conv2d_weight_grad_reference(const conv2d_batch_shape& c, const T* input, const T* dout, T* dweight)
    {
        std::fill(dweight, dweight + c.weight_size(), T(0));
        detail::for_each_conv2d_tap(
            c, [&](std::size_t y, std::size_t w, std::size_t x) { dweight[w] += dout[y] * input[x]; });
    }

    // y[n, o, i] += b[o]      y: (batch, channels, plane)   b: (channels)
    // Row after row on the calling thread (only a plane longer than a map's grain splits itself): the pass is
    // short and memory-bound, and spreading its rows over the pool measured slower.
    template <class T, class Arch = xsimd::default_arch>
    void add_channel_bias(std::size_t batch, std::size_t channels, std::size_t plane, const T* bias, T* y)
    {
        for (std::size_t row = 0; row < batch * channels; ++row)
            add_scalar<T, Arch>(plane, y + row * plane, bias[row % channels], y + row * plane);
    }
    template <class T>
    void add_channel_bias_reference(std::size_t batch, std::size_t channels, std::size_t plane, const T* bias, T* y)
    {
        for (std::size_t n = 0; n < batch; ++n)
            for (std::size_t o = 0; o < channels; ++o)
                for (std::size_t i = 0; i < plane; ++i)
                    y[(n * channels + o) * plane + i] += bias[o];
    }

    // db[o] = Σ_{n, i} dy[n, o, i]      dy: (batch, channels, plane)   db: (channels)
    // Each plane summed on its own, then added to its channel's total in image order.
    template <class T, class Arch = xsimd::default_arch>
    void channel_sums(std::size_t batch, std::size_t channels, std::size_t plane, const T* dy, T* db)
    {
        std::fill(db, db + channels, T(0));
        for (std::size_t n = 0; n < batch; ++n)
            for (std::size_t o = 0; o < channels; ++o)
                db[o] += sum<T, Arch>(plane, dy + (n * channels + o) * plane);
    }
    template <class T>
    void channel_sums_reference(std::size_t batch, std::size_t channels, std::size_t plane, const T* dy, T* db)
    {
        std::fill(db, db + channels, T(0));
        for (std::size_t n = 0; n < batch; ++n)
            for (std::size_t o = 0; o < channels; ++o)
                for (std::size_t i = 0; i < plane; ++i)
                    db[o] += dy[(n * channels + o) * plane + i];
    }
}
