// Datasets, the data loader, the IDX and CSV readers, scaling.
// Compiled mode: instantiated once here, declared `extern template` by the headers (config.hpp).
#include <xgrad/data/dataset.hpp>
#include <xgrad/data/loader.hpp>
#include <xgrad/data/idx.hpp>
#include <xgrad/data/csv.hpp>
#include <xgrad/data/split.hpp>

namespace xgrad
{
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_DATA_DATASET_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_DATA_LOADER_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_DATA_IDX_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_DATA_CSV_TEMPLATES)
    XGRAD_INSTANTIATE_TEMPLATES(XGRAD_DATA_SPLIT_TEMPLATES)
}
