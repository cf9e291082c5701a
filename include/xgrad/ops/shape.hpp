// Ops that move elements without arithmetic: reshape flatten squeeze unsqueeze permute transpose narrow
// index_select gather cat stack where masked_fill.  Their backwards route gradients back to where each
// element came from (and those routing ops are differentiable in turn).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <numeric>
#include <vector>

#include <xtensor/xmanipulation.hpp>

#include "../config.hpp"
#include "../core/broadcast.hpp"
#include "../core/tensor.hpp"
#include "../kernels/permute.hpp"
#include "elementwise.hpp"

namespace xgrad
{
    namespace detail
    {
        inline std::size_t product(const Shape& shape, std::size_t from, std::size_t to)
        {
            return std::accumulate(shape.begin() + from, shape.begin() + to, std::size_t(1), std::multiplies<>());
        }

        // A row-major array seen as (outer, extent of `dim`, inner): the loops of every op along one dim.
        struct DimSplit
        {
            std::size_t outer, extent, inner;
            DimSplit(const Shape& shape, std::size_t dim)
                : outer(product(shape, 0, dim)), extent(shape[dim]), inner(product(shape, dim + 1, shape.size()))
            {
            }
        };

        template <class T>
        Tensor<T> reshape_exact(const Tensor<T>& x, const Shape& shape);

        // Copies the slab [start, start + length) of `source` along dim into `target`, whose extent along
        // dim is `target_extent`, at offset `target_start` (both arrays otherwise of the same shape).
        template <class T>
        void copy_slab(const T* source, std::size_t source_extent, std::size_t source_start, T* target,
                       std::size_t target_extent, std::size_t target_start, std::size_t length, std::size_t outer,
                       std::size_t inner)
        {
            for (std::size_t o = 0; o < outer; ++o)
                std::copy_n(source + (o * source_extent + source_start) * inner, length * inner,
                            target + (o * target_extent + target_start) * inner);
        }

        inline void check_indices(const IndexArray& index, std::size_t extent, const char* op)
        {
            for (auto i : index)
                if (i < 0 || static_cast<std::size_t>(i) >= extent)
                    throw value_error(std::string(op) + ": index " + std::to_string(i) +
                                      " is out of range for a dimension of size " + std::to_string(extent));
        }
    }

    // y = x with a new shape (same elements, row-major)   =>  dL/dx = reshape(dL/dy, shape(x))
    // One dim may be -1: it is inferred from the others.
    template <class T>
    Tensor<T> reshape(const Tensor<T>& x, const Dims& shape)
    {
        Shape resolved(shape.size());
        std::size_t known = 1;
        std::ptrdiff_t inferred = -1;
        for (std::size_t i = 0; i < shape.size(); ++i)
        {
            if (shape[i] == -1 && inferred < 0)
                inferred = static_cast<std::ptrdiff_t>(i);
            else if (shape[i] < 0)
                throw value_error("reshape: invalid size " + std::to_string(shape[i]) + " in the requested shape");
            else
                known *= (resolved[i] = static_cast<std::size_t>(shape[i]));
        }
        if (inferred >= 0)
        {
            if (known == 0 || x.numel() % known != 0)
                throw shape_error("reshape: cannot infer -1 to reshape " + shape_string(x.shape()) + " (" +
                                  std::to_string(x.numel()) + " elements) into " + shape_string(shape));
            resolved[static_cast<std::size_t>(inferred)] = x.numel() / known;
        }
        return detail::reshape_exact(x, resolved);
    }

    template <class T>
    Tensor<T> detail::reshape_exact(const Tensor<T>& x, const Shape& shape)
    {
        XGRAD_PROFILE_OP("reshape");
        if (detail::product(shape, 0, shape.size()) != x.numel())
            throw shape_error("reshape: cannot reshape " + shape_string(x.shape()) + " (" +
                              std::to_string(x.numel()) + " elements) into " + shape_string(shape));
        if (detail::shapes_equal(x.value().shape(), shape))
            return x;
        xt::xarray<T> value = x.value();
        value.reshape(shape);
        return make_result("reshape", std::move(value), {x}, [from = x.shape()](const Tensor<T>& dout) -> Grads<T> {
            return {detail::reshape_exact(dout, from)};
        });
    }

