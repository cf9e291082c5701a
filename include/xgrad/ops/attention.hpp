// Scaled dot-product attention, composed from matmul, softmax and dropout (so it has second derivatives):
//   attention(Q, K, V) = softmax(Q K^T / sqrt(E) + mask) V
#pragma once

#include <cmath>
#include <limits>

#include "../config.hpp"
#include "../core/creation.hpp"
#include "activation.hpp"
#include "dropout.hpp"
#include "linalg.hpp"

namespace xgrad
{
    namespace detail
    {
        // The additive mask of a causal attention: -inf above the diagonal (a query sees no later key).
        template <class T>
        xt::xarray<T> causal_additive_mask(std::size_t queries, std::size_t keys)
        {
            xt::xarray<T> mask = xt::zeros<T>({queries, keys});
            for (std::size_t i = 0; i < queries; ++i)
                for (std::size_t j = i + 1; j < keys; ++j)
                    mask(i, j) = -std::numeric_limits<T>::infinity();
            return mask;
        }

        // -inf where mask == blocked_when, 0 elsewhere.  A plain loop on purpose: with XTENSOR_USE_XSIMD,
        // xtensor 0.24 / xsimd 8.1 evaluate xt::where(stored bool array, double, double) wrongly (the bytes
        // are loaded as a batch_bool of the wrong width), which scrambles double masks.
        template <class T>
        xt::xarray<T> additive_from_bool(const xt::xarray<bool>& mask, bool blocked_when)
        {
            xt::xarray<T> additive(mask.shape());
            for (std::size_t i = 0; i < mask.size(); ++i)
                additive.data()[i] = mask.data()[i] == blocked_when ? -std::numeric_limits<T>::infinity() : T(0);
            return additive;
        }
    }

    namespace detail
    {
        // The attention weights dropout(softmax(q k^T / sqrt(E) + mask)): (..., L, S), for q (..., L, E) and
        // k (..., S, E); additive_mask broadcasts to (..., L, S).
        template <class T, class Rng>
        Tensor<T> attention_weights(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& additive_mask,
                                    bool is_causal, double dropout_p, Rng& rng)
        {
            const T scale = T(1) / std::sqrt(static_cast<T>(q.shape(-1)));
            Tensor<T> scores = mul(matmul(q, k, false, true), scale);   // (..., L, S)
            if (is_causal)
                scores = add(scores, constant<T>(causal_additive_mask<T>(q.shape(-2), k.shape(-2))));
            if (additive_mask.defined())
            {
                const Shape score_shape = scores.shape();
                if (broadcast_shapes(additive_mask.shape(), score_shape, "scaled_dot_product_attention") != score_shape)
                    throw shape_error("scaled_dot_product_attention: mask of shape " +
                                      shape_string(additive_mask.shape()) + " does not broadcast to the scores' shape " +
                                      shape_string(score_shape));
                scores = add(scores, additive_mask);
            }
            return dropout(softmax(scores, -1), dropout_p, dropout_p > 0.0, rng);
        }
    }

    // q: (..., L, E)   k: (..., S, E)   v: (..., S, Ev)   ->   (..., L, Ev)
    // additive_mask (broadcast to (..., L, S)) is added to the scores; is_causal masks keys after each query;
    // dropout_p drops attention weights (pass 0 in evaluation).
    template <class T, class Rng = Generator>
    Tensor<T> scaled_dot_product_attention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                           const Tensor<T>& additive_mask = Tensor<T>(), bool is_causal = false,
                                           double dropout_p = 0.0, Rng& rng = default_generator())
    {
        XGRAD_PROFILE_OP("scaled_dot_product_attention");
        if (q.ndim() < 2 || k.ndim() < 2 || v.ndim() < 2 || q.shape(-1) != k.shape(-1) || k.shape(-2) != v.shape(-2))
            throw shape_error("scaled_dot_product_attention: expected q (..., L, E), k (..., S, E), v (..., S, Ev), "
                              "got " + shape_string(q.shape()) + ", " + shape_string(k.shape()) + ", " +
                              shape_string(v.shape()));
        return matmul(detail::attention_weights(q, k, additive_mask, is_causal, dropout_p, rng), v);
    }

    // The same with a boolean mask, as torch.nn.functional.scaled_dot_product_attention: true = may attend.
    template <class T, class Rng = Generator>
    Tensor<T> scaled_dot_product_attention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                           const xt::xarray<bool>& attend_mask, bool is_causal = false,
                                           double dropout_p = 0.0, Rng& rng = default_generator())
    {
        xt::xarray<T> additive = detail::additive_from_bool<T>(attend_mask, false);
        return scaled_dot_product_attention(q, k, v, constant<T>(std::move(additive)), is_causal, dropout_p, rng);
    }
}

// The templates above, for float and double, as explicit instantiations: `extern` in compiled mode, defined
// once by the xgrad_compiled library (config.hpp).
#define XGRAD_OPS_ATTENTION_TEMPLATES(EXTERN, T)                                                                      \
    EXTERN template Tensor<T> scaled_dot_product_attention<T, Generator>(const Tensor<T>&, const Tensor<T>&,          \
                                                                         const Tensor<T>&, const Tensor<T>&, bool,    \
                                                                         double, Generator&);                         \
    EXTERN template Tensor<T> scaled_dot_product_attention<T, Generator>(const Tensor<T>&, const Tensor<T>&,          \
                                                                         const Tensor<T>&, const xt::xarray<bool>&,   \
                                                                         bool, double, Generator&);
namespace xgrad
{
    XGRAD_EXTERN_TEMPLATES(XGRAD_OPS_ATTENTION_TEMPLATES)
}
