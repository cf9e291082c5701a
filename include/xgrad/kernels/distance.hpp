// Squared Euclidean distances between the rows of two matrices, as one GEMM:
// ||x - c||² = ||x||² − 2 x·c + ||c||², the cross terms being the product X Cᵀ (k-means, the silhouette score).
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "../parallel.hpp"
#include "gemm.hpp"

namespace xgrad::kernels
{
    // norms[i] = Σ_p x[i·d + p]²   x: (n, d)   norms: (n)
    template <class T>
    void row_squared_norms(std::size_t n, std::size_t d, const T* x, T* norms)
    {
        parallel_for(0, n, std::max<std::size_t>(1, 65536 / std::max<std::size_t>(d, 1)),
                     [&](std::size_t begin, std::size_t end) {
                         for (std::size_t i = begin; i < end; ++i)
                         {
                             const T* row = x + i * d;
                             T sum = 0;
                             for (std::size_t p = 0; p < d; ++p)
                                 sum += row[p] * row[p];
                             norms[i] = sum;
                         }
                     });
    }

    // out[i·m + j] = ||x_i − c_j||²   x: (n, d)   c: (m, d)   x_norms: (n)   c_norms: (m)   out: (n, m)
    // The cross terms come from the threaded GEMM; rounding can make a tiny distance negative, so each is
    // clamped at 0. With few centres (m < n, k-means), the GEMM computes C Xᵀ (m, n) instead of X Cᵀ: its
    // register tile is two vectors wide, and a product only m columns wide would leave most of it idle.
    template <class T>
    void squared_distances(std::size_t n, std::size_t m, std::size_t d, const T* x, const T* x_norms, const T* c,
                           const T* c_norms, T* out)
    {
        const bool centres_as_rows = m < n;
        std::vector<T> transposed(centres_as_rows ? m * n : 0);   // (m, n)
        if (centres_as_rows)
            gemm(false, true, m, n, d, T(-2), c, d, x, d, T(0), transposed.data(), n);   // −2 C Xᵀ
        else
            gemm(false, true, n, m, d, T(-2), x, d, c, d, T(0), out, m);   // out = −2 X Cᵀ
        parallel_for(0, n, std::max<std::size_t>(1, 65536 / std::max<std::size_t>(m, 1)),
                     [&](std::size_t begin, std::size_t end) {
                         for (std::size_t i = begin; i < end; ++i)
                             for (std::size_t j = 0; j < m; ++j)
                             {
                                 T& distance = out[i * m + j];
                                 const T cross = centres_as_rows ? transposed[j * n + i] : distance;
                                 distance = std::max(T(0), cross + x_norms[i] + c_norms[j]);
                             }
                     });
    }

    // The same by the definition, kept for the tests.
    template <class T>
    void squared_distances_reference(std::size_t n, std::size_t m, std::size_t d, const T* x, const T* c, T* out)
    {
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < m; ++j)
            {
                T sum = 0;
                for (std::size_t p = 0; p < d; ++p)
                {
                    const T difference = x[i * d + p] - c[j * d + p];
                    sum += difference * difference;
                }
                out[i * m + j] = sum;
            }
    }
}