    // Dims start_dim..end_dim merged into one.
    template <class T>
    Tensor<T> flatten(const Tensor<T>& x, std::ptrdiff_t start_dim = 0, std::ptrdiff_t end_dim = -1)
    {
        if (x.ndim() == 0)
            return detail::reshape_exact(x, Shape{1});
        const std::size_t first = detail::normalize_dim(start_dim, x.ndim(), "flatten");
        const std::size_t last = detail::normalize_dim(end_dim, x.ndim(), "flatten");
        if (first > last)
            throw value_error("flatten: start_dim must not come after end_dim");
        const Shape from = x.shape();
        Shape shape(from.begin(), from.begin() + first);
        shape.push_back(detail::product(from, first, last + 1));
        shape.insert(shape.end(), from.begin() + last + 1, from.end());
        return detail::reshape_exact(x, shape);
    }

    // Removes every dim of size 1.
    template <class T>
    Tensor<T> squeeze(const Tensor<T>& x)
    {
        Shape shape;
        for (auto extent : x.shape())
            if (extent != 1)
                shape.push_back(extent);
        return detail::reshape_exact(x, shape);
    }

    // Removes `dim` if its size is 1 (otherwise returns x, as PyTorch).
    template <class T>
    Tensor<T> squeeze(const Tensor<T>& x, std::ptrdiff_t dim)
    {
        if (x.ndim() == 0)
            return x;
        const std::size_t d = detail::normalize_dim(dim, x.ndim(), "squeeze");
        Shape shape = x.shape();
        if (shape[d] != 1)
            return x;
        shape.erase(shape.begin() + d);
        return detail::reshape_exact(x, shape);
    }

    // Inserts a dim of size 1 at `dim` (which may be one past the last).
    template <class T>
    Tensor<T> unsqueeze(const Tensor<T>& x, std::ptrdiff_t dim)
    {
        const std::size_t d = detail::normalize_dim(dim, x.ndim(), "unsqueeze", 1);
        Shape shape = x.shape();
        shape.insert(shape.begin() + d, 1);
        return detail::reshape_exact(x, shape);
    }

    namespace detail
    {
        // A sequence (N, C, L) seen as an image (N, C, 1, L) of height 1: the 1-D convolutions and poolings
        // are the 2-D ones on that row.  `layout` names the 3-D shape `what` must have.
        template <class T>
        Tensor<T> sequence_as_image(const char* op, const char* what, const char* layout, const Tensor<T>& x)
        {
            if (x.ndim() != 3)
                throw shape_error(std::string(op) + ": " + what + " must be 3-D " + layout + ", got shape " +
                                  shape_string(x.shape()));
            return unsqueeze(x, 2);
        }
    }

    // y = x with dims reordered: y.shape[i] = x.shape[dims[i]]   =>  dL/dx = permute(dL/dy, inverse(dims))
    template <class T>
    Tensor<T> permute(const Tensor<T>& x, const Dims& dims)
    {
        XGRAD_PROFILE_OP("permute");
        if (dims.size() != x.ndim())
            throw shape_error("permute: got " + std::to_string(dims.size()) + " dims for a tensor of shape " +
                              shape_string(x.shape()));
        std::vector<std::size_t> order(dims.size());
        std::vector<std::size_t> inverse(dims.size(), dims.size());
        for (std::size_t i = 0; i < dims.size(); ++i)
        {
            order[i] = detail::normalize_dim(dims[i], x.ndim(), "permute");
            if (inverse[order[i]] != dims.size())
                throw value_error("permute: dim " + std::to_string(dims[i]) + " appears twice in the dims for a "
                                  "tensor of shape " + shape_string(x.shape()));
            inverse[order[i]] = i;
        }
        if (std::is_sorted(order.begin(), order.end()))
            return x;
        const Shape from = x.shape();
        Shape shape(order.size());
        for (std::size_t i = 0; i < order.size(); ++i)
            shape[i] = from[order[i]];
        xt::xarray<T> value(shape);
        kernels::permute_copy(from, order, x.value().data(), value.data());
        const Tensor<T> result =
            make_result("permute", std::move(value), {x}, [inverse](const Tensor<T>& dout) -> Grads<T> {
                return {permute(dout, Dims(inverse.begin(), inverse.end()))};
            });
        return record_attributes(result, [&] { return OpAttributes().set_ints("dims", {order.begin(), order.end()}); });
    }

