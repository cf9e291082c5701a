// Optimizers and gradient clipping.
// Compiled mode: instantiated once here, declared `extern template` by the headers (config.hpp).
#include <xgrad/optim/sgd.hpp>
#include <xgrad/optim/adam.hpp>
#include <xgrad/optim/rmsprop.hpp>
#include <xgrad/optim/clip.hpp>

namespace xgrad
{
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPTIM_SGD_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPTIM_ADAM_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPTIM_RMSPROP_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_OPTIM_CLIP_TEMPLATES)
}
