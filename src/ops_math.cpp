// Elementwise ops, activations, reductions and losses.
// Compiled mode: instantiated once here, declared `extern template` by the headers (config.hpp).
#include <xgrad/ops/elementwise.hpp>
#include <xgrad/ops/activation.hpp>
#include <xgrad/ops/reduce.hpp>
#include <xgrad/ops/loss.hpp>

namespace xgrad
{
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPS_ELEMENTWISE_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPS_ACTIVATION_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPS_REDUCE_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPS_LOSS_TEMPLATES)
}
