// NumPy broadcasting: the broadcast shape of two operands, and the pair of ops that make and undo it.
// broadcast_to(x, shape) copies x along new or unit dims; sum_to(g, shape) sums a gradient back down (by
// the reduction kernels when the summed dims lead or trail, as a bias's or a per-row value's gradient).
// Each is the other's backward, so broadcasting costs nothing extra in the autograd rules.
#pragma once

#include <string>
#include <vector>

#include <xtensor/xbroadcast.hpp>

#include "../config.hpp"
#include "../kernels/reduce.hpp"
#include "tensor.hpp"

namespace xgrad
{
    // The NumPy broadcast of two shapes, or a shape_error naming `op`.
    inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast")
    {
        const std::size_t n = std::max(a.size(), b.size());
        Shape result(n);
        for (std::size_t i = 0; i < n; ++i)
        {
            // Align from the right; a missing dim is 1.
            const std::size_t ea = i < n - a.size() ? 1 : a[i - (n - a.size())];
            const std::size_t eb = i < n - b.size() ? 1 : b[i - (n - b.size())];
            if (ea != eb && ea != 1 && eb != 1)
                throw shape_error(std::string(op) + ": shapes " + shape_string(a) + " and " + shape_string(b) +
                                  " cannot be broadcast together");
            result[i] = ea == 1 ? eb : ea;
        }
        return result;
    }

    namespace detail
    {
        // The axes of `from` that sum_to must reduce to reach `to` (leading extra dims, and dims that are 1
        // in `to`), or a shape_error when `to` is not a broadcast source of `from`.
        inline std::vector<std::size_t> reduced_axes(const Shape& from, const Shape& to, const char* op)
        {
            auto mismatch = [&] {
                return shape_error(std::string(op) + ": shape " + shape_string(from) +
                                   " cannot be reduced to shape " + shape_string(to));
            };
            if (to.size() > from.size())
                throw mismatch();
            const std::size_t lead = from.size() - to.size();
            std::vector<std::size_t> axes;
            for (std::size_t i = 0; i < from.size(); ++i)
            {
                if (i < lead)
                    axes.push_back(i);
                else if (to[i - lead] != from[i])
                {
                    if (to[i - lead] != 1)
                        throw mismatch();
                    axes.push_back(i);
                }
            }
            return axes;
        }

        template <class Shape1, class Shape2>
        bool shapes_equal(const Shape1& a, const Shape2& b)
        {
            return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
        }
    }

    template <class T>
    Tensor<T> sum_to(const Tensor<T>& x, const Shape& shape);

    // y = x broadcast to `shape`   =>  dL/dx = sum_to(dL/dy, shape(x))
    template <class T>
    Tensor<T> broadcast_to(const Tensor<T>& x, const Shape& shape)
    {
        XGRAD_PROFILE_OP("broadcast_to");
        if (detail::shapes_equal(x.value().shape(), shape))
            return x;
        if (!detail::shapes_equal(broadcast_shapes(x.shape(), shape, "broadcast_to"), shape))
            throw shape_error("broadcast_to: shape " + shape_string(x.shape()) + " cannot be broadcast to " +
                              shape_string(shape));
        xt::xarray<T> value = xt::broadcast(x.value(), shape);
        return make_result("broadcast_to", std::move(value), {x},
                           [from = x.shape()](const Tensor<T>& dout) -> Grads<T> { return {sum_to(dout, from)}; });
    }

    // y = x summed down to `shape` (the reverse of broadcasting)   =>  dL/dx = broadcast_to(dL/dy, shape(x))
    template <class T>
    Tensor<T> sum_to(const Tensor<T>& x, const Shape& shape)
    {
        XGRAD_PROFILE_OP("sum_to");
        if (detail::shapes_equal(x.value().shape(), shape))
            return x;
        const auto axes = detail::reduced_axes(x.shape(), shape, "sum_to");
        xt::xarray<T> value = kernels::sum(x.value(), axes);
        value.reshape(shape);
        return make_result("sum_to", std::move(value), {x}, [from = x.shape()](const Tensor<T>& dout) -> Grads<T> {
            return {broadcast_to(dout, from)};
        });
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_CORE_BROADCAST_TEMPLATES(EXTERN, T)                                                                     \
    EXTERN template Tensor<T> broadcast_to<T>(const Tensor<T>&, const Shape&);                                        \
    EXTERN template Tensor<T> sum_to<T>(const Tensor<T>&, const Shape&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_CORE_BROADCAST_TEMPLATES)
}
