// The core: tensors, the autograd engine, anomaly checks, broadcasting, creation, state dicts.
// Compiled mode: instantiated once here, declared `extern template` by the headers (config.hpp).
#include <xgrad/core/tensor.hpp>
#include <xgrad/core/autograd.hpp>
#include <xgrad/core/anomaly.hpp>
#include <xgrad/core/broadcast.hpp>
#include <xgrad/core/creation.hpp>
#include <xgrad/core/state_dict.hpp>

namespace xgrad
{
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_CORE_TENSOR_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_CORE_AUTOGRAD_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_CORE_ANOMALY_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_CORE_BROADCAST_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_CORE_CREATION_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_CORE_STATE_DICT_TEMPLATES)
}
