// embedding: rows of a weight matrix picked by integer ids (tokens, categories).  Its backward is
// index_select's: the gradient of each output row is added into the row it was picked from.
#pragma once

#include "../core/types.hpp"
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
        return reshape(index_select(weight, 0, flat), shape);
    }

    // Ids stored in a tensor: whole numbers, anything else is a value_error.
    template <class T>
    Tensor<T> embedding(const Tensor<T>& ids, const Tensor<T>& weight)
    {
        return embedding(detail::indices_from(ids.value(), "embedding"), weight);
    }
}
