// 2-D convolution over a batch on raw pointers (NCHW, PyTorch's layouts): the forward, the input gradient and
// the weight gradient as GEMMs on column matrices (packed straight from the image for "same" convolutions,
// unfolded by im2col for the others), one driver walking the images and groups for all three; the bias's add
// and gradient; each beside the plain loop it is tested against.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <optional>
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

    // The column matrix of one image group read straight from the image while the GEMM packs it (an implicit
    // im2col), for shapes whose rows are contiguous (stride 1, out_w == in_w): the entry of column-matrix row
    // (c, ki, kj) at output pixel e = oh·out_w + ow is image[c·in_h·in_w + e + shift(ki, kj)] when the tap lands
    // inside the image (oh in the tap's valid rows, ow in its valid columns), else 0. Pixel coordinates ride in
    // T lanes, so the plane must have fewer pixels than T holds integers exactly (`applies`).
    template <class T, class Arch = xsimd::default_arch>
    class implicit_columns
    {
    public:
        using batch = xsimd::batch<T, Arch>;
        using batch_bool = xsimd::batch_bool<T, Arch>;
        static constexpr std::size_t width = batch::size;

        // Where the packers pay: their masks (one per tap and vector of pixels) are made once per block and
        // shared by the channels, so an image of one to three channels unfolds faster through im2col.
        static bool applies(const conv2d_shape& s)
        {
            constexpr std::size_t exact_integers = std::size_t(1) << std::numeric_limits<T>::digits;
            constexpr std::size_t min_channels = 4;
            return detail::rows_are_contiguous(s) && s.col_cols() < exact_integers && s.channels >= min_channels;
        }

        explicit implicit_columns(const conv2d_shape& s) : s_(s)
        {
            for (std::size_t ki = 0; ki < s.kernel_h; ++ki)
                for (std::size_t kj = 0; kj < s.kernel_w; ++kj)
                {
                    const auto ih_offset = std::ptrdiff_t(ki * s.dilation_h) - std::ptrdiff_t(s.padding_h);
                    const auto iw_offset = std::ptrdiff_t(kj * s.dilation_w) - std::ptrdiff_t(s.padding_w);
                    const detail::valid_range rows(s.out_h, 1, ih_offset, s.in_h), cols(s.out_w, 1, iw_offset, s.in_w);
                    taps_.push_back({ih_offset * std::ptrdiff_t(s.in_w) + iw_offset, rows, cols});
                }
        }

        // The masks of `vectors` vectors of pixels from `first`, of which the first `count` are asked for:
        // masks[v·taps + tap] has all bits set in the lanes whose pixel is asked for and where the tap lands
        // inside the image, and none elsewhere. Shared by every channel; applied with an `and` to a plain load.
        void tap_masks(std::size_t first, std::size_t count, std::size_t vectors, batch* masks) const
        {
            T all_bits;
            std::memset(&all_bits, 0xff, sizeof(T));
            std::size_t row = first / s_.out_w, column = first % s_.out_w;   // of the next lane's pixel
            for (std::size_t v = 0; v < vectors; ++v)
            {
                alignas(scratch_alignment) T oh[width], ow[width], asked[width];   // per lane
                for (std::size_t i = 0; i < width; ++i)
                {
                    oh[i] = T(row);
                    ow[i] = T(column);
                    asked[i] = T(v * width + i < count ? 1 : 0);
                    if (++column == s_.out_w)
                    {
                        column = 0;
                        ++row;
                    }
                }
                const batch oh_lanes = batch::load_aligned(oh), ow_lanes = batch::load_aligned(ow);
                const batch_bool asked_lanes = batch::load_aligned(asked) != batch(T(0));
                for (std::size_t i = 0; i < taps_.size(); ++i)
                {
                    const tap& t = taps_[i];
                    const batch_bool inside = asked_lanes & (oh_lanes >= batch(T(t.rows.begin))) &
                                              (oh_lanes < batch(T(t.rows.end))) & (ow_lanes >= batch(T(t.cols.begin))) &
                                              (ow_lanes < batch(T(t.cols.end)));
                    masks[v * taps_.size() + i] = xsimd::select(inside, batch(all_bits), batch(T(0)));
                }
            }
        }

        // The column-matrix row of `channel` and tap `tap_index` (ki·kw + kj) at `width` pixels from `first`,
        // `mask` being theirs for that tap (tap_masks; `count` of them asked for): 0 in the padding and past
        // the count.
        batch entries(const T* image, std::size_t channel, std::size_t tap_index, std::size_t first, std::size_t count,
                      const batch& mask) const
        {
            const std::size_t plane = s_.in_h * s_.in_w, block = s_.channels * plane;
            // Lanes in the padding may point outside the image block; those vectors are read lane by lane.
            const std::ptrdiff_t offset = std::ptrdiff_t(channel * plane + first) + taps_[tap_index].shift;
            if (offset >= 0 && std::size_t(offset) + width <= block)
                return xsimd::bitwise_and(batch::load_unaligned(image + offset), mask);
            alignas(scratch_alignment) T values[width];
            const std::size_t row = channel * taps_.size() + tap_index;
            for (std::size_t i = 0; i < width; ++i)
                values[i] = i < count ? entry(image, row, first + i) : T(0);
            return batch::load_aligned(values);
        }

        // One entry, by the definition (the reference the vector paths are held to).
        T entry(const T* image, std::size_t row, std::size_t pixel) const
        {
            const std::size_t taps = s_.kernel_h * s_.kernel_w;
            const tap& t = taps_[row % taps];
            const std::size_t oh = pixel / s_.out_w, ow = pixel % s_.out_w;
            if (oh < t.rows.begin || oh >= t.rows.end || ow < t.cols.begin || ow >= t.cols.end)
                return T(0);
            return image[std::size_t(std::ptrdiff_t(row / taps * s_.in_h * s_.in_w + pixel) + t.shift)];
        }

        // The GEMM packers for op(B) = col (the forward: rows are taps, columns pixels) and op(B) = colᵀ (the
        // weight gradient: rows are pixels, columns taps): the kb × nb block at (pc, jc) in panels of nr columns.
        // Both walk each row of col along its pixels, so that the image is read in runs.
        void pack(const T* image, std::size_t pc, std::size_t kb, std::size_t jc, std::size_t nb, T* packed) const
        {
            constexpr std::size_t nr = detail::gemm_blocking<T, Arch>::nr, per_panel = nr / width;
            const std::size_t panels = (nb + nr - 1) / nr, vectors = panels * per_panel, taps = taps_.size();
            std::vector<batch, xsimd::aligned_allocator<batch>> masks(vectors * taps);   // (vectors, taps)
            tap_masks(jc, nb, vectors, masks.data());
            const std::size_t plane = s_.in_h * s_.in_w, block = s_.channels * plane;
            row_cursor row(pc, taps);
            for (std::size_t p = 0; p < kb; ++p, row.next())
            {
                const std::ptrdiff_t first = std::ptrdiff_t(row.channel * plane + jc) + taps_[row.tap].shift;
                if (first >= 0 && std::size_t(first) + vectors * width <= block)
                {
                    // The row's pixels all lie in the block: one masked vector per `width` entries.
                    const T* source = image + first;
                    T* out = packed + p * nr;
                    for (std::size_t q = 0; q < panels; ++q, out += kb * nr)
                        for (std::size_t u = 0; u < per_panel; ++u)
                        {
                            const std::size_t v = q * per_panel + u;
                            xsimd::bitwise_and(batch::load_unaligned(source + v * width), masks[v * taps + row.tap])
                                .store_aligned(out + u * width);
                        }
                    continue;
                }
                for (std::size_t v = 0; v < vectors; ++v)
                {
                    const std::size_t asked = v * width < nb ? std::min(width, nb - v * width) : 0;
                    entries(image, row.channel, row.tap, jc + v * width, asked, masks[v * taps + row.tap])
                        .store_aligned(packed + v / per_panel * kb * nr + p * nr + v % per_panel * width);
                }
            }
        }
        void pack_transposed(const T* image, std::size_t pc, std::size_t kb, std::size_t jc, std::size_t nb,
                             T* packed) const
        {
            constexpr std::size_t nr = detail::gemm_blocking<T, Arch>::nr;
            const std::size_t vectors = (kb + width - 1) / width, taps = taps_.size();
            std::vector<batch, xsimd::aligned_allocator<batch>> masks(vectors * taps);   // (vectors, taps)
            tap_masks(pc, kb, vectors, masks.data());
            const std::size_t plane = s_.in_h * s_.in_w, block = s_.channels * plane;
            row_cursor row(jc, taps);
            for (std::size_t j = 0; j < (nb + nr - 1) / nr * nr; j += width)   // width columns of op(B) at a time
            {
                // The rows of col behind those columns, and where their pixels start in the image when they all
                // lie in the block (else -1: read vector by vector through `entries`).
                std::size_t channels[width], tap_indices[width];
                std::ptrdiff_t firsts[width];
                for (std::size_t i = 0; i < width; ++i, row.next())
                {
                    channels[i] = row.channel;
                    tap_indices[i] = row.tap;
                    const std::ptrdiff_t first = std::ptrdiff_t(row.channel * plane + pc) + taps_[row.tap].shift;
                    firsts[i] = first >= 0 && std::size_t(first) + vectors * width <= block ? first : -1;
                }
                T* panel = packed + j / nr * nr * kb + j % nr;
                for (std::size_t v = 0; v < vectors; ++v)
                {
                    const std::size_t steps = std::min(width, kb - v * width);
                    batch tile[width];   // (rows of col, pixels), then transposed to (pixels, rows of col)
                    for (std::size_t i = 0; i < width; ++i)
                    {
                        const batch& mask = masks[v * taps + tap_indices[i]];
                        if (j + i >= nb)
                            tile[i] = batch(T(0));
                        else if (firsts[i] >= 0)
                            tile[i] = xsimd::bitwise_and(batch::load_unaligned(image + firsts[i] + v * width), mask);
                        else
                            tile[i] = entries(image, channels[i], tap_indices[i], pc + v * width, steps, mask);
                    }
                    transpose_square_tile(tile);
                    for (std::size_t q = 0; q < steps; ++q)
                        tile[q].store_aligned(panel + (v * width + q) * nr);
                }
            }
        }

    private:
        struct tap
        {
            std::ptrdiff_t shift;             // image index minus output pixel index
            detail::valid_range rows, cols;   // output rows and columns where the tap is inside
        };
        // Walks the rows of the column matrix in order: channel, then tap.
        struct row_cursor
        {
            std::size_t channel, tap, taps;
            row_cursor(std::size_t row, std::size_t taps) : channel(row / taps), tap(row % taps), taps(taps) {}
            void next()
            {
                if (++tap == taps)
                {
                    tap = 0;
                    ++channel;
                }
            }
        };
        conv2d_shape s_;
        std::vector<tap> taps_;   // (kh·kw): ki major
    };

    namespace detail
    {
        // out (m × n) = op(A) · op(col) + beta · out for the column matrix col (C·kh·kw, out_h·out_w) of one image
        // group, op(col) = colᵀ when trans_col: packed straight from the image by `implicit` when there is one,
        // else unfolded into `buffer` first (a pointwise convolution's is the image itself).
        template <class T>
        void gemm_with_columns(const conv2d_batch_shape& c, const std::optional<implicit_columns<T>>& implicit,
                               const T* image, aligned_scratch<T>& buffer, bool trans_col, std::size_t m, std::size_t n,
                               std::size_t k, const T* a, std::size_t lda, T beta, T* out, std::size_t ldc)
        {
            if (!implicit)
            {
                const T* col = columns_of(c, image, buffer);
                gemm<T>(false, trans_col, m, n, k, T(1), a, lda, col, c.image.col_cols(), beta, out, ldc);
            }
            else if (trans_col)
                gemm_with_b_packer<T>(
                    false, m, n, k, T(1), a, lda,
                    [&](std::size_t pc, std::size_t kb, std::size_t jc, std::size_t nb, T* packed) {
                        implicit->pack_transposed(image, pc, kb, jc, nb, packed);
                    },
                    beta, out, ldc);
            else
                gemm_with_b_packer<T>(
                    false, m, n, k, T(1), a, lda,
                    [&](std::size_t pc, std::size_t kb, std::size_t jc, std::size_t nb, T* packed) {
                        implicit->pack(image, pc, kb, jc, nb, packed);
                    },
                    beta, out, ldc);
        }

        // The implicit column matrix where it pays: shapes with contiguous rows that need one (not pointwise).
        template <class T>
        std::optional<implicit_columns<T>> implicit_columns_for(const conv2d_batch_shape& c)
        {
            if (c.pointwise() || !implicit_columns<T>::applies(c.image))
                return std::nullopt;
            return implicit_columns<T>(c.image);
        }
    }

    // y_g (out_per_group, out_h·out_w) = W_g (out_per_group, C·kh·kw) · col_g (C·kh·kw, out_h·out_w)
    // for every image and group g.
    template <class T>
    void conv2d(const conv2d_batch_shape& c, const T* input, const T* weight, T* output)
    {
        const std::size_t k = c.image.col_rows(), p = c.image.col_cols(), m = c.out_per_group;
        const auto implicit = detail::implicit_columns_for<T>(c);
        detail::for_each_image_group<T>(
            c, detail::conv2d_batch_parts(c.batch),
            [&](std::size_t, std::size_t n, std::size_t group, aligned_scratch<T>& col_buffer) {
                detail::gemm_with_columns<T>(c, implicit, input + c.input_offset(n, group), col_buffer, false, m, p, k,
                                             weight + c.weight_offset(group), k, T(0),
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
        const auto implicit = detail::implicit_columns_for<T>(c);
        detail::for_each_image_group<T>(
            c, parts, [&](std::size_t part, std::size_t n, std::size_t group, aligned_scratch<T>& col_buffer) {
                T* accumulator = part == 0 ? dweight : partial_sums.data() + (part - 1) * weight_size;
                detail::gemm_with_columns<T>(c, implicit, input + c.input_offset(n, group), col_buffer, true, m, k, p,
                                             dout + c.output_offset(n, group), p, T(1),
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
