// The training callbacks, gradient flow and the training report.
// Compiled mode: instantiated once here, declared `extern template` by the headers (config.hpp).
#include <xgrad/train/callbacks.hpp>
#include <xgrad/train/gradient_flow.hpp>
#include <xgrad/train/report.hpp>

namespace xgrad
{
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_TRAIN_CALLBACKS_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_TRAIN_GRADIENT_FLOW_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_TRAIN_REPORT_TEMPLATES)
}
