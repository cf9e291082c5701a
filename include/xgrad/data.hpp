// Datasets, loaders, file readers and splits: `#include <xgrad/data.hpp>` (needs zlib for IDX files).
#pragma once

#include "data/csv.hpp"
#include "data/dataset.hpp"
#include "data/idx.hpp"
#include "data/loader.hpp"
#include "data/split.hpp"