    // Swaps two dims.
    template <class T>
    Tensor<T> transpose(const Tensor<T>& x, std::ptrdiff_t dim0, std::ptrdiff_t dim1)
    {
        Dims order(x.ndim());
        std::iota(order.begin(), order.end(), 0);
        std::swap(order[detail::normalize_dim(dim0, x.ndim(), "transpose")],
                  order[detail::normalize_dim(dim1, x.ndim(), "transpose")]);
        return permute(x, order);
    }

    namespace detail
    {
        // y = zeros(full_shape) with dout placed at [start, start + length) along dim: the backward of narrow.
        //   =>  dL/d(dout) = narrow(dL/dy, dim, start, length)
        template <class T>
        Tensor<T> narrow_backward(const Tensor<T>& dout, const Shape& full_shape, std::size_t dim, std::size_t start);
    }

    // y = x[..., start:start+length, ...] along dim   =>  dL/dx = dL/dy placed back into zeros
    template <class T>
    Tensor<T> narrow(const Tensor<T>& x, std::ptrdiff_t dim, std::size_t start, std::size_t length)
    {
        XGRAD_PROFILE_OP("narrow");
        const std::size_t d = x.normalize_dim(dim, "narrow");
        const Shape from = x.shape();
        if (start > from[d] || length > from[d] - start)   // not start + length: that can wrap around
            throw value_error("narrow: range [" + std::to_string(start) + ", " + std::to_string(start + length) +
                              ") exceeds dim " + std::to_string(d) + " of shape " + shape_string(from));
        Shape shape = from;
        shape[d] = length;
        xt::xarray<T> value(shape);
        const detail::DimSplit split(from, d);
        detail::copy_slab(x.value().data(), split.extent, start, value.data(), length, 0, length, split.outer,
                          split.inner);
        const Tensor<T> result =
            make_result("narrow", std::move(value), {x}, [from, d, start](const Tensor<T>& dout) -> Grads<T> {
                return {detail::narrow_backward(dout, from, d, start)};
            });
        return record_attributes(
            result, [&] { return OpAttributes().set_int("dim", d).set_int("start", start).set_int("length", length); });
    }

    template <class T>
    Tensor<T> detail::narrow_backward(const Tensor<T>& dout, const Shape& full_shape, std::size_t dim,
                                      std::size_t start)
    {
        XGRAD_PROFILE_OP("narrow_backward");
        xt::xarray<T> value = xt::zeros<T>(full_shape);
        const std::size_t length = dout.shape(static_cast<std::ptrdiff_t>(dim));
        const DimSplit split(full_shape, dim);
        copy_slab(dout.value().data(), length, 0, value.data(), split.extent, start, length, split.outer,
                  split.inner);
        return make_result("narrow_backward", std::move(value), {dout},
                           [dim, start, length](const Tensor<T>& ddx) -> Grads<T> {
                               return {narrow(ddx, static_cast<std::ptrdiff_t>(dim), start, length)};
                           });
    }

