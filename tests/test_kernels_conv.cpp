// The convolution kernels held against their reference loops: the forward, input-gradient and weight-gradient
// GEMM kernels over groups, strides, paddings, dilations and pointwise kernels, the implicit column matrix's
// GEMM packers against packing im2col's output, and the bias's add and sums over channel and plane counts that
// are not multiples of the SIMD width; float and double, 1 and 2 threads.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include <xgrad/kernels/conv.hpp>

#include "test_support.hpp"

namespace
{
    using xgrad::kernels::conv2d_batch_shape;

    std::string describe(const conv2d_batch_shape& c)
    {
        const auto& s = c.image;
        return "batch " + std::to_string(c.batch) + " groups " + std::to_string(c.groups) + " out_per_group " +
               std::to_string(c.out_per_group) + " channels " + std::to_string(s.channels) + " in " +
               std::to_string(s.in_h) + "x" + std::to_string(s.in_w) + " kernel " + std::to_string(s.kernel_h) + "x" +
               std::to_string(s.kernel_w) + " stride " + std::to_string(s.stride_h) + "," + std::to_string(s.stride_w) +
               " padding " + std::to_string(s.padding_h) + "," + std::to_string(s.padding_w) + " dilation " +
               std::to_string(s.dilation_h) + "," + std::to_string(s.dilation_w);
    }

    // batch, groups, out_per_group, then the image geometry without its output size, which is worked out here.
    conv2d_batch_shape make_shape(std::size_t batch, std::size_t groups, std::size_t out_per_group,
                                  xgrad::kernels::conv2d_shape s)
    {
        s.out_h = (s.in_h + 2 * s.padding_h - s.dilation_h * (s.kernel_h - 1) - 1) / s.stride_h + 1;
        s.out_w = (s.in_w + 2 * s.padding_w - s.dilation_w * (s.kernel_w - 1) - 1) / s.stride_w + 1;
        return {batch, groups, out_per_group, s};
    }

    // Batches of 1 (one share: each GEMM threaded) and 3 (split unevenly across 2 threads), 1 to 7 channels
    // per group, odd planes; 3×3, non-square, strided, dilated, padded and pointwise kernels.
    std::vector<conv2d_batch_shape> shapes()
    {
        // channels, in_h, in_w, kernel_h, kernel_w, stride_h, stride_w, padding_h, padding_w, dilation_h, dilation_w
        const std::vector<xgrad::kernels::conv2d_shape> images{
            {1, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0},    // 3×3, padded
            {3, 5, 7, 3, 2, 2, 1, 0, 1, 1, 2, 0, 0},    // non-square, strided, dilated
            {7, 9, 5, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0},    // pointwise: no im2col
            {3, 7, 7, 1, 1, 2, 2, 0, 0, 1, 1, 0, 0},    // strided 1×1
            {2, 11, 9, 3, 3, 1, 2, 3, 2, 2, 1, 0, 0},   // padding wider than half the kernel, dilated
            {1, 3, 3, 3, 3, 1, 1, 0, 0, 1, 1, 0, 0},    // output 1×1
            // "same" widths at stride 1 and 4 channels or more, which pack the column matrix from the image
            {5, 6, 19, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0},   // several vectors of pixels per row
            {4, 5, 37, 5, 3, 1, 1, 2, 1, 1, 1, 0, 0},   // non-square, planes longer than a GEMM panel
            {4, 4, 9, 3, 3, 1, 1, 0, 2, 1, 2, 0, 0},    // dilated along the rows, no padding along the columns
            {4, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0},    // a plane shorter than a vector
        };
        std::vector<conv2d_batch_shape> result;
        for (std::size_t batch : {1, 3})
            for (std::size_t groups : {1, 2})
                for (std::size_t out_per_group : {1, 5})
                    for (const auto& image : images)
                        result.push_back(make_shape(batch, groups, out_per_group, image));
        return result;
    }

    // Every element of actual equals expected's to `tolerance` relative to `terms`, the number of products
    // summed into it (so that sums which cancel to near zero are judged by the size of what was added).
    template <class T>
    void check_sums_close(const std::vector<T>& actual, const std::vector<T>& expected, std::size_t terms)
    {
        REQUIRE(actual.size() == expected.size());
        const double tolerance = std::is_same<T, float>::value ? 1e-5 : 1e-13;
        for (std::size_t i = 0; i < actual.size(); ++i)
        {
            CAPTURE(i);
            CHECK(double(actual[i]) == doctest::Approx(double(expected[i])).epsilon(tolerance).scale(double(terms)));
        }
    }
}

