// Seeing backpropagation: graph export (Graphviz DOT) and a narrated backward pass.
#pragma once

#include "viz/dot.hpp"
#include "viz/plot.hpp"
#include "viz/summary.hpp"
#include "viz/trace.hpp"
