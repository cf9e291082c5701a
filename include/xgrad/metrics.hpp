// Evaluation metrics: `#include <xgrad/metrics.hpp>`.
#pragma once

#include "metrics/classification.hpp"
#include "metrics/drift.hpp"
#include "metrics/regression.hpp"
