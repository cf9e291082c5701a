// train::fit in every process of a ProcessGroup: the hooks that keep callbacks on the main process, sum the
// epoch's figures over the processes and take the main process's stop decision, and the sampler that gives
// each process its share of a data set.
//   options.processes = distributed::fit_processes(group);
#pragma once

#include <memory>
#include <vector>

#include "../data/sampler.hpp"
#include "../train/fit.hpp"
#include "process_group.hpp"

namespace xgrad::distributed
{
    inline train::ProcessHooks fit_processes(const ProcessGroup& group)
    {
        train::ProcessHooks hooks;
        hooks.is_main_process = group.is_main_process();
        hooks.sum_over_processes = [group](std::vector<double>& values) {
            group.all_reduce(values.data(), values.size(), ReduceOp::sum);
        };
        hooks.main_process_flag = [group](bool flag) {
            double value = flag ? 1.0 : 0.0;
            group.broadcast(&value, 1, 0);
            return value != 0.0;
        };
        return hooks;
    }

    // This process's share of a data set, for DataLoaderOptions::sampler.
    inline std::shared_ptr<const data::DistributedSampler>
    distributed_sampler(const ProcessGroup& group, data::DistributedSamplerOptions options = {})
    {
        return std::make_shared<data::DistributedSampler>(static_cast<std::size_t>(group.world_size()),
                                                          static_cast<std::size_t>(group.rank()), options);
    }
}
