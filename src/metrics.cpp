// Classification and regression metrics.
// Compiled mode: instantiated once here, declared `extern template` by the headers (config.hpp).
#include <xgrad/metrics/classification.hpp>
#include <xgrad/metrics/regression.hpp>

namespace xgrad
{
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_METRICS_CLASSIFICATION_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_METRICS_REGRESSION_TEMPLATES)
}
