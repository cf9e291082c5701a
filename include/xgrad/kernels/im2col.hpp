// im2col and col2im on raw pointers: the data movement that lowers a convolution to one GEMM, beside the
// plain loops they are tested against.  Works on one image (C, H, W), row-major.
#pragma once

#include <algorithm>
#include <cstddef>

namespace xgrad::kernels
{
    // The geometry of a 2-D convolution over one image: input (channels, in_h, in_w), kernel (kernel_h,
    // kernel_w), output (out_h, out_w) with out = (in + 2·padding - dilation·(kernel - 1) - 1) / stride + 1.
    struct conv2d_shape
    {
        std::size_t channels, in_h, in_w;
        std::size_t kernel_h, kernel_w;
        std::size_t stride_h, stride_w;
        std::size_t padding_h, padding_w;
        std::size_t dilation_h, dilation_w;
        std::size_t out_h, out_w;

        // Rows of the column matrix: one per (channel, ki, kj), in the order of a PyTorch weight's last dims.
        std::size_t col_rows() const { return channels * kernel_h * kernel_w; }
        // Columns of the column matrix: one per output pixel (oh, ow).
        std::size_t col_cols() const { return out_h * out_w; }
    };

    // col (C·kh·kw, out_h·out_w):  col[(c·kh + ki)·kw + kj, oh·out_w + ow] = image[c, ih, iw]   where
    //   ih = oh·stride_h - padding_h + ki·dilation_h,  iw = ow·stride_w - padding_w + kj·dilation_w
    // and 0 where (ih, iw) falls in the padding.  Kept for the tests.
    template <class T>
    void im2col_reference(const conv2d_shape& s, const T* image, T* col)
    {
        for (std::size_t c = 0; c < s.channels; ++c)
            for (std::size_t ki = 0; ki < s.kernel_h; ++ki)
                for (std::size_t kj = 0; kj < s.kernel_w; ++kj)
                    for (std::size_t oh = 0; oh < s.out_h; ++oh)
                        for (std::size_t ow = 0; ow < s.out_w; ++ow)
                        {
                            const auto ih =
                                std::ptrdiff_t(oh * s.stride_h + ki * s.dilation_h) - std::ptrdiff_t(s.padding_h);
                            const auto iw =
                                std::ptrdiff_t(ow * s.stride_w + kj * s.dilation_w) - std::ptrdiff_t(s.padding_w);
                            const bool inside =
                                ih >= 0 && ih < std::ptrdiff_t(s.in_h) && iw >= 0 && iw < std::ptrdiff_t(s.in_w);
                            col[((c * s.kernel_h + ki) * s.kernel_w + kj) * s.col_cols() + oh * s.out_w + ow] =
                                inside ? image[(c * s.in_h + std::size_t(ih)) * s.in_w + std::size_t(iw)] : T(0);
                        }
    }

    // The adjoint of im2col: image[c, ih, iw] += every col entry that im2col copied from there.  Adds into
    // image (zero it first for a plain col2im).  Kept for the tests.
    template <class T>
    void col2im_reference(const conv2d_shape& s, const T* col, T* image)
    {
        for (std::size_t c = 0; c < s.channels; ++c)
            for (std::size_t ki = 0; ki < s.kernel_h; ++ki)
                for (std::size_t kj = 0; kj < s.kernel_w; ++kj)
                    for (std::size_t oh = 0; oh < s.out_h; ++oh)
                        for (std::size_t ow = 0; ow < s.out_w; ++ow)
                        {
                            const auto ih =
                                std::ptrdiff_t(oh * s.stride_h + ki * s.dilation_h) - std::ptrdiff_t(s.padding_h);
                            const auto iw =
                                std::ptrdiff_t(ow * s.stride_w + kj * s.dilation_w) - std::ptrdiff_t(s.padding_w);
                            if (ih >= 0 && ih < std::ptrdiff_t(s.in_h) && iw >= 0 && iw < std::ptrdiff_t(s.in_w))
                                image[(c * s.in_h + std::size_t(ih)) * s.in_w + std::size_t(iw)] +=
                                    col[((c * s.kernel_h + ki) * s.kernel_w + kj) * s.col_cols() + oh * s.out_w + ow];
                        }
    }

