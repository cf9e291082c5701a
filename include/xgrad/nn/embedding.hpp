// nn::Embedding: a lookup table of learned vectors, indexed by integer ids (tokens, categories).
#pragma once

#include <string>

#include "../ops/embedding.hpp"
#include "init.hpp"
#include "module.hpp"

namespace xgrad::nn
{
    template <class T = float>
    class Embedding : public Module<T>
    {
    public:
        // weight ~ N(0, 1), as PyTorch.
        Embedding(std::size_t num_embeddings, std::size_t embedding_dim)
            : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim)
        {
            if (num_embeddings == 0 || embedding_dim == 0)
                throw value_error("Embedding: num_embeddings and embedding_dim must be positive");
            weight = this->register_parameter("weight", zeros<T>({num_embeddings, embedding_dim}));
            init::normal_(weight, 0.0, 1.0);
        }

        // indices: any shape   ->   (indices.shape..., embedding_dim)
        Tensor<T> forward(const IndexArray& indices) { return embedding(indices, weight); }
        // Ids stored in a tensor (whole numbers; anything else is a value_error).
        Tensor<T> forward(const Tensor<T>& ids) override { return embedding(xgrad::detail::indices_from(ids.value(), "Embedding"), weight); }
        Tensor<T> operator()(const IndexArray& indices) { return forward(indices); }
        using Module<T>::operator();

        std::string type_name() const override { return "Embedding"; }
        std::string extra_repr() const override
        {
            return std::to_string(num_embeddings_) + ", " + std::to_string(embedding_dim_);
        }

        Tensor<T> weight;   // (num_embeddings, embedding_dim)

    private:
        std::size_t num_embeddings_, embedding_dim_;
    };
}
