// nn::Embedding: a lookup table of learned vectors, indexed by integer ids (tokens, categories).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <xtensor/xview.hpp>

#include "../config.hpp"
#include "../ops/embedding.hpp"
#include "init.hpp"
#include "module.hpp"

namespace xgrad::nn
{
    template <class T = float>
    class Embedding : public Module<T>
    {
    public:
        // weight ~ N(0, 1), as PyTorch; with a padding_idx (negative: from the end), that row starts at zero and
        // gets no gradient, so the padding id's vector stays zero.
        Embedding(std::size_t num_embeddings, std::size_t embedding_dim,
                  std::optional<std::int64_t> padding_idx = std::nullopt)
            : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim)
        {
            if (num_embeddings == 0 || embedding_dim == 0)
                throw value_error("Embedding: num_embeddings and embedding_dim must be positive");
            if (padding_idx)
                padding_idx_ = static_cast<std::int64_t>(
                    xgrad::detail::padding_row(*padding_idx, num_embeddings, "Embedding"));
            weight = this->register_parameter("weight", zeros<T>({num_embeddings, embedding_dim}));
            init::normal_(weight, 0.0, 1.0);
            if (padding_idx_)
                xt::view(weight.mutable_value(), *padding_idx_, xt::all()) = T(0);
        }

        // indices: any shape   ->   (indices.shape..., embedding_dim)
        Tensor<T> forward(const IndexArray& indices)
        {
            return padding_idx_ ? embedding(indices, weight, *padding_idx_) : embedding(indices, weight);
        }
        // Ids stored in a tensor (whole numbers; anything else is a value_error).
        Tensor<T> forward(const Tensor<T>& ids) override
        {
            return padding_idx_ ? embedding(ids, weight, *padding_idx_) : embedding(ids, weight);
        }
        Tensor<T> operator()(const IndexArray& indices) { return forward(indices); }
        using Module<T>::operator();

        std::string type_name() const override { return "Embedding"; }
        std::string extra_repr() const override
        {
            return std::to_string(num_embeddings_) + ", " + std::to_string(embedding_dim_) +
                   (padding_idx_ ? ", padding_idx=" + std::to_string(*padding_idx_) : "");
        }
        std::optional<std::int64_t> padding_idx() const { return padding_idx_; }

        Tensor<T> weight;   // (num_embeddings, embedding_dim)

    private:
        std::size_t num_embeddings_, embedding_dim_;
        std::optional<std::int64_t> padding_idx_;   // normalised to [0, num_embeddings)
    };
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_NN_EMBEDDING_TEMPLATES(EXTERN, T)                                                                       \
    EXTERN template class nn::Embedding<T>;
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_NN_EMBEDDING_TEMPLATES)
}
