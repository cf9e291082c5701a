// The fused layer-norm kernels and the GELU backward map held against their scalar references, on row
// widths around the vector widths (tails) and row counts that split across 2 threads, float and double.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <xgrad/kernels/map.hpp>
#include <xgrad/kernels/norm.hpp>
#include <xgrad/parallel.hpp>

#include "test_support.hpp"

namespace kernels = xgrad::kernels;

namespace
{
    using xgrad_test::random_values;
    using xgrad_test::thread_count;

    // |got - want| <= ulps · eps · max(1, |want|) elementwise; reports the first mismatch.
    template <class T>
    void check_close(const std::vector<T>& got, const std::vector<T>& want, double ulps, const std::string& what)
    {
        INFO(what);
        REQUIRE(got.size() == want.size());
        for (std::size_t i = 0; i < got.size(); ++i)
        {
            const T tolerance = T(ulps) * std::numeric_limits<T>::epsilon() * std::max(T(1), std::abs(want[i]));
            if (!(std::abs(got[i] - want[i]) <= tolerance))
            {
                FAIL_CHECK("[" << i << "] = " << got[i] << ", expected " << want[i]);
                return;
            }
        }
    }

    template <class T>
    void check_layer_norm(std::size_t rows, std::size_t cols, bool affine, std::size_t threads)
    {
        const thread_count scoped(threads);
        const std::string what = "rows=" + std::to_string(rows) + " cols=" + std::to_string(cols) +
                                 " affine=" + std::to_string(affine) + " threads=" + std::to_string(threads);
        std::mt19937 rng(static_cast<unsigned>(rows * 1000 + cols));
        const std::vector<T> x = random_values<T>(rows * cols, -3, 5, rng), dy = random_values<T>(rows * cols, -1, 1, rng);
        const std::vector<T> weight = random_values<T>(cols, T(0.5), 2, rng), bias = random_values<T>(cols, -1, 1, rng);
        const T* w = affine ? weight.data() : nullptr;
        const T* b = affine ? bias.data() : nullptr;
        std::vector<T> y(rows * cols), mean(rows), rstd(rows), y_ref(rows * cols), mean_ref(rows), rstd_ref(rows);
        kernels::layer_norm_rows<T>(rows, cols, x.data(), w, b, T(1e-5), y.data(), mean.data(), rstd.data());
        kernels::layer_norm_rows_reference<T>(rows, cols, x.data(), w, b, T(1e-5), y_ref.data(), mean_ref.data(),
                                              rstd_ref.data());
        check_close(y, y_ref, 64, "layer_norm_rows y " + what);
        check_close(mean, mean_ref, 64, "layer_norm_rows mean " + what);
        check_close(rstd, rstd_ref, 64, "layer_norm_rows rstd " + what);

        std::vector<T> dx(rows * cols), dw(cols, T(-7)), db(cols, T(-7)), dx_ref(rows * cols), dw_ref(cols), db_ref(cols);
        kernels::layer_norm_backward_rows<T>(rows, cols, x.data(), mean_ref.data(), rstd_ref.data(), w, dy.data(),
                                             dx.data(), affine ? dw.data() : nullptr, db.data());
        kernels::layer_norm_backward_rows_reference<T>(rows, cols, x.data(), mean_ref.data(), rstd_ref.data(), w,
                                                       dy.data(), dx_ref.data(), dw_ref.data(), db_ref.data());
        // Sums of up to 257 terms in another order: a few hundred ulps of the largest term.
        check_close(dx, dx_ref, 512, "layer_norm_backward_rows dx " + what);
        check_close(db, db_ref, 512, "layer_norm_backward_rows dbias " + what);
        if (affine)
            check_close(dw, dw_ref, 512, "layer_norm_backward_rows dweight " + what);
        else
            CHECK(dw == std::vector<T>(cols, T(-7)));   // not asked for: untouched
    }
}

TEST_CASE_TEMPLATE("kernels: layer_norm_rows and its backward agree with their references", T, float, double)
{
    for (std::size_t threads : {1, 2})
        for (std::size_t rows : {1, 3, 17, 1000})
            for (std::size_t cols : {1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 65, 127, 257})
                for (bool affine : {false, true})
                    check_layer_norm<T>(rows, cols, affine, threads);
}

TEST_CASE_TEMPLATE("kernels: layer_norm_rows of a constant row is 0 (then the bias), with a finite rstd", T, float, double)
{
    const std::vector<T> x(19, T(2.5)), bias(19, T(0.25));
    std::vector<T> y(19), mean(1), rstd(1);
    kernels::layer_norm_rows<T>(1, 19, x.data(), nullptr, bias.data(), T(1e-5), y.data(), mean.data(), rstd.data());
    CHECK(mean[0] == T(2.5));
    CHECK(std::isfinite(rstd[0]));
    for (T v : y)
        CHECK(v == T(0.25));
}

TEST_CASE_TEMPLATE("kernels: gelu_backward agrees with its reference", T, float, double)
{
    std::mt19937 rng(3);
    for (std::size_t threads : {1, 2})
    {
        const thread_count scoped(threads);
        for (std::size_t n : {0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 65, 127, 255, 256, 257, 70001})
        {
            const std::vector<T> x = random_values<T>(n, -8, 8, rng), dy = random_values<T>(n, -2, 2, rng);
            std::vector<T> got(n), want(n);
            kernels::gelu_backward<T>(n, x.data(), dy.data(), got.data());
            kernels::gelu_backward_reference<T>(n, x.data(), dy.data(), want.data());
            // xsimd 8.1's erf is up to ~50 ulp (absolute) off in double (see the gelu forward test).
            check_close(got, want, 128, "gelu_backward n=" + std::to_string(n) + " threads=" + std::to_string(threads));
        }
    }
}