    // Concatenation along dim; all other dims must agree   =>  dL/d(inputs[i]) = its slab of dL/dy
    template <class T>
    Tensor<T> cat(const std::vector<Tensor<T>>& inputs, std::ptrdiff_t dim = 0)
    {
        XGRAD_PROFILE_OP("cat");
        if (inputs.empty())
            throw value_error("cat: needs at least one tensor");
        const std::size_t d = inputs[0].normalize_dim(dim, "cat");
        Shape shape = inputs[0].shape();
        shape[d] = 0;
        for (const auto& input : inputs)
        {
            Shape other = input.shape();
            if (other.size() != shape.size() ||
                !std::equal(other.begin(), other.begin() + d, shape.begin()) ||
                !std::equal(other.begin() + d + 1, other.end(), shape.begin() + d + 1))
                throw shape_error("cat: shapes " + shape_string(inputs[0].shape()) + " and " + shape_string(other) +
                                  " differ outside dim " + std::to_string(d));
            shape[d] += other[d];
        }
        xt::xarray<T> value(shape);
        const detail::DimSplit split(shape, d);
        std::vector<std::size_t> offsets;
        std::size_t offset = 0;
        for (const auto& input : inputs)
        {
            const std::size_t extent = input.shape(static_cast<std::ptrdiff_t>(d));
            detail::copy_slab(input.value().data(), extent, 0, value.data(), split.extent, offset, extent,
                              split.outer, split.inner);
            offsets.push_back(offset);
            offset += extent;
        }
        const Tensor<T> result =
            make_result("cat", std::move(value), inputs, [inputs, offsets, d](const Tensor<T>& dout) -> Grads<T> {
                Grads<T> grads;
                for (std::size_t i = 0; i < inputs.size(); ++i)
                    grads.push_back(detail::grad_if_needed(inputs[i], [&] {
                        return narrow(dout, static_cast<std::ptrdiff_t>(d), offsets[i],
                                      inputs[i].shape(static_cast<std::ptrdiff_t>(d)));
                    }));
                return grads;
            });
        return record_attributes(result, [&] { return OpAttributes().set_int("dim", d); });
    }

    template <class T>
    Tensor<T> cat(std::initializer_list<Tensor<T>> inputs, std::ptrdiff_t dim = 0)
    {
        return cat(std::vector<Tensor<T>>(inputs), dim);
    }

    // Joins same-shaped tensors along a new dim.
    template <class T>
    Tensor<T> stack(const std::vector<Tensor<T>>& inputs, std::ptrdiff_t dim = 0)
    {
        if (inputs.empty())
            throw value_error("stack: needs at least one tensor");
        detail::normalize_dim(dim, inputs[0].ndim(), "stack", 1);   // a bad dim is reported as stack's
        std::vector<Tensor<T>> expanded;
        for (const auto& input : inputs)
        {
            if (input.value().shape() != inputs[0].value().shape())
                throw shape_error("stack: all tensors must have the same shape, got " +
                                  shape_string(inputs[0].shape()) + " and " + shape_string(input.shape()));
            expanded.push_back(unsqueeze(input, dim));
        }
        return cat(expanded, dim);
    }

    template <class T>
    Tensor<T> stack(std::initializer_list<Tensor<T>> inputs, std::ptrdiff_t dim = 0)
    {
        return stack(std::vector<Tensor<T>>(inputs), dim);
    }

    namespace detail
    {
        // y = zeros(shape) with y[.., index[j], ..] += dout[.., j, ..] along dim: the backward of index_select.
        //   =>  dL/d(dout) = index_select(dL/dy, dim, index)
        template <class T>
        Tensor<T> index_add_into_zeros(const Tensor<T>& dout, const Shape& shape, std::size_t dim,
                                       const IndexArray& index);
    }

