// The blocked SIMD gemm held against gemm_reference: edge sizes, rectangles, the four transpositions,
// alpha/beta (beta = 0 over NaN), padded leading dimensions, float and double, on 1 and 2 threads.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <xgrad/kernels/gemm.hpp>
#include <xgrad/parallel.hpp>

namespace
{
    const std::vector<std::size_t> edge_sizes{0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 65, 127, 255, 256, 257};

    struct gemm_case
    {
        bool trans_a, trans_b;
        std::size_t m, n, k;
        double alpha, beta;
        std::size_t padding;   // added to every leading dimension
    };

    std::string describe(const gemm_case& g)
    {
        return "trans_a=" + std::to_string(g.trans_a) + " trans_b=" + std::to_string(g.trans_b) +
               " m=" + std::to_string(g.m) + " n=" + std::to_string(g.n) + " k=" + std::to_string(g.k) +
               " alpha=" + std::to_string(g.alpha) + " beta=" + std::to_string(g.beta) +
               " padding=" + std::to_string(g.padding);
    }

    template <class T>
    std::vector<T> random_values(std::size_t count, std::mt19937& rng)
    {
        std::uniform_real_distribution<T> uniform(-1, 1);
        std::vector<T> values(count);
        for (T& value : values)
            value = uniform(rng);
        return values;
    }

    template <class T>
    std::vector<T> absolute(std::vector<T> values)
    {
        for (T& value : values)
            value = std::abs(value);
        return values;
    }

    // Runs gemm and gemm_reference on the same random operands and checks that they agree within the
    // rounding error bound (k + 2) · eps · (|alpha| |op(A)| |op(B)| + |beta| |C|), element by element, and that
    // gemm wrote nothing in the padding of C.
    template <class T>
    void check_against_reference(const gemm_case& g, std::mt19937& rng)
    {
        INFO(describe(g));
        const std::size_t a_rows = g.trans_a ? g.k : g.m, a_cols = g.trans_a ? g.m : g.k;
        const std::size_t b_rows = g.trans_b ? g.n : g.k, b_cols = g.trans_b ? g.k : g.n;
        const std::size_t lda = a_cols + g.padding, ldb = b_cols + g.padding, ldc = g.n + g.padding;
        const std::vector<T> a = random_values<T>(a_rows * lda, rng);   // (a_rows, a_cols) in rows of lda
        const std::vector<T> b = random_values<T>(b_rows * ldb, rng);   // (b_rows, b_cols) in rows of ldb
        std::vector<T> c_initial = random_values<T>(g.m * ldc, rng);   // (m, n) in rows of ldc
        if (g.beta == 0)   // gemm must not read C then
            for (std::size_t i = 0; i < g.m; ++i)
                for (std::size_t j = 0; j < g.n; ++j)
                    c_initial[i * ldc + j] = std::numeric_limits<T>::quiet_NaN();

        const T alpha = T(g.alpha), beta = T(g.beta);
        std::vector<T> c = c_initial, c_expected = c_initial;
        xgrad::kernels::gemm(g.trans_a, g.trans_b, g.m, g.n, g.k, alpha, a.data(), lda, b.data(), ldb, beta,
                             c.data(), ldc);
        xgrad::kernels::gemm_reference(g.trans_a, g.trans_b, g.m, g.n, g.k, alpha, a.data(), lda, b.data(), ldb,
                                       beta, c_expected.data(), ldc);
        std::vector<T> magnitude = absolute(c_initial);
        xgrad::kernels::gemm_reference(g.trans_a, g.trans_b, g.m, g.n, g.k, std::abs(alpha), absolute(a).data(),
                                       lda, absolute(b).data(), ldb, std::abs(beta), magnitude.data(), ldc);

        const T eps = std::numeric_limits<T>::epsilon();
        std::size_t mismatches = 0;
        for (std::size_t i = 0; i < g.m; ++i)
        {
            for (std::size_t j = 0; j < g.n; ++j)
            {
                const std::size_t at = i * ldc + j;
                const T tolerance = T(g.k + 2) * eps * magnitude[at] + std::numeric_limits<T>::min();
                if (!(std::abs(c[at] - c_expected[at]) <= tolerance) && mismatches++ < 3)
                    FAIL_CHECK("C(" << i << ", " << j << ") = " << c[at] << ", expected " << c_expected[at]);
            }
            for (std::size_t j = g.n; j < ldc; ++j)
                if (c[i * ldc + j] != c_initial[i * ldc + j] && mismatches++ < 3)
                    FAIL_CHECK("padding C(" << i << ", " << j << ") was written");
        }
        CHECK(mismatches == 0);
    }

    // (alpha, beta) pairs the cases cycle through: plain, accumulate, general, beta = 0 over NaN, alpha = 0.
    const std::vector<std::pair<double, double>> scalings{{1, 0}, {1, 1}, {-0.75, 1.5}, {2.5, 0}, {0, 0.5}};

