// Data-parallel training over MPI: ProcessGroup (collectives, run_or_abort), DistributedDataParallel (gradients
// averaged during backward) and the hooks that let train::fit run in every process.  The only xgrad header that
// needs MPI (CMake target xgrad::distributed); nothing else in the library includes it.
#pragma once

#include "data/sampler.hpp"
#include "distributed/communication_thread.hpp"
#include "distributed/data_parallel.hpp"
#include "distributed/process_group.hpp"
#include "distributed/sync_batch_norm.hpp"
#include "distributed/training.hpp"