    // y = x[.., index[j], ..] along dim (index 1-D)   =>  dL/dx = dL/dy added back at the selected positions
    template <class T>
    Tensor<T> index_select(const Tensor<T>& x, std::ptrdiff_t dim, const IndexArray& index)
    {
        XGRAD_PROFILE_OP("index_select");
        const std::size_t d = x.normalize_dim(dim, "index_select");
        if (index.dimension() != 1)
            throw shape_error("index_select: index must be 1-D, got shape " + shape_string(index.shape()));
        const Shape from = x.shape();
        detail::check_indices(index, from[d], "index_select");
        Shape shape = from;
        shape[d] = index.size();
        xt::xarray<T> value(shape);
        const detail::DimSplit split(from, d);
        for (std::size_t j = 0; j < index.size(); ++j)
            detail::copy_slab(x.value().data(), split.extent, static_cast<std::size_t>(index(j)), value.data(),
                              index.size(), j, 1, split.outer, split.inner);
        const Tensor<T> result =
            make_result("index_select", std::move(value), {x}, [from, d, index](const Tensor<T>& dout) -> Grads<T> {
                return {detail::index_add_into_zeros(dout, from, d, index)};
            });
        return record_attributes(result, [&] {
            return OpAttributes().set_int("dim", d).set_ints("index", {index.begin(), index.end()});
        });
    }

    template <class T>
    Tensor<T> detail::index_add_into_zeros(const Tensor<T>& dout, const Shape& shape, std::size_t dim,
                                           const IndexArray& index)
    {
        XGRAD_PROFILE_OP("index_select_backward");
        xt::xarray<T> value = xt::zeros<T>(shape);
        const DimSplit split(shape, dim);
        const T* source = dout.value().data();
        for (std::size_t o = 0; o < split.outer; ++o)
            for (std::size_t j = 0; j < index.size(); ++j)
            {
                const T* from = source + (o * index.size() + j) * split.inner;
                T* to = value.data() + (o * split.extent + static_cast<std::size_t>(index(j))) * split.inner;
                for (std::size_t i = 0; i < split.inner; ++i)
                    to[i] += from[i];
            }
        return make_result("index_select_backward", std::move(value), {dout},
                           [dim, index](const Tensor<T>& ddx) -> Grads<T> {
                               return {index_select(ddx, static_cast<std::ptrdiff_t>(dim), index)};
                           });
    }

    namespace detail
    {
        // Calls visit(flat position in index, flat position in a tensor of `shape`) for every element of
        // `index`, the latter with the coordinate along dim replaced by the index value.
        template <class Visit>
        void for_each_gathered(const Shape& shape, std::size_t dim, const IndexArray& index, Visit&& visit)
        {
            const std::size_t ndim = shape.size();
            std::vector<std::size_t> strides(ndim, 1);
            for (std::size_t i = ndim; i-- > 1;)
                strides[i - 1] = strides[i] * shape[i];
            std::vector<std::size_t> coordinate(ndim, 0);
            const auto& index_shape = index.shape();
            for (std::size_t p = 0; p < index.size(); ++p)
            {
                std::size_t offset = 0;
                for (std::size_t i = 0; i < ndim; ++i)
                    offset += (i == dim ? static_cast<std::size_t>(index.data()[p]) : coordinate[i]) * strides[i];
                visit(p, offset);
                for (std::size_t i = ndim; i-- > 0;)   // next coordinate, row-major
                {
                    if (++coordinate[i] < index_shape[i])
                        break;
                    coordinate[i] = 0;
                }
            }
        }

        // y = zeros(shape) with y[.., index[p], ..] += dout[p] along dim: the backward of gather.
        //   =>  dL/d(dout) = gather(dL/dy, dim, index)
        template <class T>
        Tensor<T> scatter_add_into_zeros(const Tensor<T>& dout, const Shape& shape, std::size_t dim,
                                         const IndexArray& index);
    }

