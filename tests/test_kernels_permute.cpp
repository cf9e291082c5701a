// permute_copy held against permute_copy_reference: ranks 1 to 5, every permutation of ranks up to 4 (and 5 on
// a few shapes), dims of size 0, 1, 2, 3, 7, 16, 17 and 33, float and double, on 1 and 2 threads, with copies
// large enough to be split across the threads both by runs and by transposed blocks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <string>
#include <vector>

#include <xgrad/kernels/permute.hpp>
#include <xgrad/parallel.hpp>

#include "test_support.hpp"

namespace
{
    using dims = std::vector<std::size_t>;

    const dims edge_sizes{0, 1, 2, 3, 7, 16, 17, 33};

    using xgrad_test::thread_count;

    std::string describe(const dims& values)
    {
        std::string text = "(";
        for (std::size_t i = 0; i < values.size(); ++i)
            text += (i ? ", " : "") + std::to_string(values[i]);
        return text + ")";
    }

    // The kernel and the reference on distinct values (exact in float for these sizes); the outputs start
    // with different fillers, so an element the kernel leaves unwritten shows.
    template <class T>
    void check_permutation(const dims& shape, const dims& order)
    {
        INFO("shape " << describe(shape) << " order " << describe(order));
        std::size_t count = 1;
        for (std::size_t extent : shape)
            count *= extent;
        std::vector<T> in(count);
        std::iota(in.begin(), in.end(), T(1));
        std::vector<T> out(count, T(-1)), expected(count, T(-2));
        xgrad::kernels::permute_copy(shape, order, in.data(), out.data());
        xgrad::kernels::permute_copy_reference(shape, order, in.data(), expected.data());
        CHECK(out == expected);
    }

    template <class T>
    void check_every_permutation(const dims& shape)
    {
        dims order(shape.size());
        std::iota(order.begin(), order.end(), std::size_t(0));
        do
            check_permutation<T>(shape, order);
        while (std::next_permutation(order.begin(), order.end()));
    }

    template <class T>
    void check_all_shapes(std::size_t threads)
    {
        const thread_count scope(threads);
        for (std::size_t a : edge_sizes)
        {
            check_every_permutation<T>({a});
            for (std::size_t b : edge_sizes)
            {
                check_every_permutation<T>({a, b});
                for (std::size_t c : edge_sizes)
                    check_every_permutation<T>({a, b, c});
            }
        }
        // Rank 4: each edge size in each position beside small, odd and vector-wide sizes.
        const dims others{3, 17, 2, 16, 7, 1, 33};
        for (std::size_t s = 0; s < edge_sizes.size(); ++s)
        {
            const std::size_t size = edge_sizes[s];
            const std::size_t x = others[s % others.size()], y = others[(s + 2) % others.size()],
                              z = others[(s + 4) % others.size()];
            check_every_permutation<T>({size, x, y, z});
            check_every_permutation<T>({x, size, y, z});
            check_every_permutation<T>({x, y, size, z});
            check_every_permutation<T>({x, y, z, size});
        }
        check_every_permutation<T>({2, 1, 1, 17});
        check_every_permutation<T>({16, 16, 16, 16});
        for (const dims& shape : {dims{2, 3, 1, 7, 16}, dims{3, 2, 17, 1, 2}, dims{7, 3, 0, 2, 16}, dims{1, 1, 1, 1, 1}})
            check_every_permutation<T>(shape);
        // Large enough to be split across threads (over 2 × permute_grain elements): attention's heads, a
        // matrix, and odd shapes whose runs and blocks do not divide evenly between the threads.
        check_every_permutation<T>({64, 32, 4, 16});
        check_every_permutation<T>({33, 17, 16, 17});
        check_every_permutation<T>({3, 33, 17, 33, 4});
        check_permutation<T>({256, 1024}, {1, 0});
        check_permutation<T>({1031, 131}, {1, 0});
        check_permutation<T>({7, 2, 1025, 33}, {0, 3, 2, 1});
    }
}

TEST_CASE_TEMPLATE("permute_copy matches permute_copy_reference on one thread", T, float, double)
{
    check_all_shapes<T>(1);
}

TEST_CASE_TEMPLATE("permute_copy matches permute_copy_reference on two threads", T, float, double)
{
    check_all_shapes<T>(2);
}

TEST_CASE("permute_copy merges the dims that stay together")
{
    using xgrad::kernels::detail::merged_output_dims;
    auto extents = [](const std::vector<xgrad::kernels::detail::permuted_dim>& merged) {
        dims result;
        for (const auto& dim : merged)
            result.push_back(dim.extent);
        return result;
    };
    CHECK(extents(merged_output_dims({5, 6, 7}, {0, 1, 2})) == dims{210});
    CHECK(extents(merged_output_dims({5, 6, 7}, {2, 0, 1})) == dims{7, 30});
    CHECK(extents(merged_output_dims({2, 32, 4, 16}, {0, 2, 1, 3})) == dims{2, 4, 32, 16});
    CHECK(extents(merged_output_dims({2, 3, 4, 5}, {1, 0, 2, 3})) == dims{3, 2, 20});
    CHECK(extents(merged_output_dims({2, 1, 4, 5}, {1, 0, 3, 2})) == dims{2, 5, 4});
    CHECK(extents(merged_output_dims({1, 1}, {1, 0})).empty());
}
