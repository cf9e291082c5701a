// im2col and col2im held against their reference loops over strides, paddings (including padding wider
// than the kernel), dilations and odd sizes, "same" widths at stride 1 (their one-copy-per-row path), and
// col2im checked to be the adjoint of im2col.
#include <doctest/doctest.h>

#include <cstddef>
#include <initializer_list>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <xgrad/kernels/im2col.hpp>

namespace
{
    std::string describe(const xgrad::kernels::conv2d_shape& s)
    {
        return "channels " + std::to_string(s.channels) + " in " + std::to_string(s.in_h) + "x" +
               std::to_string(s.in_w) + " kernel " + std::to_string(s.kernel_h) + "x" + std::to_string(s.kernel_w) +
               " stride " + std::to_string(s.stride_h) + "," + std::to_string(s.stride_w) + " padding " +
               std::to_string(s.padding_h) + "," + std::to_string(s.padding_w) + " dilation " +
               std::to_string(s.dilation_h) + "," + std::to_string(s.dilation_w);
    }

    // Every combination below whose dilated kernel fits the padded input.
    std::vector<xgrad::kernels::conv2d_shape> shapes()
    {
        std::vector<xgrad::kernels::conv2d_shape> result;
        for (std::size_t in : {1, 4, 7})
            for (std::size_t kernel : {1, 2, 3})
                for (std::size_t stride : {1, 2, 3})
                    for (std::size_t padding : {0, 1, 4})
                        for (std::size_t dilation : {1, 2})
                        {
                            const std::size_t in_w = in + 2;   // rectangular planes, non-square kernels
                            const std::size_t kernel_w = kernel == 1 ? 2 : kernel - 1;
                            const std::size_t span_h = dilation * (kernel - 1) + 1;
                            const std::size_t span_w = dilation * (kernel_w - 1) + 1;
                            if (span_h > in + 2 * padding || span_w > in_w + 2 * padding)
                                continue;
                            xgrad::kernels::conv2d_shape s{2,        in,     in_w,    kernel,  kernel_w,
                                                           stride,   stride, padding, padding, dilation,
                                                           dilation, 0,      0};
                            s.padding_w = padding / 2;   // different paddings per dim
                            s.stride_w = stride == 3 ? 1 : stride + 1;
                            if (span_w > in_w + 2 * s.padding_w)
                                continue;
                            s.out_h = (in + 2 * padding - span_h) / stride + 1;
                            s.out_w = (in_w + 2 * s.padding_w - span_w) / s.stride_w + 1;
                            result.push_back(s);
                        }
        // Shapes that keep the width at stride 1 (out_w == in_w: 2·padding_w = dilation·(kernel_w - 1)), which
        // im2col copies a channel and tap at a time, with every height padding above, including padding that
        // leaves whole rows outside the image.
        for (std::size_t in : {1, 4, 7})
            for (const auto& [kernel_w, dilation_w] :
                 std::initializer_list<std::pair<std::size_t, std::size_t>>{{1, 1}, {3, 1}, {5, 1}, {3, 2}, {2, 2}})
                for (std::size_t kernel_h : {1, 2, 3})
                    for (std::size_t padding_h : {0, 1, 4})
                    {
                        xgrad::kernels::conv2d_shape s{3, in, in + 2, kernel_h, kernel_w,
                                                       1, 1, padding_h, dilation_w * (kernel_w - 1) / 2,
                                                       1, dilation_w, 0, 0};
                        if (kernel_h > in + 2 * padding_h)
                            continue;
                        s.out_h = in + 2 * padding_h - kernel_h + 1;
                        s.out_w = s.in_w;
                        result.push_back(s);
                    }
        return result;
    }
}

TEST_CASE_TEMPLATE("im2col and col2im match their references", T, float, double)
{
    std::mt19937 rng(1);
    std::uniform_real_distribution<T> uniform(-1, 1);
    const auto all = shapes();
    REQUIRE(all.size() > 100);
    for (const auto& s : all)
    {
        INFO(describe(s));
        std::vector<T> image(s.channels * s.in_h * s.in_w);
        for (T& v : image)
            v = uniform(rng);
        std::vector<T> col(s.col_rows() * s.col_cols(), T(-7)), expected_col(col.size(), T(-9));
        xgrad::kernels::im2col(s, image.data(), col.data());
        xgrad::kernels::im2col_reference(s, image.data(), expected_col.data());
        CHECK(col == expected_col);

        for (T& v : col)
            v = uniform(rng);
        std::vector<T> summed(image.size(), T(1)), expected_summed(image.size(), T(1));   // col2im adds
        std::vector<T> scratch = col;                                                     // col2im may clear it
        xgrad::kernels::col2im(s, scratch.data(), summed.data());
        xgrad::kernels::col2im_reference(s, col.data(), expected_summed.data());
        for (std::size_t i = 0; i < summed.size(); ++i)
            CHECK(summed[i] == doctest::Approx(expected_summed[i]).epsilon(1e-5));
    }
}

TEST_CASE("col2im is the adjoint of im2col: <im2col(x), c> = <x, col2im(c)>")
{
    std::mt19937 rng(2);
    std::uniform_real_distribution<double> uniform(-1, 1);
    for (const auto& s : shapes())
    {
        INFO(describe(s));
        std::vector<double> image(s.channels * s.in_h * s.in_w), col(s.col_rows() * s.col_cols());
        for (double& v : image)
            v = uniform(rng);
        for (double& v : col)
            v = uniform(rng);
        std::vector<double> image_col(col.size()), col_image(image.size(), 0.0);
        xgrad::kernels::im2col(s, image.data(), image_col.data());
        std::vector<double> scratch = col;
        xgrad::kernels::col2im(s, scratch.data(), col_image.data());
        const double left = std::inner_product(image_col.begin(), image_col.end(), col.begin(), 0.0);
        const double right = std::inner_product(image.begin(), image.end(), col_image.begin(), 0.0);
        CHECK(left == doctest::Approx(right).epsilon(1e-12));
    }
}
