// Graph export, the narrated backward pass, value summaries.
// Compiled mode: instantiated once here, declared `extern template` by the headers (config.hpp).
#include <xgrad/viz/dot.hpp>
#include <xgrad/viz/trace.hpp>
#include <xgrad/viz/summary.hpp>

namespace xgrad
{
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_VIZ_DOT_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_VIZ_TRACE_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_VIZ_SUMMARY_TEMPLATES)
}