    namespace detail
    {
        // The outputs o in [begin, end) of out_extent whose input o·stride + offset lies in [0, in_extent).
        struct valid_range
        {
            std::size_t begin, end;
            valid_range(std::size_t out_extent, std::size_t stride, std::ptrdiff_t offset, std::size_t in_extent)
            {
                const auto s = std::ptrdiff_t(stride);
                const std::ptrdiff_t first = offset >= 0 ? 0 : (-offset + s - 1) / s;
                const std::ptrdiff_t last = std::ptrdiff_t(in_extent) - offset;   // inputs below last are inside
                const std::ptrdiff_t past = last <= 0 ? 0 : (last + s - 1) / s;
                end = std::size_t(std::min(past, std::ptrdiff_t(out_extent)));
                begin = std::min(std::size_t(first), end);
            }
        };

        // Visits every row segment that im2col moves: for channel c, kernel tap (ki, kj) and output row oh,
        // fn(col_row, image_row_or_null, ow_range, iw_first) where image_row is null when ih is in the padding.
        template <class T, class Fn>
        void for_each_im2col_segment(const conv2d_shape& s, T* image, Fn&& fn)
        {
            for (std::size_t c = 0; c < s.channels; ++c)
                for (std::size_t ki = 0; ki < s.kernel_h; ++ki)
                {
                    const auto ih_offset = std::ptrdiff_t(ki * s.dilation_h) - std::ptrdiff_t(s.padding_h);
                    const valid_range rows(s.out_h, s.stride_h, ih_offset, s.in_h);
                    for (std::size_t kj = 0; kj < s.kernel_w; ++kj)
                    {
                        const auto iw_offset = std::ptrdiff_t(kj * s.dilation_w) - std::ptrdiff_t(s.padding_w);
                        const valid_range cols(s.out_w, s.stride_w, iw_offset, s.in_w);
                        const std::size_t row = (c * s.kernel_h + ki) * s.kernel_w + kj;
                        for (std::size_t oh = 0; oh < s.out_h; ++oh)
                        {
                            T* image_row = nullptr;
                            if (oh >= rows.begin && oh < rows.end)
                                image_row =
                                    image +
                                    (c * s.in_h + std::size_t(std::ptrdiff_t(oh * s.stride_h) + ih_offset)) * s.in_w;
                            const std::ptrdiff_t iw_first = std::ptrdiff_t(cols.begin * s.stride_w) + iw_offset;
                            fn(row * s.col_cols() + oh * s.out_w, image_row, cols, iw_first);
                        }
                    }
                }
        }
    }

    // im2col_reference with the bounds hoisted out of the inner loop: each output row is a zero head, a
    // contiguous (stride 1) or strided copy, and a zero tail.
    template <class T>
    void im2col(const conv2d_shape& s, const T* image, T* col)
    {
        detail::for_each_im2col_segment(
            s, image,
            [&](std::size_t offset, const T* image_row, const detail::valid_range& cols, std::ptrdiff_t iw_first) {
                T* out = col + offset;
                if (image_row == nullptr || cols.begin == cols.end)
                {
                    std::fill(out, out + s.out_w, T(0));
                    return;
                }
                std::fill(out, out + cols.begin, T(0));
                const T* in = image_row + iw_first;
                const std::size_t count = cols.end - cols.begin;
                if (s.stride_w == 1)
                    std::copy(in, in + count, out + cols.begin);
                else
                    for (std::size_t i = 0; i < count; ++i)
                        out[cols.begin + i] = in[i * s.stride_w];
                std::fill(out + cols.end, out + s.out_w, T(0));
            });
    }

    // col2im_reference with the bounds hoisted out of the inner loop.  Adds into image.
    template <class T>
    void col2im(const conv2d_shape& s, const T* col, T* image)
    {
        detail::for_each_im2col_segment(
            s, image, [&](std::size_t offset, T* image_row, const detail::valid_range& cols, std::ptrdiff_t iw_first) {
                if (image_row == nullptr)
                    return;
                const T* in = col + offset + cols.begin;
                T* out = image_row + iw_first;
                const std::size_t count = cols.end - cols.begin;
                if (s.stride_w == 1)
                    for (std::size_t i = 0; i < count; ++i)
                        out[i] += in[i];
                else
                    for (std::size_t i = 0; i < count; ++i)
                        out[i * s.stride_w] += in[i];
            });
    }
}
