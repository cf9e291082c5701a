// 2-D pooling on raw pointers over planes (N·C of them, each H×W, row-major): max with its arg-max,
// average, their adjoints, and the plain loops they are tested against.  A pooling is described by its
// windows, so one kernel serves sliding windows (max_pool2d, avg_pool2d) and adaptive bins alike.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "im2col.hpp"

namespace xgrad::kernels
{
    // The windows along one dim: output o pools the inputs [begin[o], end[o]).
    struct pool_windows_1d
    {
        std::vector<std::size_t> begin, end;
        std::size_t size() const { return begin.size(); }
    };

    // Sliding windows of `kernel` inputs every `stride`, over the input padded by `padding` on both sides,
    // clipped to the real input: out = (in + 2·padding - kernel) / stride + 1.  Needs kernel ≤ in + 2·padding.
    inline pool_windows_1d sliding_windows(std::size_t in, std::size_t kernel, std::size_t stride, std::size_t padding)
    {
        pool_windows_1d windows;
        const std::size_t out = (in + 2 * padding - kernel) / stride + 1;
        for (std::size_t o = 0; o < out; ++o)
        {
            const std::size_t padded_begin = o * stride;   // in padded coordinates
            windows.begin.push_back(std::min(in, std::max(padded_begin, padding) - padding));
            windows.end.push_back(std::min(in, std::max(padded_begin + kernel, padding) - padding));
        }
        return windows;
    }

    // PyTorch's adaptive bins: output o of `out` pools [floor(o·in / out), ceil((o + 1)·in / out)).
    inline pool_windows_1d adaptive_windows(std::size_t in, std::size_t out)
    {
        pool_windows_1d windows;
        for (std::size_t o = 0; o < out; ++o)
        {
            windows.begin.push_back(o * in / out);
            windows.end.push_back(((o + 1) * in + out - 1) / out);
        }
        return windows;
    }

    // The windows of a 2-D pooling of an in_h × in_w plane.  An average divides by `divisor`, or by the
    // window's own area when divisor is 0 (adaptive pooling).
    struct pool_windows
    {
        std::size_t in_h = 0, in_w = 0;
        pool_windows_1d rows, cols;
        std::size_t divisor = 0;

        std::size_t in_size() const { return in_h * in_w; }
        std::size_t out_size() const { return rows.size() * cols.size(); }
    };

    // y[p, oh, ow] = max of x[p] over the kernel_h × kernel_w window at (oh·stride_h - padding_h,
    // ow·stride_w - padding_w), the padding never winning; argmax[p, oh, ow] = the winner's flat position in
    // the plane.  NaN wins, as in PyTorch; ties go to the first in row-major order.  Needs padding < kernel.
    // The loops run tap by tap over a whole output row, keeping the row's running maxima in y and argmax:
    // the inner loop has no data-dependent branch (random data makes the arg-max unpredictable) and
    // vectorises.
    template <class T>
    void max_pool2d(std::size_t planes, std::size_t in_h, std::size_t in_w, std::size_t kernel_h, std::size_t kernel_w,
                    std::size_t stride_h, std::size_t stride_w, std::size_t padding_h, std::size_t padding_w,
                    const T* x, T* y, std::size_t* argmax)
    {
        const std::size_t out_h = (in_h + 2 * padding_h - kernel_h) / stride_h + 1;
        const std::size_t out_w = (in_w + 2 * padding_w - kernel_w) / stride_w + 1;
        for (std::size_t p = 0; p < planes; ++p, x += in_h * in_w)
            for (std::size_t oh = 0; oh < out_h; ++oh, y += out_w, argmax += out_w)
            {
                const std::size_t ih_begin = std::max(oh * stride_h, padding_h) - padding_h;
                const std::size_t ih_end = std::min(in_h, oh * stride_h + kernel_h - padding_h);
                for (std::size_t ow = 0; ow < out_w; ++ow)
                {
                    y[ow] = -std::numeric_limits<T>::infinity();
                    argmax[ow] = ih_begin * in_w + std::max(ow * stride_w, padding_w) - padding_w;
                }
                for (std::size_t ih = ih_begin; ih < ih_end; ++ih)
                    for (std::size_t kj = 0; kj < kernel_w; ++kj)
                    {
                        const auto iw_offset = std::ptrdiff_t(kj) - std::ptrdiff_t(padding_w);
                        const detail::valid_range cols(out_w, stride_w, iw_offset, in_w);
                        const std::size_t row_offset = ih * in_w;
                        for (std::size_t ow = cols.begin; ow < cols.end; ++ow)
                        {
                            const std::size_t at = row_offset + std::size_t(std::ptrdiff_t(ow * stride_w) + iw_offset);
                            const T value = x[at];
                            const bool take = (value > y[ow]) | (value != value);   // value != value: NaN
                            y[ow] = take ? value : y[ow];
                            argmax[ow] = take ? at : argmax[ow];
                        }
                    }
            }
    }

    // y[p, o] = mean of x[p] over window o (sum / divisor).
    template <class T>
    void avg_pool2d(const pool_windows& w, std::size_t planes, const T* x, T* y)
    {
        for (std::size_t p = 0; p < planes; ++p, x += w.in_size())
            for (std::size_t oh = 0; oh < w.rows.size(); ++oh)
                for (std::size_t ow = 0; ow < w.cols.size(); ++ow, ++y)
                {
                    T total = 0;
                    for (std::size_t ih = w.rows.begin[oh]; ih < w.rows.end[oh]; ++ih)
                        for (std::size_t iw = w.cols.begin[ow]; iw < w.cols.end[ow]; ++iw)
                            total += x[ih * w.in_w + iw];
                    const std::size_t area = (w.rows.end[oh] - w.rows.begin[oh]) * (w.cols.end[ow] - w.cols.begin[ow]);
                    *y = total / T(w.divisor != 0 ? w.divisor : area);
                }
    }

