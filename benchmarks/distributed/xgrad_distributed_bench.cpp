// Data-parallel training measured: run under mpirun (benchmarks/README.md, "distributed", has the commands).
//   throughput [steps [bucket bytes [thread]]]   example 06's CNN on a global batch of 64 random images:
//                samples/s over all processes, and how much of the gradient all-reduce backward hides: backward
//                with averaging (t_total), backward under no_sync() that communicates nothing (t_backward), the
//                blocking all-reduces of the same buckets alone (t_comm), interleaved step by step, and the wait
//                at the end of backward for the all-reduces (t_exposed, of the process that finished backward
//                last).  Hidden share = (t_backward + t_comm - t_total) / t_comm, and 1 - t_exposed / t_comm, of
//                the medians.  thread: 1 (default) with the communication thread, 0 with the hooks alone
//   latency      all-reduce times from 4 B to 16 MB (medians), and the latency α and inverse bandwidth β of the
//                ring all-reduce model t = 2 (p - 1) α + 2 (p - 1) / p · n β taken from them (docs/distributed.md)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

using namespace xgrad;

namespace
{
    using Clock = std::chrono::steady_clock;

    double seconds_since(Clock::time_point start)
    {
        return std::chrono::duration<double>(Clock::now() - start).count();
    }

    // The slowest process's time: a step is done when every process is.
    double slowest(const distributed::ProcessGroup& group, double seconds)
    {
        group.all_reduce(&seconds, 1, distributed::ReduceOp::max);
        return seconds;
    }

    std::shared_ptr<nn::Sequential<float>> example_06_cnn()
    {
        const auto same = nn::Conv2dOptions().padding(1);
        return std::make_shared<nn::Sequential<float>>(
            nn::Conv2d(1, 32, 3, same), nn::ReLU(), nn::MaxPool2d(2), nn::Conv2d(32, 64, 3, same), nn::ReLU(),
            nn::MaxPool2d(2), nn::Flatten(), nn::Linear(64 * 7 * 7, 128), nn::ReLU(), nn::Linear(128, 10));
    }

    double median(std::vector<double> values)
    {
        std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
        return values[values.size() / 2];
    }

    void throughput(const distributed::ProcessGroup& group, std::size_t steps, std::size_t bucket_bytes,
                    bool communication_thread)
    {
        const std::size_t share = 64 / static_cast<std::size_t>(group.world_size());
        Generator rng(1 + static_cast<std::uint64_t>(group.rank()));
        const Tensor<float> images = randn<float>({share, 1, 28, 28}, rng);
        const IndexArray labels = randint(0, 10, {share}, rng);
        distributed::DistributedDataParallel<float> model(
            example_06_cnn(), group,
            distributed::DataParallelOptions().bucket_bytes(bucket_bytes).communication_thread(communication_thread));
        optim::Adam<float> optimizer(model.parameters(), optim::AdamOptions(1e-3));
        const auto step = [&] {
            optimizer.zero_grad();
            cross_entropy(model(images), labels).backward();
            optimizer.step();
        };
        const auto timed_steps = [&](bool averaging) {
            step();   // warm-up
            group.barrier();
            const auto start = Clock::now();
            for (std::size_t s = 0; s < steps; ++s)
            {
                if (averaging)
                    step();
                else
                {
                    const auto local = model.no_sync();
                    step();
                }
            }
            return slowest(group, seconds_since(start)) / static_cast<double>(steps);
        };
        const double with_averaging = timed_steps(true), without = timed_steps(false);

        // Backward alone, from a barrier (so that the processes start it together), the slowest process's time;
        // with averaging it ends when every bucket is summed.
        std::vector<double> exposed_waits;   // the last process's wait, each averaged step
        const auto timed_backward = [&](bool averaging) {
            optimizer.zero_grad();
            std::optional<distributed::DistributedDataParallel<float>::NoSyncGuard> local;
            if (!averaging)
                local.emplace(model);
            const Tensor<float> loss = cross_entropy(model(images), labels);
            group.barrier();
            const auto start = Clock::now();
            loss.backward();
            const double seconds = slowest(group, seconds_since(start));
            if (averaging)   // the least wait over the processes: the last to finish backward waits least
                exposed_waits.push_back(-slowest(group, -model.last_communication_wait()));
            optimizer.step();
            return seconds;
        };
        // The same buckets' all-reduces alone, one after another on this thread.
        std::vector<std::vector<float>> buckets;
        for (const std::size_t size : model.bucket_sizes())
            buckets.emplace_back(size);
        const auto timed_all_reduces = [&] {
            group.barrier();
            const auto start = Clock::now();
            for (auto& bucket : buckets)
                group.all_reduce(bucket.data(), bucket.size(), distributed::ReduceOp::sum);
            return slowest(group, seconds_since(start));
        };
        std::vector<double> totals, backwards, communications;
        for (std::size_t s = 0; s < steps; ++s)   // interleaved, so that a change of load affects all three
        {
            totals.push_back(timed_backward(true));
            backwards.push_back(timed_backward(false));
            communications.push_back(timed_all_reduces());
        }
        const double total = median(totals), backward = median(backwards), communication = median(communications),
                     exposed = median(exposed_waits);
        if (group.is_main_process())
        {
            std::printf("%d process(es) x %zu thread(s), %zu steps of 64 images, %zu gradient values in %zu "
                        "bucket(s), %s:\n",
                        group.world_size(), get_num_threads(), steps, model.parameter_count(), model.bucket_count(),
                        model.overlaps_communication() ? "communication thread" : "hooks alone");
            std::printf("  %.1f samples/s (step %.1f ms; without averaging %.1f ms)\n", 64.0 / with_averaging,
                        1e3 * with_averaging, 1e3 * without);
            // One process: what averaging costs without communication (the copies into and out of the buckets).
            std::printf("  medians: backward with averaging %.2f ms, backward alone %.2f ms, all-reduces alone "
                        "%.2f ms, exposed wait %.2f ms\n",
                        1e3 * total, 1e3 * backward, 1e3 * communication, 1e3 * exposed);
            if (group.world_size() > 1)
                std::printf("  hidden behind backward: %.0f%% (from the backward times), %.0f%% (from the exposed "
                            "wait)\n",
                            100.0 * (backward + communication - total) / communication,
                            100.0 * (1.0 - exposed / communication));
        }
    }

