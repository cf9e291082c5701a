// The training callbacks.
// Compiled mode: instantiated once here, declared `extern template` by the headers (config.hpp).
#include <xgrad/train/callbacks.hpp>

namespace xgrad
{
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_TRAIN_CALLBACKS_TEMPLATES)
}
