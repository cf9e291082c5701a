// Copies of a row-major array with its dims reordered (what permute and transpose materialise), beside the
// per-element loop they are tested against.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "../parallel.hpp"
#include "simd.hpp"

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_BEGIN

namespace xgrad::kernels
{
    // out = in with its dims reordered, both row-major: out has shape (shape[order[0]], ..., shape[order[r-1]])
    // and out[i_0, ..., i_{r-1}] = in[j] where j[order[k]] = i_k.  One division per dim per element; kept for
    // the tests.
    template <class T>
    void permute_copy_reference(const std::vector<std::size_t>& shape, const std::vector<std::size_t>& order,
                                const T* in, T* out)
    {
        const std::size_t rank = shape.size();
        std::vector<std::size_t> in_strides(rank, 1);
        for (std::size_t d = rank; d-- > 1;)
            in_strides[d - 1] = in_strides[d] * shape[d];
        std::size_t count = 1;
        for (std::size_t extent : shape)
            count *= extent;
        for (std::size_t i = 0; i < count; ++i)
        {
            std::size_t rest = i, in_offset = 0;
            for (std::size_t k = rank; k-- > 0;)
            {
                const std::size_t extent = shape[order[k]];
                in_offset += rest % extent * in_strides[order[k]];
                rest /= extent;
            }
            out[i] = in[in_offset];
        }
    }

    namespace detail
    {
        // Each thread gets at least this many elements: a copy runs at memory speed, so a chunk must be large
        // to repay waking a thread (the maps split from half as many).
        constexpr std::size_t permute_grain = 64 * 1024;

        // One dim of the output: its extent and the distance between its neighbours in the input.
        struct permuted_dim
        {
            std::size_t extent, in_stride;
        };

        // The output's dims, with the dims of size 1 dropped and each pair of neighbours merged when the outer
        // one's input stride is the inner one's stride times its extent (they walk the input as one dim):
        // (B, T, H, Dh) -> (B, H, T, Dh) keeps four dims, (A, B, C) -> (C, A, B) becomes (C, A·B).  The dim with
        // input stride 1 is always among them, unless no dim has a size other than 1.
        inline std::vector<permuted_dim> merged_output_dims(const std::vector<std::size_t>& shape,
                                                            const std::vector<std::size_t>& order)
        {
            std::vector<std::size_t> in_strides(shape.size(), 1);
            for (std::size_t d = shape.size(); d-- > 1;)
                in_strides[d - 1] = in_strides[d] * shape[d];
            std::vector<permuted_dim> dims;
            for (std::size_t d : order)
            {
                if (shape[d] == 1)
                    continue;
                if (!dims.empty() && dims.back().in_stride == in_strides[d] * shape[d])
                    dims.back() = {dims.back().extent * shape[d], in_strides[d]};
                else
                    dims.push_back({shape[d], in_strides[d]});
            }
            return dims;
        }

        // A walk over some dims in row-major order that keeps the input and output offsets of its position.
        struct permute_odometer
        {
            std::vector<std::size_t> extents, in_strides, out_strides;
            std::vector<std::size_t> index;   // the position, one entry per dim
            std::size_t in_offset = 0, out_offset = 0;

            void add_dim(std::size_t extent, std::size_t in_stride, std::size_t out_stride)
            {
                extents.push_back(extent);
                in_strides.push_back(in_stride);
                out_strides.push_back(out_stride);
            }

            std::size_t positions() const
            {
                std::size_t count = 1;
                for (std::size_t extent : extents)
                    count *= extent;
                return count;
            }

            // Moves to the position-th index in row-major order.
            void seek(std::size_t position)
            {
                index.assign(extents.size(), 0);
                in_offset = out_offset = 0;
                for (std::size_t k = extents.size(); k-- > 0;)
                {
                    index[k] = position % extents[k];
                    position /= extents[k];
                    in_offset += index[k] * in_strides[k];
                    out_offset += index[k] * out_strides[k];
                }
            }

            // Moves to the next index in row-major order (after the last, back to the first).
            void advance()
            {
                for (std::size_t k = extents.size(); k-- > 0;)
                {
                    in_offset += in_strides[k];
                    out_offset += out_strides[k];
                    if (++index[k] < extents[k])
                        return;
                    in_offset -= extents[k] * in_strides[k];
                    out_offset -= extents[k] * out_strides[k];
                    index[k] = 0;
                }
            }
        };

        // out[i] = in[i] for i < n: the runs are short (attention's are a head's 16 or 64 values), where a
        // vector loop beats a call to memmove.
        template <class T, class Arch>
        void copy_run(const T* in, std::size_t n, T* out)
        {
            using batch = xsimd::batch<T, Arch>;
            const std::size_t vn = n - n % batch::size;
            for (std::size_t i = 0; i < vn; i += batch::size)
                batch::load_unaligned(in + i).store_unaligned(out + i);
            for (std::size_t i = vn; i < n; ++i)   // scalar tail
                out[i] = in[i];
        }

