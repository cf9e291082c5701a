// The vocabulary every layer of xgrad speaks: shapes, integer index arrays, pairs of sizes.  They live at
// the bottom so that data loaders, metrics and file readers can use them without including any op.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include "../error.hpp"

namespace xgrad
{
    // Dimensions of a tensor, outermost first (row-major).
    using Shape = std::vector<std::size_t>;

    // Dimensions given by the user, negative ones counting from the end.
    using Dims = std::vector<std::ptrdiff_t>;

    // Integer indices: class labels, token ids, gathered positions.
    using IndexArray = xt::xarray<std::int64_t>;

    // (height, width) of a kernel, stride, padding or dilation.
    using Size2 = std::array<std::size_t, 2>;

    namespace detail
    {
        // Integer indices from an array of whole numbers (class labels or ids stored as floats); anything
        // else is a value_error naming `op`.  Losses and Embedding take their targets and ids through it.
        template <class T>
        IndexArray indices_from(const xt::xarray<T>& values, const char* op)
        {
            IndexArray indices(values.shape());
            for (std::size_t i = 0; i < indices.size(); ++i)
            {
                const T v = values.data()[i];
                // 2^62 bounds the cast: converting a float outside int64's range is undefined behaviour.
                if (!std::isfinite(v) || v != std::floor(v) || std::fabs(v) > T(4.6e18))
                    throw value_error(std::string(op) + ": value " + std::to_string(v) + " at position " +
                                      std::to_string(i) + " is not a class index (a whole number in range)");
                indices.data()[i] = static_cast<std::int64_t>(v);
            }
            return indices;
        }
    }
}
