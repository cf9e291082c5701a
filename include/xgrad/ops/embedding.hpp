// embedding: rows of a weight matrix picked by integer ids (tokens, categories).  Its backward is
// index_select's: the gradient of each output row is added into the row it was picked from.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "../config.hpp"
#include "../core/types.hpp"
#include "elementwise.hpp"
#include "shape.hpp"

namespace xgrad
{
    // y[i..., :] = weight[indices[i...], :]      indices: any shape   weight: (num_embeddings, dim)
    //   y: indices.shape + (dim)      =>  dL/dweight[r, :] = sum of dL/dy[i..., :] over the i with indices[i...] = r
    template <class T>
    Tensor<T> embedding(const IndexArray& indices, const Tensor<T>& weight)
    {
        XGRAD_PROFILE_OP("embedding");
        if (weight.ndim() != 2)
            throw shape_error("embedding: weight must be (num_embeddings, embedding_dim), got shape " +
                              shape_string(weight.shape()));
        IndexArray flat = indices;
        flat.reshape({indices.size()});
        Dims shape(indices.shape().begin(), indices.shape().end());
        shape.push_back(static_cast<std::ptrdiff_t>(weight.shape(1)));
        // The graph does not record where an IndexArray came from: an exporter that meets these rows refuses
        // them rather than baking the example's ids into the file (the ids in a Tensor are recorded, below).
        return record_attributes(reshape(index_select(weight, 0, flat), shape),
                                 [] { return OpAttributes().set_int("ids_outside_graph", 1); });
    }

    namespace detail
    {
        // padding_idx of a table of `rows` rows, negative counting from the end (as PyTorch), checked.
        inline std::size_t padding_row(std::int64_t padding_idx, std::size_t rows, const char* op)
        {
            const auto n = static_cast<std::int64_t>(rows);
            if (padding_idx < -n || padding_idx >= n)
                throw value_error(std::string(op) + ": padding_idx " + std::to_string(padding_idx) +
                                  " is out of range for " + std::to_string(rows) + " embeddings");
            return static_cast<std::size_t>(padding_idx < 0 ? padding_idx + n : padding_idx);
        }
    }

    // embedding in which the row `padding_idx` gets no gradient (PyTorch's padding_idx: the id of padding
    // tokens, whose vector stays as it is):
    //   y = embedding(indices, weight)      =>  dL/dweight[r, :] as embedding's, but 0 for r = padding_idx
    // (dL/dy masked where indices[i...] = padding_idx before it reaches the rows).
    template <class T>
    Tensor<T> embedding(const IndexArray& indices, const Tensor<T>& weight, std::int64_t padding_idx)
    {
        const Tensor<T> rows = embedding(indices, weight);
        const std::size_t pad = detail::padding_row(padding_idx, weight.shape(0), "embedding");
        Shape mask_shape(indices.shape().begin(), indices.shape().end());
        mask_shape.push_back(1);
        xt::xarray<T> keep(mask_shape);   // indices.shape + (1): 1 where the id is not padding
        std::transform(indices.begin(), indices.end(), keep.begin(),
                       [pad](std::int64_t id) { return static_cast<std::size_t>(id) == pad ? T(0) : T(1); });
        // y = rows   =>  dL/drows = dL/dy · keep
        return make_result<T>("embedding_padding", xt::xarray<T>(rows.value()), {rows},
                              [keep](const Tensor<T>& dout) -> Grads<T> { return {mul(dout, constant<T>(keep))}; });
    }

    // Ids stored in a tensor: whole numbers, anything else is a value_error.  While op attributes are recorded
    // (an export), the rows are marked as an "embedding" of (weight, ids), so that the graph shows which tensor
    // chose them (core/tensor.hpp, record_composite).
    template <class T>
    Tensor<T> embedding(const Tensor<T>& ids, const Tensor<T>& weight)
    {
        return record_composite("embedding", embedding(detail::indices_from(ids.value(), "embedding"), weight),
                                {weight, ids}, [] { return OpAttributes(); });
    }

    template <class T>
    Tensor<T> embedding(const Tensor<T>& ids, const Tensor<T>& weight, std::int64_t padding_idx)
    {
        return record_composite("embedding",
                                embedding(detail::indices_from(ids.value(), "embedding"), weight, padding_idx),
                                {weight, ids}, [] { return OpAttributes(); });
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPS_EMBEDDING_TEMPLATES(EXTERN, T)                                                                       \
    EXTERN template Tensor<T> embedding<T>(const IndexArray&, const Tensor<T>&);                                       \
    EXTERN template Tensor<T> embedding<T>(const IndexArray&, const Tensor<T>&, std::int64_t);                         \
    EXTERN template Tensor<T> embedding<T>(const Tensor<T>&, const Tensor<T>&);                                        \
    EXTERN template Tensor<T> embedding<T>(const Tensor<T>&, const Tensor<T>&, std::int64_t);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPS_EMBEDDING_TEMPLATES)
}