    void latency(const distributed::ProcessGroup& group)
    {
        std::vector<double> bytes, times;
        for (std::size_t n = 1; n <= (std::size_t(1) << 22); n *= 4)
        {
            std::vector<float> values(n, 1.0f);
            const std::size_t repeats = std::max<std::size_t>(5, (std::size_t(1) << 22) / n / 4);
            std::vector<double> each;
            for (std::size_t r = 0; r < repeats; ++r)
            {
                group.barrier();
                const auto start = Clock::now();
                group.all_reduce(values.data(), n, distributed::ReduceOp::sum);
                each.push_back(slowest(group, seconds_since(start)));
            }
            std::nth_element(each.begin(), each.begin() + each.size() / 2, each.end());
            bytes.push_back(4.0 * static_cast<double>(n));
            times.push_back(each[each.size() / 2]);
            if (group.is_main_process())
                std::printf("  %10.0f B  %9.1f us\n", bytes.back(), 1e6 * times.back());
        }
        // The ring model: t = 2 (p - 1) α + 2 (p - 1) / p · n β.  α from the smallest message; β the median over
        // the messages of 64 KB and more (a median, since a loaded machine stretches a few sizes).
        const double p = group.world_size(), rounds = 2 * (p - 1);
        const double alpha = times.front() / rounds;
        std::vector<double> betas;
        for (std::size_t k = 0; k < bytes.size(); ++k)
            if (bytes[k] >= 65536)
                betas.push_back((times[k] - rounds * alpha) / (rounds / p * bytes[k]));
        std::nth_element(betas.begin(), betas.begin() + betas.size() / 2, betas.end());
        const double beta = betas[betas.size() / 2];
        if (group.is_main_process() && p > 1)
        {
            std::printf("  alpha %.2f us, beta %.3f ns/B (%.1f GB/s) on %d processes\n", 1e6 * alpha, 1e9 * beta,
                        1 / beta / 1e9, group.world_size());
            // The model with these α and β for more processes, for the gradients of examples 05 and 06.
            const std::pair<const char*, double> models[] = {{"05 MLP, 235,146 floats", 4.0 * 235146},
                                                             {"06 CNN, 421,642 floats", 4.0 * 421642}};
            for (const auto& [name, gradient_bytes] : models)
                for (const double ranks : {8.0, 64.0, 512.0})
                    std::printf("  projected: %s on %3.0f processes: %.3f ms\n", name, ranks,
                                1e3 * (2 * (ranks - 1) * alpha + 2 * (ranks - 1) / ranks * gradient_bytes * beta));
        }
    }
}

int main(int argc, char** argv)
{
    return distributed::run_or_abort([&] {
        const std::string mode = argc > 1 ? argv[1] : "";
        if (mode != "throughput" && mode != "latency")
        {
            std::fprintf(stderr,
                         "usage: mpirun -np P xgrad_distributed_bench throughput [steps [bucket_bytes [thread 0|1]]] "
                         "| latency\n"
                         "(threads per process: XGRAD_NUM_THREADS)\n");
            return 2;
        }
        const distributed::ProcessGroup group;
        if (mode == "throughput")
            throughput(group, argc > 2 ? std::stoul(argv[2]) : 30,
                       argc > 3 ? std::stoul(argv[3]) : distributed::DataParallelOptions().bucket_bytes(),
                       argc > 4 ? std::string(argv[4]) != "0" : true);
        else
            latency(group);
        return 0;
    });
}
