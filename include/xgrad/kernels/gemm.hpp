// GEMM on row-major pointers, C = alpha·op(A)·op(B) + beta·C for float and double: a GotoBLAS/BLIS design
// (cache blocks, packed panels, one register-blocked FMA micro-kernel), beside the plain loop it is tested against.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

#include <xsimd/xsimd.hpp>

#include "../parallel.hpp"
#include "simd.hpp"

namespace xgrad::kernels
{
    // C (m×n, row stride ldc) = alpha · op(A) · op(B) + beta · C by the definition, kept for the tests.
    // op(A) is m×k: A is stored m×k (lda ≥ k) or, when trans_a, k×m (lda ≥ m); op(B) is k×n likewise.
    // beta == 0 does not read C.
    template <class T>
    void gemm_reference(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                        std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc)
    {
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j)
            {
                T sum = 0;
                for (std::size_t p = 0; p < k; ++p)
                    sum += (trans_a ? a[p * lda + i] : a[i * lda + p]) * (trans_b ? b[j * ldb + p] : b[p * ldb + j]);
                T& out = c[i * ldc + j];
                out = beta == T(0) ? alpha * sum : alpha * sum + beta * out;
            }
    }

    namespace detail
    {
        // The register tile and the cache blocks for T on Arch.
        template <class T, class Arch>
        struct gemm_blocking
        {
            static constexpr std::size_t width = xsimd::batch<T, Arch>::size;
            // The micro-kernel keeps an mr × nr tile of C in registers, nr being two vectors: its 2·mr
            // accumulators, 2 vectors of B and 1 broadcast of A fill the register file (32 with AVX-512,
            // 16 below): 14 × 32 floats on AVX-512, 6 × 16 on AVX2.
            static constexpr std::size_t vectors_per_row = 2;
            static constexpr std::size_t nr = vectors_per_row * width;
            static constexpr std::size_t registers = Arch::alignment() >= 64 ? 32 : 16;
            static constexpr std::size_t mr = (registers - vectors_per_row - 1) / vectors_per_row;
            // Packed A gives each step a_stride slots for its mr values, so that packing writes whole vectors.
            static constexpr std::size_t a_stride = (mr + width - 1) / width * width;
            // kc steps per pass over a C tile: long, so that the tile's load and store (mr rows of C, usually far
            // apart in memory) are rare. The kc × nr panel of B (64-128 KB) and the mc × kc block of A (four
            // row tiles, 128-512 KB) are read from the 1 MB L2, the kc × nc panel of B (4 MB) from L3. These
            // beat shorter passes with an L1-sized B panel; benchmarks/README.md has the measurements.
            static constexpr std::size_t kc = 1024;
            static constexpr std::size_t mc = 4 * mr;
            static constexpr std::size_t nc = 4 * 1024 * 1024 / (kc * sizeof(T)) / nr * nr;
        };

        // Multiply-adds each thread must get before a product is split: 512K is a few microseconds of one
        // AVX-512 core, above what a hand-off to the pool's (briefly spinning) workers costs between the ops of
        // a training step, so that the small layers of small models use both cores too.
        constexpr std::size_t gemm_min_work_per_thread = std::size_t(1) << 19;

        // body(0), body(1), ... in place: always inlined, since the micro-kernel's accumulators must stay in
        // registers (clang 14 otherwise keeps the 14-row unroll as a call, with the tile in memory: 5× slower).
        template <std::size_t... I, class F>
        [[gnu::always_inline]] inline void unrolled(std::index_sequence<I...>, F&& body)
        {
            (body(std::integral_constant<std::size_t, I>{}), ...);
        }

        // Where a micro-kernel reads its panel of op(A): element (r, p) at a[r·row_stride + p·step_stride].
        // A packed panel has row_stride 1 and step_stride a_stride; an unpacked one is op(A) where it lies:
        // (1, lda) when trans_a, (lda, 1) otherwise.
        template <class T>
        struct gemm_a_panel
        {
            const T* a;
            std::size_t row_stride, step_stride;
        };

        // The Rows × (Vectors·width) tile of C at c = alpha · A panel · packed B panel + beta · C, over kc
        // steps; only its first `cols` columns are written. The A panel holds, for each step, one column of
        // op(A) (packed: in a_stride slots, PackedA's strides known when compiling); the B panel holds nr values
        // (one row of op(B)). beta == 0 does not read C.
        template <class T, class Arch, std::size_t Rows, std::size_t Vectors, bool PackedA>
        void gemm_micro_kernel(std::size_t kc, gemm_a_panel<T> a_panel, const T* packed_b, T alpha, T beta, T* c,
                               std::size_t ldc, std::size_t cols)
        {
            using batch = xsimd::batch<T, Arch>;
            using blocking = gemm_blocking<T, Arch>;
            constexpr std::size_t width = blocking::width;
            constexpr auto rows = std::make_index_sequence<Rows>();
            constexpr auto vectors = std::make_index_sequence<Vectors>();
            const std::size_t a_row_stride = PackedA ? 1 : a_panel.row_stride;
            const std::size_t a_step_stride = PackedA ? blocking::a_stride : a_panel.step_stride;
            const T* a = a_panel.a;

            batch acc[Rows][Vectors];   // (Rows, Vectors·width)
            unrolled(rows, [&](auto r) { unrolled(vectors, [&](auto v) { acc[r][v] = batch(T(0)); }); });
            for (std::size_t p = 0; p < kc; ++p)
            {
                batch b_row[Vectors];
                unrolled(vectors, [&](auto v) { b_row[v] = batch::load_aligned(packed_b + v * width); });
                unrolled(rows, [&](auto r) {
                    const batch a_value(a[r * a_row_stride]);
                    unrolled(vectors, [&](auto v) { acc[r][v] = xsimd::fma(a_value, b_row[v], acc[r][v]); });
                });
                a += a_step_stride;
                packed_b += blocking::nr;
            }

            const batch alpha_v(alpha);
            if (cols == Vectors * width)
            {
                const batch beta_v(beta);
                unrolled(rows, [&](auto r) {
                    unrolled(vectors, [&](auto v) {
                        T* out = c + r * ldc + v * width;
                        const batch scaled = alpha_v * acc[r][v];
                        (beta == T(0) ? scaled : xsimd::fma(beta_v, batch::load_unaligned(out), scaled))
                            .store_unaligned(out);
                    });
                });
                return;
            }
            alignas(scratch_alignment) T tile[Rows][Vectors * width];   // (Rows, Vectors·width)
            unrolled(rows, [&](auto r) {
                unrolled(vectors, [&](auto v) { (alpha_v * acc[r][v]).store_aligned(&tile[r][v * width]); });
            });
            for (std::size_t r = 0; r < Rows; ++r)
                for (std::size_t j = 0; j < cols; ++j)
                {
                    T& out = c[r * ldc + j];
                    out = beta == T(0) ? tile[r][j] : tile[r][j] + beta * out;
                }
        }

        template <class T>
        using gemm_micro_kernel_fn = void (*)(std::size_t, gemm_a_panel<T>, const T*, T, T, T*, std::size_t,
                                              std::size_t);

        template <class T, class Arch, std::size_t Vectors, bool PackedA, std::size_t... RowsMinusOne>
        constexpr std::array<gemm_micro_kernel_fn<T>, sizeof...(RowsMinusOne)>
        gemm_micro_kernels_by_rows(std::index_sequence<RowsMinusOne...>)
        {
            return {&gemm_micro_kernel<T, Arch, RowsMinusOne + 1, Vectors, PackedA>...};
        }

        // dst[p·DstStride + j] = src[p·ld + j] for p < kb, j < cols, and 0 for cols ≤ j < DstStride, where
        // dst is aligned and DstStride a multiple of the vector width: packs op(B) = B.
        template <class T, class Arch, std::size_t DstStride>
        void gemm_pack_rows(const T* src, std::size_t ld, std::size_t kb, std::size_t cols, T* dst)
        {
            using batch = xsimd::batch<T, Arch>;
            if (cols == DstStride)
                for (std::size_t p = 0; p < kb; ++p, src += ld, dst += DstStride)
                    for (std::size_t j = 0; j < DstStride; j += batch::size)
                        batch::load_unaligned(src + j).store_aligned(dst + j);
            else   // a fixed-length loop with a condition, which compilers turn into masked moves, not memcpy calls
                for (std::size_t p = 0; p < kb; ++p, src += ld, dst += DstStride)
                    for (std::size_t j = 0; j < DstStride; ++j)
                        dst[j] = j < cols ? src[j] : T(0);
        }

        // dst[p·dst_stride + r] = src[r·ld + p] for r < rows, p < kb, and 0 for rows ≤ r < dst_stride, where
        // dst is aligned and dst_stride a multiple of the vector width: packs op(A) = A, or op(B) = Bᵀ.
        // Square tiles of width × width go through transpose_square_tile.
        template <class T, class Arch>
        void gemm_pack_columns(const T* src, std::size_t ld, std::size_t rows, std::size_t kb, T* dst,
                               std::size_t dst_stride)
        {
            using batch = xsimd::batch<T, Arch>;
            constexpr std::size_t width = batch::size;
            const std::size_t tiled_kb = kb / width * width;
            for (std::size_t r0 = 0; r0 < dst_stride; r0 += width)
            {
                const std::size_t group_rows = r0 < rows ? std::min(width, rows - r0) : 0;
                if (group_rows == 0)
                {
                    for (std::size_t p = 0; p < kb; ++p)
                        batch(T(0)).store_aligned(dst + p * dst_stride + r0);
                    continue;
                }
                for (std::size_t p0 = 0; p0 < tiled_kb; p0 += width)
                {
                    batch tile[width];   // (width rows, width steps), then transposed to (steps, rows)
                    for (std::size_t i = 0; i < width; ++i)
                        tile[i] = i < group_rows ? batch::load_unaligned(src + (r0 + i) * ld + p0) : batch(T(0));
                    transpose_square_tile(tile);
                    for (std::size_t q = 0; q < width; ++q)
                        tile[q].store_aligned(dst + (p0 + q) * dst_stride + r0);
                }
                for (std::size_t p = tiled_kb; p < kb; ++p)   // scalar tail
                    for (std::size_t i = 0; i < width; ++i)
                        dst[p * dst_stride + r0 + i] = i < group_rows ? src[(r0 + i) * ld + p] : T(0);
            }
        }

        // Packs the mb × kb block of A (not transposed: gemm_packs_a) at a into panels of mr rows: panel q
        // holds, step after step p, A(q·mr + r, p) for r < mr in a_stride slots; rows past mb and the slots
        // past mr are 0.
        template <class T, class Arch>
        void gemm_pack_a(const T* a, std::size_t lda, std::size_t mb, std::size_t kb, T* packed)
        {
            using blocking = gemm_blocking<T, Arch>;
            for (std::size_t i0 = 0; i0 < mb; i0 += blocking::mr, packed += blocking::a_stride * kb)
                gemm_pack_columns<T, Arch>(a + i0 * lda, lda, std::min(blocking::mr, mb - i0), kb, packed,
                                           blocking::a_stride);
        }

        // Packs the kb × nb block of op(B) at b (its element (0, 0)) into panels of nr columns: panel q holds,
        // step after step p, the nr values op(B)(p, q·nr + j); columns past nb are 0.
        template <class T, class Arch>
        void gemm_pack_b(bool trans_b, const T* b, std::size_t ldb, std::size_t kb, std::size_t nb, T* packed)
        {
            using blocking = gemm_blocking<T, Arch>;
            if (trans_b)   // op(B)(p, j) = b[j·ldb + p]: each panel is nr rows of B, transposed
            {
                for (std::size_t j0 = 0; j0 < nb; j0 += blocking::nr)
                    gemm_pack_columns<T, Arch>(b + j0 * ldb, ldb, std::min(blocking::nr, nb - j0), kb, packed + j0 * kb,
                                               blocking::nr);
                return;
            }
            // op(B)(p, j) = b[p·ldb + j]: a few rows at a time across every panel, so that B is read in long
            // contiguous runs, which the hardware prefetcher follows, and each panel receives a contiguous
            // block (faster than packing whole panels one after another; see benchmarks/README.md).
            constexpr std::size_t rows_at_a_time = 8;
            for (std::size_t p0 = 0; p0 < kb; p0 += rows_at_a_time)
                for (std::size_t j0 = 0; j0 < nb; j0 += blocking::nr)
                    gemm_pack_rows<T, Arch, blocking::nr>(b + p0 * ldb + j0, ldb, std::min(rows_at_a_time, kb - p0),
                                                          std::min(blocking::nr, nb - j0),
                                                          packed + j0 * kb + p0 * blocking::nr);
        }

        // C block (mb × nb) = alpha · A block (mb × kb) · packed B panel (kb × nb) + beta · C block, the A block
        // packed into panels of mr rows (a_packed) or read in place (a_block's strides).
        // Each kb × nr panel of B stays in cache while every mr × kb panel of A of the block passes it.
        template <class T, class Arch>
        void gemm_macro_kernel(std::size_t mb, std::size_t nb, std::size_t kb, T alpha, bool a_packed,
                               gemm_a_panel<T> a_block, const T* packed_b, T beta, T* c, std::size_t ldc)
        {
            using blocking = gemm_blocking<T, Arch>;
            static_assert(blocking::vectors_per_row == 2, "the kernel table below holds 1- and 2-vector tiles");
            constexpr auto all_rows = std::make_index_sequence<blocking::mr>();
            // micro_kernels[a_packed][vectors - 1][rows - 1]: edge tiles get a kernel as small as they are.
            using kernels_by_rows = std::array<gemm_micro_kernel_fn<T>, blocking::mr>;
            using kernels_by_vectors = std::array<kernels_by_rows, 2>;
            static constexpr std::array<kernels_by_vectors, 2> micro_kernels{
                kernels_by_vectors{gemm_micro_kernels_by_rows<T, Arch, 1, false>(all_rows),
                                   gemm_micro_kernels_by_rows<T, Arch, 2, false>(all_rows)},
                kernels_by_vectors{gemm_micro_kernels_by_rows<T, Arch, 1, true>(all_rows),
                                   gemm_micro_kernels_by_rows<T, Arch, 2, true>(all_rows)}};

            for (std::size_t j = 0; j < nb; j += blocking::nr)
            {
                const std::size_t cols = std::min(blocking::nr, nb - j);
                const std::size_t vectors = (cols + blocking::width - 1) / blocking::width;
                const auto& kernels_for_cols = micro_kernels[a_packed][vectors - 1];
                for (std::size_t i = 0; i < mb; i += blocking::mr)
                {
                    const std::size_t rows = std::min(blocking::mr, mb - i);
                    gemm_a_panel<T> a_panel = a_block;   // rows i to i + rows of the block
                    a_panel.a += a_packed ? i / blocking::mr * blocking::a_stride * kb : i * a_block.row_stride;
                    kernels_for_cols[rows - 1](kb, a_panel, packed_b + j * kb, alpha, beta, c + i * ldc + j, ldc, cols);
                }
            }
        }

        // The largest block ≤ max_block, a multiple of `multiple`, that cuts `extent` into equal-sized blocks.
        inline std::size_t balanced_block(std::size_t extent, std::size_t max_block, std::size_t multiple)
        {
            const std::size_t blocks = (extent + max_block - 1) / max_block;
            const std::size_t block = (extent + blocks - 1) / blocks;
            return (block + multiple - 1) / multiple * multiple;
        }

        // Whether gemm_single_thread packs op(A) or reads it where it lies. Reading it in place saves a pass over
        // A that products with few column panels cannot amortise; the micro-kernel's broadcasts read the rows
        // of a tile as well from A as from a packed panel, and small products gain most. It loses when the
        // tile's rows, lda apart, fall into one L1 set: more rows than a set has ways (8 on most x86 cores;
        // AVX2's 6-row tile never does), lda·sizeof(T) a multiple of 4 KB, and many column panels reuse the
        // block, so those products pack A. benchmarks/README.md has the measurements both ways.
        template <class T, class Arch>
        bool gemm_packs_a(bool trans_a, std::size_t lda, std::size_t n)
        {
            using blocking = gemm_blocking<T, Arch>;
            constexpr std::size_t l1_ways = 8, l1_set_stride = 4096, many_panels = 8;
            return !trans_a && blocking::mr > l1_ways && lda * sizeof(T) % l1_set_stride == 0 &&
                   n > many_panels * blocking::nr;
        }

        // Packs op(B) where it lies in memory: the packer that gemm uses. pack(pc, kb, jc, nb, packed) packs the
        // kb × nb block of op(B) at row pc and column jc into panels of nr columns (see gemm_pack_b).
        template <class T, class Arch>
        struct strided_b_packer
        {
            bool trans_b;
            const T* b;
            std::size_t ldb;

            void operator()(std::size_t pc, std::size_t kb, std::size_t jc, std::size_t nb, T* packed) const
            {
                gemm_pack_b<T, Arch>(trans_b, trans_b ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, kb, nb, packed);
            }
        };

        // gemm on the calling thread, for m, n, k ≥ 1, with op(B) packed by pack_b (a strided_b_packer, or one
        // that builds op(B) as it packs, like the convolutions' im2col columns); see gemm for the other
        // parameters. Packed panels live in thread-local buffers that are reused from call to call.
        template <class T, class Arch, class PackB>
        void gemm_single_thread(bool trans_a, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                                std::size_t lda, const PackB& pack_b, T beta, T* c, std::size_t ldc)
        {
            using blocking = gemm_blocking<T, Arch>;
            const std::size_t kc = balanced_block(k, blocking::kc, 1);
            const std::size_t mc = balanced_block(m, blocking::mc, blocking::mr);
            const std::size_t nc = balanced_block(n, blocking::nc, blocking::nr);
            const bool pack_a = gemm_packs_a<T, Arch>(trans_a, lda, n);
            thread_local aligned_scratch<T> packed_a_storage, packed_b_storage;
            // (mc, kc) in panels of mr rows, when A is packed; (kc, nc) in panels of nr columns
            T* packed_a = pack_a ? packed_a_storage.data(mc / blocking::mr * blocking::a_stride * kc) : nullptr;
            T* packed_b = packed_b_storage.data(kc * nc);

            for (std::size_t jc = 0; jc < n; jc += nc)
            {
                const std::size_t nb = std::min(nc, n - jc);
                for (std::size_t pc = 0; pc < k; pc += kc)
                {
                    const std::size_t kb = std::min(kc, k - pc);
                    pack_b(pc, kb, jc, nb, packed_b);
                    const T beta_block = pc == 0 ? beta : T(1);   // later k blocks add to the first one's result
                    for (std::size_t ic = 0; ic < m; ic += mc)
                    {
                        const std::size_t mb = std::min(mc, m - ic);
                        const T* a_block = trans_a ? a + pc * lda + ic : a + ic * lda + pc;   // op(A)(ic, pc)
                        if (pack_a)
                            gemm_pack_a<T, Arch>(a_block, lda, mb, kb, packed_a);
                        const gemm_a_panel<T> a_view = pack_a    ? gemm_a_panel<T>{packed_a, 1, blocking::a_stride}
                                                       : trans_a ? gemm_a_panel<T>{a_block, 1, lda}
                                                                 : gemm_a_panel<T>{a_block, lda, 1};
                        gemm_macro_kernel<T, Arch>(mb, nb, kb, alpha, pack_a, a_view, packed_b, beta_block,
                                                   c + ic * ldc + jc, ldc);
                    }
                }
            }
        }

        // C (m×n) = beta · C, without reading C when beta == 0.
        template <class T>
        void gemm_scale_c(std::size_t m, std::size_t n, T beta, T* c, std::size_t ldc)
        {
            if (beta == T(1))
                return;
            for (std::size_t i = 0; i < m; ++i)
            {
                T* row = c + i * ldc;
                if (beta == T(0))
                    std::fill(row, row + n, T(0));
                else
                    for (std::size_t j = 0; j < n; ++j)
                        row[j] *= beta;
            }
        }
    }

    // C (m×n, row stride ldc) = alpha · op(A) · op(B) + beta · C, with op(B) (k×n) given by its packer
    // pack_b(pc, kb, jc, nb, packed), which writes the kb × nb block of op(B) at (pc, jc) into panels of nr
    // columns as detail::gemm_pack_b does (the kernel tests hold each packer against it). Split across the
    // threads as gemm is.
    template <class T, class PackB>
    void gemm_with_b_packer(bool trans_a, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                            std::size_t lda, const PackB& pack_b, T beta, T* c, std::size_t ldc)
    {
        static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "gemm: T must be float or double");
        using Arch = xsimd::default_arch;
        using blocking = detail::gemm_blocking<T, Arch>;
        if (m == 0 || n == 0)
            return;
        if (k == 0 || alpha == T(0))
        {
            detail::gemm_scale_c(m, n, beta, c, ldc);
            return;
        }

        // Each thread takes a rectangle of C (a grid of row_parts × col_parts) and runs the blocked algorithm
        // on it with its own packed panels: one hand-off per call and no barriers. Each thread packs all of
        // the operand the rectangles share, an extra cost of about 1 / (its rectangle's other side) of the
        // multiply; the grid is chosen to keep both sides long.
        const std::size_t row_tiles = (m + blocking::mr - 1) / blocking::mr;
        const std::size_t col_tiles = (n + blocking::nr - 1) / blocking::nr;
        const double work = double(m) * double(n) * double(k);
        std::size_t parts =
            std::min<std::size_t>(get_num_threads(), std::max(1.0, work / double(detail::gemm_min_work_per_thread)));
        std::size_t row_parts = 1;
        std::size_t col_parts = 1;
        for (; parts > 1; --parts)
        {
            double best_sides = -1;
            for (std::size_t rows_split = 1; rows_split <= parts; ++rows_split)
            {
                const std::size_t cols_split = parts / rows_split;
                if (rows_split * cols_split != parts || rows_split > row_tiles || cols_split > col_tiles)
                    continue;
                const double sides = double(m) / double(rows_split) + double(n) / double(cols_split);
                if (best_sides < 0 || sides < best_sides)
                {
                    best_sides = sides;
                    row_parts = rows_split;
                    col_parts = cols_split;
                }
            }
            if (best_sides >= 0)
                break;
        }
        if (parts <= 1)
        {
            detail::gemm_single_thread<T, Arch>(trans_a, m, n, k, alpha, a, lda, pack_b, beta, c, ldc);
            return;
        }

        parallel_for(0, parts, 1, [&](std::size_t first_part, std::size_t end_part) {
            for (std::size_t part = first_part; part < end_part; ++part)
            {
                const std::size_t row_part = part / col_parts;
                const std::size_t col_part = part % col_parts;
                const std::size_t i0 = std::min(m, row_part * row_tiles / row_parts * blocking::mr);
                const std::size_t i1 = std::min(m, (row_part + 1) * row_tiles / row_parts * blocking::mr);
                const std::size_t j0 = std::min(n, col_part * col_tiles / col_parts * blocking::nr);
                const std::size_t j1 = std::min(n, (col_part + 1) * col_tiles / col_parts * blocking::nr);
                // This rectangle's columns j0 to j1 of op(B), packed by the caller's packer.
                const auto pack_columns = [&](std::size_t pc, std::size_t kb, std::size_t jc, std::size_t nb,
                                              T* packed) { pack_b(pc, kb, j0 + jc, nb, packed); };
                detail::gemm_single_thread<T, Arch>(trans_a, i1 - i0, j1 - j0, k, alpha,
                                                    trans_a ? a + i0 : a + i0 * lda, lda, pack_columns, beta,
                                                    c + i0 * ldc + j0, ldc);
            }
        });
    }

    // C (m×n, row stride ldc) = alpha · op(A) · op(B) + beta · C, all row-major.
    // op(A) is m×k: A is stored m×k (lda ≥ k) or, when trans_a, k×m (lda ≥ m). op(B) is k×n likewise.
    // beta == 0 does not read C (it may hold NaN); k == 0 or alpha == 0 gives C = beta · C without reading A, B.
    template <class T>
    void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
              std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc)
    {
        gemm_with_b_packer<T>(trans_a, m, n, k, alpha, a, lda,
                              detail::strided_b_packer<T, xsimd::default_arch>{trans_b, b, ldb}, beta, c, ldc);
    }
}