        // out[r·out_stride + c] = in[c·in_stride + r] for r < rows ≤ width, c < cols: tiles of width × width
        // through transpose_square_tile when rows = width, the rest element by element.
        template <class T, class Arch>
        void transpose_rows(const T* in, std::size_t in_stride, T* out, std::size_t out_stride, std::size_t rows,
                            std::size_t cols)
        {
            using batch = xsimd::batch<T, Arch>;
            constexpr std::size_t width = batch::size;
            std::size_t tiled_cols = 0;
            if (rows == width)
                for (; tiled_cols + width <= cols; tiled_cols += width)
                {
                    batch tile[width];   // (width columns, width rows), then transposed to (rows, columns)
                    for (std::size_t c = 0; c < width; ++c)
                        tile[c] = batch::load_unaligned(in + (tiled_cols + c) * in_stride);
                    transpose_square_tile(tile);
                    for (std::size_t r = 0; r < width; ++r)
                        tile[r].store_unaligned(out + r * out_stride + tiled_cols);
                }
            for (std::size_t r = 0; r < rows; ++r)   // scalar tail
                for (std::size_t c = tiled_cols; c < cols; ++c)
                    out[r * out_stride + c] = in[c * in_stride + r];
        }
    }

    // permute_copy_reference by runs and tiles.  With the dims merged (merged_output_dims), the output is walked
    // in order: when its last dim is contiguous in the input, a run of that dim is copied at a time; otherwise
    // the input's contiguous dim lands at an earlier output dim, and each block of `width` of its indices is a
    // 2-D transpose against the output's last dim, done tile by tile in SIMD registers.  Large copies are
    // split across threads over the runs or the blocks.
    template <class T, class Arch = xsimd::default_arch>
    void permute_copy(const std::vector<std::size_t>& shape, const std::vector<std::size_t>& order, const T* in,
                      T* out)
    {
        if (std::find(shape.begin(), shape.end(), std::size_t(0)) != shape.end())
            return;
        const std::vector<detail::permuted_dim> dims = detail::merged_output_dims(shape, order);
        const std::size_t rank = dims.size();
        std::vector<std::size_t> out_strides(rank, 1);
        for (std::size_t k = rank; k-- > 1;)
            out_strides[k - 1] = out_strides[k] * dims[k].extent;
        // copy_unit(position) at every position of `units`, each a copy of unit_size elements.
        auto for_each_unit = [](const detail::permute_odometer& units, std::size_t unit_size, auto&& copy_unit) {
            const std::size_t grain = (detail::permute_grain + unit_size - 1) / unit_size;
            parallel_for(0, units.positions(), grain, [&](std::size_t begin, std::size_t end) {
                detail::permute_odometer walk = units;
                walk.seek(begin);
                for (std::size_t u = begin; u < end; ++u, walk.advance())
                    copy_unit(walk);
            });
        };

        detail::permute_odometer units;
        if (rank == 0 || dims.back().in_stride == 1)   // runs: every output dim but the last
        {
            const std::size_t run = rank == 0 ? 1 : dims.back().extent;
            for (std::size_t k = 0; k + 1 < rank; ++k)
                units.add_dim(dims[k].extent, dims[k].in_stride, out_strides[k]);
            for_each_unit(units, run, [&](const detail::permute_odometer& at) {
                detail::copy_run<T, Arch>(in + at.in_offset, run, out + at.out_offset);
            });
            return;
        }
        // blocks: every output dim but the last and the input's contiguous one, then blocks of the latter
        constexpr std::size_t width = simd_width<T, Arch>;
        const std::size_t contiguous_dim = static_cast<std::size_t>(
            std::find_if(dims.begin(), dims.end(), [](const auto& dim) { return dim.in_stride == 1; }) - dims.begin());
        const std::size_t rows = dims[contiguous_dim].extent, row_stride = out_strides[contiguous_dim];
        const std::size_t cols = dims.back().extent, col_stride = dims.back().in_stride;
        for (std::size_t k = 0; k + 1 < rank; ++k)
            if (k != contiguous_dim)
                units.add_dim(dims[k].extent, dims[k].in_stride, out_strides[k]);
        units.add_dim((rows + width - 1) / width, width, width * row_stride);
        for_each_unit(units, width * cols, [&](const detail::permute_odometer& at) {
            const std::size_t block_rows = std::min(width, rows - at.index.back() * width);
            detail::transpose_rows<T, Arch>(in + at.in_offset, col_stride, out + at.out_offset, row_stride,
                                            block_rows, cols);
        });
    }
}

XGRAD_KERNELS_SILENCE_AVX512_WARNINGS_END