    // y[p] = x[p with its coordinate along dim replaced by index[p]]; index has x's rank and no larger
    // extents   =>  dL/dx = dL/dy added back at the gathered positions
    template <class T>
    Tensor<T> gather(const Tensor<T>& x, std::ptrdiff_t dim, const IndexArray& index)
    {
        XGRAD_PROFILE_OP("gather");
        const std::size_t d = x.normalize_dim(dim, "gather");
        const Shape from = x.shape();
        bool fits = index.dimension() == from.size();
        for (std::size_t i = 0; fits && i < from.size(); ++i)
            fits = i == d || index.shape()[i] <= from[i];
        if (!fits)
            throw shape_error("gather: index of shape " + shape_string(index.shape()) +
                              " does not fit input of shape " + shape_string(from) + " along dim " +
                              std::to_string(d));
        detail::check_indices(index, from[d], "gather");
        xt::xarray<T> value(index.shape());
        const T* source = x.value().data();
        detail::for_each_gathered(from, d, index, [&](std::size_t p, std::size_t offset) { value.data()[p] = source[offset]; });
        const Tensor<T> result =
            make_result("gather", std::move(value), {x}, [from, d, index](const Tensor<T>& dout) -> Grads<T> {
                return {detail::scatter_add_into_zeros(dout, from, d, index)};
            });
        return record_attributes(result, [&] {
            return OpAttributes()
                .set_int("dim", d)
                .set_ints("index", {index.begin(), index.end()})
                .set_ints("index_shape", {index.shape().begin(), index.shape().end()});
        });
    }

    template <class T>
    Tensor<T> detail::scatter_add_into_zeros(const Tensor<T>& dout, const Shape& shape, std::size_t dim,
                                             const IndexArray& index)
    {
        XGRAD_PROFILE_OP("gather_backward");
        xt::xarray<T> value = xt::zeros<T>(shape);
        const T* source = dout.value().data();
        for_each_gathered(shape, dim, index, [&](std::size_t p, std::size_t offset) { value.data()[offset] += source[p]; });
        return make_result("gather_backward", std::move(value), {dout}, [dim, index](const Tensor<T>& ddx) -> Grads<T> {
            return {gather(ddx, static_cast<std::ptrdiff_t>(dim), index)};
        });
    }

    // y = condition ? a : b, all three broadcast together
    //   =>  dL/da = sum_to(dL/dy where condition, shape(a)),  dL/db = sum_to(dL/dy where not condition, shape(b))
    template <class T>
    Tensor<T> where(const xt::xarray<bool>& condition, const Tensor<T>& a, const Tensor<T>& b)
    {
        XGRAD_PROFILE_OP("where");
        const Shape condition_shape(condition.shape().begin(), condition.shape().end());
        broadcast_shapes(broadcast_shapes(condition_shape, a.shape(), "where"), b.shape(), "where");
        const Tensor<T> result = make_result<T>(
            "where", xt::where(condition, a.value(), b.value()), {a, b},
            [condition, a, b](const Tensor<T>& dout) -> Grads<T> {
                return {detail::grad_if_needed(
                            a, [&] { return sum_to(mul(dout, constant<T>(xt::cast<T>(condition))), a.shape()); }),
                        detail::grad_if_needed(
                            b, [&] { return sum_to(mul(dout, constant<T>(xt::cast<T>(!condition))), b.shape()); })};
            });
        return record_attributes(result, [&] {
            return OpAttributes()
                .set_ints("condition", {condition.begin(), condition.end()})
                .set_ints("condition_shape", {condition_shape.begin(), condition_shape.end()});
        });
    }

    // Callers qualify `xgrad::where`: unqualified, argument-dependent lookup also finds xt::where (the
    // condition is an xarray), whose forwarding references beat these overloads for rvalue tensors.
    template <class T, class S, detail::enable_if_scalar<S> = 0>
    Tensor<T> where(const xt::xarray<bool>& condition, const Tensor<T>& a, S b)
    {
        return xgrad::where(condition, a, detail::scalar_tensor<T>(b));
    }