    template <class T>
    void check_all_shapes(std::size_t num_threads)
    {
        const std::size_t previous_threads = xgrad::get_num_threads();
        xgrad::set_num_threads(num_threads);
        std::mt19937 rng(20240601);
        std::size_t case_number = 0;
        auto check = [&](std::size_t m, std::size_t n, std::size_t k) {
            for (bool trans_a : {false, true})
                for (bool trans_b : {false, true})
                {
                    const auto [alpha, beta] = scalings[case_number % scalings.size()];
                    const std::size_t padding = case_number % 3 == 0 ? 0 : case_number % 3 == 1 ? 1 : 13;
                    ++case_number;
                    check_against_reference<T>({trans_a, trans_b, m, n, k, alpha, beta, padding}, rng);
                }
        };
        for (std::size_t size : edge_sizes)
            check(size, size, size);
        // Each size in each position, the other two sides drawn from small, odd and block-crossing sizes.
        const std::vector<std::size_t> other_sizes{1, 17, 33, 65, 3, 127};
        for (std::size_t s = 0; s < edge_sizes.size(); ++s)
        {
            const std::size_t size = edge_sizes[s];
            const std::size_t x = other_sizes[s % other_sizes.size()];
            const std::size_t y = other_sizes[(s + 2) % other_sizes.size()];
            check(size, x, y);
            check(x, size, y);
            check(x, y, size);
        }
        // Shapes of a small network's training step, panels longer than one cache block in k (1100, 2100:
        // kc is 1024) and n (1031), and products large enough to be split across threads by columns
        // (17 × 1031) and by rows (1100 × 9).
        check(64, 256, 784);
        check(784, 256, 64);
        check(64, 784, 256);
        check(5, 1031, 600);
        check(300, 9, 1100);
        check(17, 1031, 257);
        check(1100, 9, 600);
        check(33, 65, 2100);
        // A packed into blocks (see gemm_packs_a): rows 4 KB apart (k = 1024 without padding) and many column
        // panels. Only AVX-512's 14-row tile packs; on other targets this is one more product read in place.
        for (bool trans_b : {false, true})
            check_against_reference<T>({false, trans_b, 29, 300, 1024, 1, 0.5, 0}, rng);
        xgrad::set_num_threads(previous_threads);
    }
}

TEST_CASE_TEMPLATE("gemm matches gemm_reference on one thread", T, float, double)
{
    check_all_shapes<T>(1);
}

TEST_CASE_TEMPLATE("gemm matches gemm_reference on two threads", T, float, double)
{
    check_all_shapes<T>(2);
}

TEST_CASE_TEMPLATE("gemm called from inside parallel_for chunks", T, float, double)
{
    const std::size_t previous_threads = xgrad::get_num_threads();
    xgrad::set_num_threads(2);
    constexpr std::size_t products = 4, size = 130;
    std::mt19937 rng(7);
    const std::vector<T> a = random_values<T>(products * size * size, rng);   // (products, size, size)
    const std::vector<T> b = random_values<T>(products * size * size, rng);   // (products, size, size)
    std::vector<T> c(products * size * size), c_expected(products * size * size);
    xgrad::parallel_for(0, products, 1, [&](std::size_t first, std::size_t last) {
        for (std::size_t p = first; p < last; ++p)
            xgrad::kernels::gemm<T>(false, true, size, size, size, 1, &a[p * size * size], size,
                                    &b[p * size * size], size, 0, &c[p * size * size], size);
    });
    for (std::size_t p = 0; p < products; ++p)
        xgrad::kernels::gemm_reference<T>(false, true, size, size, size, 1, &a[p * size * size], size,
                                          &b[p * size * size], size, 0, &c_expected[p * size * size], size);
    const T tolerance = T(size + 2) * std::numeric_limits<T>::epsilon() * T(size);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < c.size(); ++i)
        mismatches += std::abs(c[i] - c_expected[i]) > tolerance;
    CHECK(mismatches == 0);
    xgrad::set_num_threads(previous_threads);
}

TEST_CASE_TEMPLATE("gemm with k = 0 scales C by beta and reads neither A nor B", T, float, double)
{
    std::vector<T> c{1, 2, 3, 4, 5, 6};   // (2, 3)
    xgrad::kernels::gemm<T>(false, false, 2, 3, 0, 1, nullptr, 1, nullptr, 3, 2, c.data(), 3);
    CHECK(c == std::vector<T>{2, 4, 6, 8, 10, 12});
    c.assign(6, std::numeric_limits<T>::quiet_NaN());
    xgrad::kernels::gemm<T>(true, true, 2, 3, 0, 1, nullptr, 2, nullptr, 1, 0, c.data(), 3);
    CHECK(c == std::vector<T>(6, 0));
}
