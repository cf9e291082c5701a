// Safetensors files.
// Compiled mode: instantiated once here, declared `extern template` by the headers (config.hpp).
#include <xgrad/io/safetensors.hpp>

namespace xgrad
{
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_IO_SAFETENSORS_TEMPLATES)
}