TEST_CASE_TEMPLATE("conv2d, conv2d_input_grad and conv2d_weight_grad match their references", T, float, double)
{
    std::mt19937 rng(1);
    for (std::size_t threads : {1, 2})
    {
        xgrad_test::thread_count scoped(threads);
        for (const auto& c : shapes())
        {
            INFO(describe(c), " threads ", threads);
            const auto x = xgrad_test::random_values<T>(c.input_size(), -1, 1, rng);
            const auto w = xgrad_test::random_values<T>(c.weight_size(), -1, 1, rng);
            const auto dy = xgrad_test::random_values<T>(c.output_size(), -1, 1, rng);

            std::vector<T> y(c.output_size(), T(-7)), expected_y(y.size(), T(-9));
            xgrad::kernels::conv2d(c, x.data(), w.data(), y.data());
            xgrad::kernels::conv2d_reference(c, x.data(), w.data(), expected_y.data());
            check_sums_close(y, expected_y, c.image.col_rows());

            std::vector<T> dx(c.input_size(), T(-7)), expected_dx(dx.size(), T(-9));
            xgrad::kernels::conv2d_input_grad(c, dy.data(), w.data(), dx.data());
            xgrad::kernels::conv2d_input_grad_reference(c, dy.data(), w.data(), expected_dx.data());
            check_sums_close(dx, expected_dx, c.out_per_group * c.image.kernel_h * c.image.kernel_w);

            std::vector<T> dw(c.weight_size(), T(-7)), expected_dw(dw.size(), T(-9));
            xgrad::kernels::conv2d_weight_grad(c, x.data(), dy.data(), dw.data());
            xgrad::kernels::conv2d_weight_grad_reference(c, x.data(), dy.data(), expected_dw.data());
            check_sums_close(dw, expected_dw, c.batch * c.image.col_cols());
        }
    }
}

TEST_CASE_TEMPLATE("implicit_columns packs what im2col's column matrix packs", T, float, double)
{
    using xgrad::kernels::implicit_columns;
    namespace detail = xgrad::kernels::detail;
    using Arch = xsimd::default_arch;
    constexpr std::size_t nr = detail::gemm_blocking<T, Arch>::nr;
    std::mt19937 rng(3);
    for (const auto& c : shapes())
    {
        if (c.batch != 1 || c.groups != 1 || c.out_per_group != 1 || c.pointwise() ||
            !implicit_columns<T>::applies(c.image))
            continue;
        INFO(describe(c));
        const std::size_t rows = c.image.col_rows(), pixels = c.image.col_cols();
        const auto image = xgrad_test::random_values<T>(c.input_block(), -1, 1, rng);
        std::vector<T> col(rows * pixels);   // (C·kh·kw, out_h·out_w)
        xgrad::kernels::im2col_reference(c.image, image.data(), col.data());
        const implicit_columns<T> columns(c.image);
        for (std::size_t row = 0; row < rows; ++row)
            for (std::size_t pixel = 0; pixel < pixels; ++pixel)
                REQUIRE(columns.entry(image.data(), row, pixel) == col[row * pixels + pixel]);

        // Blocks from the first entry and from odd offsets, whole and cut short.
        auto check_block = [&](bool transposed, std::size_t pc, std::size_t kb, std::size_t jc, std::size_t nb) {
            INFO("transposed ", transposed, " block at (", pc, ", ", jc, ") of ", kb, " × ", nb);
            const std::size_t size = (nb + nr - 1) / nr * nr * kb;
            xgrad::kernels::aligned_scratch<T> actual_storage, expected_storage;
            T* actual = actual_storage.data(size);
            T* expected = expected_storage.data(size);
            std::fill(actual, actual + size, T(-7));
            if (transposed)
            {
                columns.pack_transposed(image.data(), pc, kb, jc, nb, actual);
                detail::gemm_pack_b<T, Arch>(true, col.data() + jc * pixels + pc, pixels, kb, nb, expected);
            }
            else
            {
                columns.pack(image.data(), pc, kb, jc, nb, actual);
                detail::gemm_pack_b<T, Arch>(false, col.data() + pc * pixels + jc, pixels, kb, nb, expected);
            }
            CHECK(std::vector<T>(actual, actual + size) == std::vector<T>(expected, expected + size));
        };
        check_block(false, 0, rows, 0, pixels);
        check_block(true, 0, pixels, 0, rows);
        if (rows > 3 && pixels > 5)
        {
            check_block(false, 3, rows - 3, 5, pixels - 5);
            check_block(false, 1, rows - 3, 2, pixels - 5);
            check_block(true, 5, pixels - 5, 3, rows - 3);
            check_block(true, 2, pixels - 5, 1, rows - 3);
        }
    }
}

TEST_CASE_TEMPLATE("add_channel_bias and channel_sums match their references", T, float, double)
{
    std::mt19937 rng(2);
    for (std::size_t threads : {1, 2})
    {
        xgrad_test::thread_count scoped(threads);
        for (std::size_t batch : {1, 2, 5})
            for (std::size_t channels : {1, 3, 7, 17, 33})
                // 33 × 33 reaches sum's unrolled loop; 201 × 201, past a map's grain, splits across threads
                for (std::size_t plane : {1, 3, 7, 17, 33, 33 * 33, 201 * 201})
                {
                    INFO("batch ", batch, " channels ", channels, " plane ", plane, " threads ", threads);
                    const auto bias = xgrad_test::random_values<T>(channels, -1, 1, rng);
                    const auto x = xgrad_test::random_values<T>(batch * channels * plane, -1, 1, rng);

                    std::vector<T> y = x, expected_y = x;
                    xgrad::kernels::add_channel_bias(batch, channels, plane, bias.data(), y.data());
                    xgrad::kernels::add_channel_bias_reference(batch, channels, plane, bias.data(), expected_y.data());
                    CHECK(y == expected_y);   // one addition per element: exact

                    std::vector<T> sums(channels, T(-7)), expected_sums(channels, T(-9));
                    xgrad::kernels::channel_sums(batch, channels, plane, x.data(), sums.data());
                    xgrad::kernels::channel_sums_reference(batch, channels, plane, x.data(), expected_sums.data());
                    check_sums_close(sums, expected_sums, batch * plane);
                }
    }
}