    template <class T, class S, detail::enable_if_scalar<S> = 0>
    Tensor<T> where(const xt::xarray<bool>& condition, S a, const Tensor<T>& b)
    {
        return xgrad::where(condition, detail::scalar_tensor<T>(a), b);
    }

    // y = x with `value` wherever mask (broadcast to x's shape) is true   =>  dL/dx = dL/dy where not mask
    template <class T, class S, detail::enable_if_scalar<S> = 0>
    Tensor<T> masked_fill(const Tensor<T>& x, const xt::xarray<bool>& mask, S value)
    {
        const Shape mask_shape(mask.shape().begin(), mask.shape().end());
        if (broadcast_shapes(mask_shape, x.shape(), "masked_fill") != x.shape())
            throw shape_error("masked_fill: mask of shape " + shape_string(mask_shape) +
                              " does not broadcast to the input's shape " + shape_string(x.shape()));
        return xgrad::where(mask, detail::scalar_tensor<T>(value), x);
    }

    // The same with the condition as a tensor, true where non-zero (as torch.where's bool tensor).  With
    // `using namespace xgrad`, an unqualified where(...) whose condition is an xt::xarray<bool> also finds
    // xt::where by argument-dependent lookup; a tensor condition, or writing xgrad::where, avoids that.
    template <class T>
    Tensor<T> where(const Tensor<T>& condition, const Tensor<T>& a, const Tensor<T>& b)
    {
        return xgrad::where(xt::xarray<bool>(xt::not_equal(condition.value(), T(0))), a, b);
    }

    template <class T, class S, detail::enable_if_scalar<S> = 0>
    Tensor<T> masked_fill(const Tensor<T>& x, const Tensor<T>& mask, S value)
    {
        return masked_fill(x, xt::xarray<bool>(xt::not_equal(mask.value(), T(0))), value);
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPS_SHAPE_TEMPLATES(EXTERN, T)                                                                          \
    EXTERN template Tensor<T> reshape<T>(const Tensor<T>&, const Dims&);                                              \
    EXTERN template Tensor<T> flatten<T>(const Tensor<T>&, std::ptrdiff_t, std::ptrdiff_t);                           \
    EXTERN template Tensor<T> squeeze<T>(const Tensor<T>&);                                                           \
    EXTERN template Tensor<T> squeeze<T>(const Tensor<T>&, std::ptrdiff_t);                                           \
    EXTERN template Tensor<T> unsqueeze<T>(const Tensor<T>&, std::ptrdiff_t);                                         \
    EXTERN template Tensor<T> permute<T>(const Tensor<T>&, const Dims&);                                              \
    EXTERN template Tensor<T> transpose<T>(const Tensor<T>&, std::ptrdiff_t, std::ptrdiff_t);                         \
    EXTERN template Tensor<T> narrow<T>(const Tensor<T>&, std::ptrdiff_t, std::size_t, std::size_t);                  \
    EXTERN template Tensor<T> cat<T>(const std::vector<Tensor<T>>&, std::ptrdiff_t);                                  \
    EXTERN template Tensor<T> cat<T>(std::initializer_list<Tensor<T>>, std::ptrdiff_t);                               \
    EXTERN template Tensor<T> stack<T>(const std::vector<Tensor<T>>&, std::ptrdiff_t);                                \
    EXTERN template Tensor<T> stack<T>(std::initializer_list<Tensor<T>>, std::ptrdiff_t);                             \
    EXTERN template Tensor<T> index_select<T>(const Tensor<T>&, std::ptrdiff_t, const IndexArray&);                   \
    EXTERN template Tensor<T> gather<T>(const Tensor<T>&, std::ptrdiff_t, const IndexArray&);                         \
    EXTERN template Tensor<T> where<T>(const xt::xarray<bool>&, const Tensor<T>&, const Tensor<T>&);                  \
    EXTERN template Tensor<T> where<T>(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPS_SHAPE_TEMPLATES)
}
