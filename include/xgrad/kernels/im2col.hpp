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

    namespace detail
    {
        // A convolution that keeps the width at stride 1 ("same" along the rows: out_w == in_w, both strides
        // 1): along a column-matrix row, output row oh+1 starts out_w entries after oh, as its image row
        // starts in_w = out_w entries later, so the entries that im2col copies from one channel for one tap
        // are a single run of the image.
        inline bool rows_are_contiguous(const conv2d_shape& s)
        {
            return s.stride_h == 1 && s.stride_w == 1 && s.out_w == s.in_w;
        }

        // For a rows_are_contiguous shape, visits each column-matrix row (channel c, tap ki, kj):
        // fn(entries, image_first, rows, cols), where `entries` is that row of col (out_h·out_w), rows × cols
        // the output pixels whose input lies inside the image, and image_first the input of the first of them;
        // entry rows.begin·out_w + cols.begin + i and image_first[i] correspond for i below run(rows, cols).
        // Between them lie the entries that fall in the padding at the row ends (gaps(entries, ...) visits
        // those), paired with image pixels of the neighbouring rows.
        template <class T, class Image, class Fn>
        void for_each_contiguous_run(const conv2d_shape& s, T* col, Image* image, Fn&& fn)
        {
            for (std::size_t c = 0; c < s.channels; ++c)
                for (std::size_t ki = 0; ki < s.kernel_h; ++ki)
                {
                    const auto ih_offset = std::ptrdiff_t(ki * s.dilation_h) - std::ptrdiff_t(s.padding_h);
                    const valid_range rows(s.out_h, 1, ih_offset, s.in_h);
                    for (std::size_t kj = 0; kj < s.kernel_w; ++kj)
                    {
                        const auto iw_offset = std::ptrdiff_t(kj * s.dilation_w) - std::ptrdiff_t(s.padding_w);
                        const valid_range cols(s.out_w, 1, iw_offset, s.in_w);
                        T* entries = col + ((c * s.kernel_h + ki) * s.kernel_w + kj) * s.col_cols();
                        Image* image_first = rows.begin == rows.end || cols.begin == cols.end
                                                 ? nullptr
                                                 : image + c * s.in_h * s.in_w +
                                                       std::size_t(std::ptrdiff_t(rows.begin) + ih_offset) * s.in_w +
                                                       std::size_t(std::ptrdiff_t(cols.begin) + iw_offset);
                        fn(entries, image_first, rows, cols);
                    }
                }
        }

        // The length of a contiguous run: from the first entry inside the image to the last.
        inline std::size_t run(const conv2d_shape& s, const valid_range& rows, const valid_range& cols)
        {
            return (rows.end - rows.begin - 1) * s.out_w + (cols.end - cols.begin);
        }

        // Sets to zero the entries inside a run that fall in the padding: the tail of each output row and the
        // head of the next, adjacent in the column matrix.
        template <class T>
        void zero_run_gaps(const conv2d_shape& s, T* entries, const valid_range& rows, const valid_range& cols)
        {
            for (std::size_t oh = rows.begin; oh + 1 < rows.end; ++oh)
                std::fill(entries + oh * s.out_w + cols.end, entries + (oh + 1) * s.out_w + cols.begin, T(0));
        }
    }

    // im2col_reference with the bounds hoisted out of the inner loop: each output row is a zero head, a
    // contiguous (stride 1) or strided copy, and a zero tail; shapes that keep the width at stride 1 copy all
    // rows of a channel and tap at once.
    template <class T>
    void im2col(const conv2d_shape& s, const T* image, T* col)
    {
        if (detail::rows_are_contiguous(s))
        {
            // One copy per column-matrix row, then zeros above, below and in its gaps.
            detail::for_each_contiguous_run(s, col, image, [&](T* entries, const T* image_first,
                                                               const detail::valid_range& rows,
                                                               const detail::valid_range& cols) {
                if (image_first == nullptr)
                {
                    std::fill(entries, entries + s.col_cols(), T(0));
                    return;
                }
                T* first = entries + rows.begin * s.out_w + cols.begin;
                T* past = first + detail::run(s, rows, cols);
                std::fill(entries, first, T(0));
                std::copy(image_first, image_first + (past - first), first);
                std::fill(past, entries + s.col_cols(), T(0));
                detail::zero_run_gaps(s, entries, rows, cols);
            });
            return;
        }
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

    // col2im_reference with the bounds hoisted out of the inner loop.  Adds into image.  col is scratch: for
    // shapes that keep the width at stride 1 its entries that fall in the padding (which add nothing) are set
    // to zero, so that each column-matrix row adds to the image as one run.
    template <class T>
    void col2im(const conv2d_shape& s, T* col, T* image)
    {
        if (detail::rows_are_contiguous(s))
        {
            detail::for_each_contiguous_run(
                s, col, image,
                [&](T* entries, T* image_first, const detail::valid_range& rows, const detail::valid_range& cols) {
                    if (image_first == nullptr)
                        return;
                    detail::zero_run_gaps(s, entries, rows, cols);
                    const T* first = entries + rows.begin * s.out_w + cols.begin;
                    const std::size_t count = detail::run(s, rows, cols);
                    for (std::size_t i = 0; i < count; ++i)
                        image_first[i] += first[i];
                });
            return;
        }
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