    // The adjoint of avg_pool2d: dx[p, i] += dy[p, o] / divisor for every window o holding i.  Adds into dx.
    template <class T>
    void avg_pool2d_backward(const pool_windows& w, std::size_t planes, const T* dy, T* dx)
    {
        for (std::size_t p = 0; p < planes; ++p, dx += w.in_size())
            for (std::size_t oh = 0; oh < w.rows.size(); ++oh)
                for (std::size_t ow = 0; ow < w.cols.size(); ++ow, ++dy)
                {
                    const std::size_t area = (w.rows.end[oh] - w.rows.begin[oh]) * (w.cols.end[ow] - w.cols.begin[ow]);
                    const T share = *dy / T(w.divisor != 0 ? w.divisor : area);
                    for (std::size_t ih = w.rows.begin[oh]; ih < w.rows.end[oh]; ++ih)
                        for (std::size_t iw = w.cols.begin[ow]; iw < w.cols.end[ow]; ++iw)
                            dx[ih * w.in_w + iw] += share;
                }
    }

    // dst[p, o] = src[p, index[p, o]]: what max pooling picked, read again (src planes in_size, dst out_size).
    template <class T>
    void gather_planes(std::size_t planes, std::size_t in_size, std::size_t out_size, const std::size_t* index,
                       const T* src, T* dst)
    {
        for (std::size_t p = 0; p < planes; ++p, src += in_size)
            for (std::size_t o = 0; o < out_size; ++o, ++index, ++dst)
                *dst = src[*index];
    }

    // The adjoint of gather_planes: dst[p, index[p, o]] += src[p, o].  Adds into dst (planes of in_size).
    template <class T>
    void scatter_add_planes(std::size_t planes, std::size_t in_size, std::size_t out_size, const std::size_t* index,
                            const T* src, T* dst)
    {
        for (std::size_t p = 0; p < planes; ++p, dst += in_size)
            for (std::size_t o = 0; o < out_size; ++o, ++index, ++src)
                dst[*index] += *src;
    }

    // References, kept for the tests: max and average over windows of the zero-padded plane by the
    // definition (padding counts as -inf for max, as 0 for average, whose divisor is kernel_h · kernel_w).
    template <class T>
    void max_pool2d_reference(std::size_t planes, std::size_t in_h, std::size_t in_w, std::size_t kernel_h,
                              std::size_t kernel_w, std::size_t stride_h, std::size_t stride_w, std::size_t padding_h,
                              std::size_t padding_w, const T* x, T* y, std::size_t* argmax)
    {
        const std::size_t out_h = (in_h + 2 * padding_h - kernel_h) / stride_h + 1;
        const std::size_t out_w = (in_w + 2 * padding_w - kernel_w) / stride_w + 1;
        for (std::size_t p = 0; p < planes; ++p)
            for (std::size_t oh = 0; oh < out_h; ++oh)
                for (std::size_t ow = 0; ow < out_w; ++ow)
                {
                    T best = -std::numeric_limits<T>::infinity();
                    std::size_t best_at = 0;
                    bool found = false;
                    for (std::size_t ki = 0; ki < kernel_h; ++ki)
                        for (std::size_t kj = 0; kj < kernel_w; ++kj)
                        {
                            const auto ih = std::ptrdiff_t(oh * stride_h + ki) - std::ptrdiff_t(padding_h);
                            const auto iw = std::ptrdiff_t(ow * stride_w + kj) - std::ptrdiff_t(padding_w);
                            if (ih < 0 || iw < 0 || ih >= std::ptrdiff_t(in_h) || iw >= std::ptrdiff_t(in_w))
                                continue;
                            const std::size_t at = std::size_t(ih) * in_w + std::size_t(iw);
                            const T value = x[p * in_h * in_w + at];
                            if (!found || value > best)
                            {
                                best = value;
                                best_at = at;
                                found = true;
                            }
                        }
                    y[(p * out_h + oh) * out_w + ow] = best;
                    argmax[(p * out_h + oh) * out_w + ow] = best_at;
                }
    }

    template <class T>
    void avg_pool2d_reference(std::size_t planes, std::size_t in_h, std::size_t in_w, std::size_t kernel_h,
                              std::size_t kernel_w, std::size_t stride_h, std::size_t stride_w, std::size_t padding_h,
                              std::size_t padding_w, const T* x, T* y)
    {
        const std::size_t out_h = (in_h + 2 * padding_h - kernel_h) / stride_h + 1;
        const std::size_t out_w = (in_w + 2 * padding_w - kernel_w) / stride_w + 1;
        for (std::size_t p = 0; p < planes; ++p)
            for (std::size_t oh = 0; oh < out_h; ++oh)
                for (std::size_t ow = 0; ow < out_w; ++ow)
                {
                    T total = 0;
                    for (std::size_t ki = 0; ki < kernel_h; ++ki)
                        for (std::size_t kj = 0; kj < kernel_w; ++kj)
                        {
                            const auto ih = std::ptrdiff_t(oh * stride_h + ki) - std::ptrdiff_t(padding_h);
                            const auto iw = std::ptrdiff_t(ow * stride_w + kj) - std::ptrdiff_t(padding_w);
                            if (ih >= 0 && iw >= 0 && ih < std::ptrdiff_t(in_h) && iw < std::ptrdiff_t(in_w))
                                total += x[(p * in_h + std::size_t(ih)) * in_w + std::size_t(iw)];
                        }
                    y[(p * out_h + oh) * out_w + ow] = total / T(kernel_h * kernel_w);
                }
    }
}
