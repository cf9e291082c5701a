// The ops behind the layers: matmul, convolution, pooling, norms, embedding, attention, dropout, shapes,
// the recurrence.
// Compiled mode: instantiated once here, declared `extern template` by the headers (config.hpp).
#include <xgrad/ops/linalg.hpp>
#include <xgrad/ops/conv.hpp>
#include <xgrad/ops/pool.hpp>
#include <xgrad/ops/norm.hpp>
#include <xgrad/ops/embedding.hpp>
#include <xgrad/ops/attention.hpp>
#include <xgrad/ops/dropout.hpp>
#include <xgrad/ops/shape.hpp>
#include <xgrad/ops/recurrent.hpp>

namespace xgrad
{
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPS_LINALG_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPS_CONV_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPS_POOL_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPS_NORM_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPS_EMBEDDING_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPS_ATTENTION_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPS_DROPOUT_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPS_SHAPE_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPS_RECURRENT_TEMPLATES)
}
