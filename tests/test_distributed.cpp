// Data-parallel training over MPI, run by CTest as `mpirun -np 2 test_distributed` (loopback and shared memory
// only): the collectives, DistributedDataParallel against one process on the whole batch, bucketing,
// no_sync, unused parameters, DistributedSampler, and (a case of its own, skipped unless selected) a rank
// that throws and must end the job.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

using namespace xgrad;
using distributed::DataParallelOptions;
using distributed::DistributedDataParallel;
using distributed::ProcessGroup;
using distributed::ReduceOp;

namespace
{
    // The job's group; each process keeps to one thread, so that two processes do not oversubscribe two cores.
    const ProcessGroup& group()
    {
        static const ProcessGroup world = [] {
            set_num_threads(1);
            return ProcessGroup();
        }();
        return world;
    }

    // Inputs and labels of one global batch, the same on every process.
    template <class T>
    struct GlobalBatch
    {
        xt::xarray<T> inputs;   // (64, ...)
        IndexArray labels;      // (64)
    };

    template <class T>
    GlobalBatch<T> global_batch(const Shape& example_shape, std::size_t classes, std::uint64_t seed)
    {
        Generator rng(seed);
        Shape shape{64};
        shape.insert(shape.end(), example_shape.begin(), example_shape.end());
        return {randn<T>(shape, rng).value(), randint(0, static_cast<std::int64_t>(classes), {64}, rng)};
    }

    // Rows [first, first + count) of a batch.
    template <class T>
    std::pair<Tensor<T>, IndexArray> rows(const GlobalBatch<T>& batch, std::size_t first, std::size_t count)
    {
        return {Tensor<T>(xt::xarray<T>(xt::view(batch.inputs, xt::range(first, first + count)))),
                IndexArray(xt::view(batch.labels, xt::range(first, first + count)))};
    }

    template <class T>
    using ModelFactory = std::function<std::shared_ptr<nn::Module<T>>()>;

    template <class T>
    std::shared_ptr<nn::Module<T>> mlp()
    {
        return std::make_shared<nn::Sequential<T>>(nn::Linear<T>(6, 16), nn::Tanh<T>(), nn::Linear<T>(16, 16),
                                                   nn::ReLU<T>(), nn::Linear<T>(16, 4));
    }

    // (N, 1, 8, 8) -> (N, 3)
    template <class T>
    std::shared_ptr<nn::Module<T>> cnn()
    {
        return std::make_shared<nn::Sequential<T>>(nn::Conv2d<T>(1, 4, 3, nn::Conv2dOptions().padding(1)),
                                                   nn::ReLU<T>(), nn::MaxPool2d<T>(2), nn::Flatten<T>(),
                                                   nn::Linear<T>(4 * 4 * 4, 3));
    }

    // (N, 1, 8, 8) -> (N, 3), with batch normalisation: SyncBatchNorm over the processes, or BatchNorm2d alone.
    template <class T, class Norm>
    std::shared_ptr<nn::Module<T>> cnn_with(Norm norm)
    {
        return std::make_shared<nn::Sequential<T>>(nn::Conv2d<T>(1, 4, 3, nn::Conv2dOptions().padding(1)),
                                                   std::move(norm), nn::ReLU<T>(), nn::MaxPool2d<T>(2),
                                                   nn::Flatten<T>(), nn::Linear<T>(4 * 4 * 4, 3));
    }
    template <class T>
    std::shared_ptr<nn::Module<T>> cnn_sync_batch_norm()
    {
        return cnn_with<T>(distributed::SyncBatchNorm<T>(4, group()));
    }
    template <class T>
    std::shared_ptr<nn::Module<T>> cnn_batch_norm()
    {
        return cnn_with<T>(nn::BatchNorm2d<T>(4));
    }

    struct Run
    {
        std::size_t steps = 4;
        std::size_t micro_batches = 1;   // per process and step; all but the last under no_sync()
        DataParallelOptions options;
    };

    // Trains `make_model` with SGD + momentum for `run.steps` steps, each step on the same global batch of 64
    // (each process its half), and returns the final parameters with the initial ones (rank 0's, after the
    // broadcast).
    template <class T>
    std::pair<nn::StateDict<T>, nn::StateDict<T>> train_data_parallel(const ModelFactory<T>& make_model,
                                                                      const GlobalBatch<T>& batch, const Run& run)
    {
        DistributedDataParallel<T> model(make_model(), group(), run.options);
        const nn::StateDict<T> initial = model.module().state_dict();
        optim::SGD<T> optimizer(model.parameters(), optim::SGDOptions(0.1).momentum(0.9));
        const std::size_t share = 64 / static_cast<std::size_t>(group().world_size());
        const std::size_t micro = share / run.micro_batches;
        for (std::size_t step = 0; step < run.steps; ++step)
        {
            optimizer.zero_grad();
            for (std::size_t m = 0; m < run.micro_batches; ++m)
            {
                const auto [inputs, labels] = rows(batch, group().rank() * share + m * micro, micro);
                const Tensor<T> scale(xt::xarray<T>(T(1) / static_cast<T>(run.micro_batches)));
                if (m + 1 < run.micro_batches)
                {
                    const auto local_only = model.no_sync();
                    mul(cross_entropy(model(inputs), labels), scale).backward();
                }
                else
                    mul(cross_entropy(model(inputs), labels), scale).backward();
            }
            optimizer.step();
        }
        return {model.module().state_dict(), initial};
    }

    // The same training in one process on the whole batch of 64, from the same initial parameters.
    template <class T>
    nn::StateDict<T> train_alone(const ModelFactory<T>& make_model, const GlobalBatch<T>& batch,
                                 const nn::StateDict<T>& initial, std::size_t steps)
    {
        const auto model = make_model();
        model->load_state_dict(initial);
        optim::SGD<T> optimizer(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));
        const auto [inputs, labels] = rows(batch, 0, 64);
        for (std::size_t step = 0; step < steps; ++step)
        {
            optimizer.zero_grad();
            cross_entropy((*model)(inputs), labels).backward();
            optimizer.step();
        }
        return model->state_dict();
    }

    template <class T>
    double largest_difference(const nn::StateDict<T>& a, const nn::StateDict<T>& b)
    {
        REQUIRE(a.size() == b.size());
        double largest = 0.0;
        for (const auto& [name, value] : a)
        {
            const auto& other = b.at(name);
            REQUIRE(value.shape() == other.shape());
            for (std::size_t k = 0; k < value.size(); ++k)
                largest = std::max(largest, std::abs(double(value.data()[k]) - double(other.data()[k])));
        }
        return largest;
    }

    // Data-parallel training on 2 × 32 ends where one process on 64 does, and moved away from the start.  The
    // process alone trains `make_reference` when given (BatchNorm2d for SyncBatchNorm), else the same model.
    template <class T>
    void check_matches_one_process(const ModelFactory<T>& make_model, const GlobalBatch<T>& batch, const Run& run,
                                   double tolerance, const ModelFactory<T>& make_reference = nullptr)
    {
        const auto parallel_and_initial = train_data_parallel(make_model, batch, run);
        const nn::StateDict<T>& parallel = parallel_and_initial.first;
        const nn::StateDict<T> alone =
            train_alone(make_reference ? make_reference : make_model, batch, parallel_and_initial.second, run.steps);
        CHECK(largest_difference(parallel, alone) <= tolerance);
        CHECK(largest_difference(parallel, parallel_and_initial.second) > 1e-3);
    }
}

TEST_CASE("collectives: all_reduce, broadcast, all_gather on tensors and arrays")
{
    const int rank = group().rank(), size = group().world_size();
    REQUIRE(size >= 1);

    Tensor<double> values(xt::xarray<double>{double(rank), 1.0, -double(rank)});
    group().all_reduce(values, ReduceOp::sum);
    const double rank_sum = size * (size - 1) / 2.0;
    CHECK(values.value() == xt::xarray<double>{rank_sum, double(size), -rank_sum});

    float raw[2] = {float(rank), 2.0f};
    group().all_reduce(raw, 2, ReduceOp::mean);
    CHECK(raw[0] == doctest::Approx(rank_sum / size));
    CHECK(raw[1] == 2.0f);
    group().all_reduce(raw, 2, ReduceOp::max);   // equal everywhere already
    CHECK(raw[1] == 2.0f);
    double mine[1] = {double(rank)};
    group().all_reduce(mine, 1, ReduceOp::max);
    CHECK(mine[0] == size - 1);

    const int root = size - 1;
    Tensor<float> broadcasted(xt::xarray<float>{float(rank), float(rank * 10)});
    group().broadcast(broadcasted, root);
    CHECK(broadcasted.value() == xt::xarray<float>{float(root), float(root * 10)});

    const Tensor<double> gathered = group().all_gather(Tensor<double>(xt::xarray<double>{{double(rank), 7.0}}));
    CHECK(gathered.shape() == Shape{std::size_t(size), 1, 2});
    for (int r = 0; r < size; ++r)
        CHECK(gathered.value()(r, 0, 0) == r);
    group().barrier();
}

TEST_CASE("collectives: bad arguments and MPI failures are typed errors")
{
    float value = 1.0f;
    CHECK_THROWS_AS(group().broadcast(&value, 1, group().world_size()), value_error);
    // MPI's own argument check, returned as a code (the communicator does not abort) and turned into mpi_error.
    CHECK_THROWS_WITH_AS(
        distributed::detail::check_mpi(
            MPI_Allreduce(MPI_IN_PLACE, &value, -1, MPI_FLOAT, MPI_SUM, group().communicator()), "all_reduce"),
        doctest::Contains("all_reduce: "), distributed::mpi_error);
    CHECK(group().same_on_every_process({1.0, -2.0}));
    CHECK(group().same_on_every_process({double(group().rank())}) == (group().world_size() == 1));
    if (group().world_size() > 1)   // shapes or models that differ between processes: every process throws
    {
        CHECK_THROWS_WITH_AS(
            DistributedDataParallel<double>(group().rank() == 0 ? mlp<double>() : cnn<double>(), group()),
            doctest::Contains("the processes hold different models"), value_error);
        const Tensor<float> uneven = zeros<float>({std::size_t(group().rank()) + 1});
        CHECK_THROWS_AS(group().all_gather(uneven), shape_error);
    }
}

TEST_CASE("all_reduce_sum: gradcheck and gradgradcheck, every process checking in step")
{
    // Each process perturbs the same element of its own input at the same moment, so the finite differences
    // see S = sum_r x_r move by world_size · eps; the backward sums every process's seed likewise.  For a
    // function that depends on the inputs through S alone, as here, the two agree.
    const Tensor<double> x(xt::xarray<double>{{0.3, -0.2, 0.1}, {0.05 * group().rank(), 0.4, -0.6}}, true);
    const auto f = [](const std::vector<Tensor<double>>& in) {
        return tanh(mul(distributed::all_reduce_sum(in[0], group()), 0.7));
    };
    CHECK(gradcheck(f, {x}));
    CHECK(gradgradcheck(f, {x}));
}

TEST_CASE("DistributedDataParallel: 2 processes x 32 end where 1 process x 64 does (MLP)")
{
    manual_seed(11 + static_cast<std::uint64_t>(group().rank()));   // different initial models: rank 0's wins
    check_matches_one_process<float>(mlp<float>, global_batch<float>({6}, 4, 1), Run(), 1e-6);
    check_matches_one_process<double>(mlp<double>, global_batch<double>({6}, 4, 2), Run(), 1e-12);
}

TEST_CASE("DistributedDataParallel: 2 processes x 32 end where 1 process x 64 does (CNN)")
{
    manual_seed(21 + static_cast<std::uint64_t>(group().rank()));
    check_matches_one_process<float>(cnn<float>, global_batch<float>({1, 8, 8}, 3, 3), Run(), 1e-6);
    check_matches_one_process<double>(cnn<double>, global_batch<double>({1, 8, 8}, 3, 4), Run(), 1e-12);
}

TEST_CASE("SyncBatchNorm: 2 processes x 32 end where BatchNorm2d in 1 process x 64 does (CNN)")
{
    manual_seed(51);   // parameters, running statistics and the batch counter all compared
    check_matches_one_process<float>(cnn_sync_batch_norm<float>, global_batch<float>({1, 8, 8}, 3, 8), Run(), 1e-6,
                                     cnn_batch_norm<float>);
    check_matches_one_process<double>(cnn_sync_batch_norm<double>, global_batch<double>({1, 8, 8}, 3, 9), Run(), 1e-12,
                                      cnn_batch_norm<double>);
    nn::SyncBatchNorm<double> norm(3, group());
    CHECK(norm.named_buffers().size() == 3);
    CHECK_THROWS_AS(norm(zeros<double>({2, 4, 5})), shape_error);
    norm.eval();   // evaluation: the running statistics, no communication
    CHECK(norm(ones<double>({1, 3})).value() == xt::xarray<double>{{1.0, 1.0, 1.0}} / std::sqrt(1.0 + 1e-5));
}

namespace
{
    // cnn_batch_norm's layers with the convolution and its BatchNorm2d nested in a Sequential of their own.
    template <class T>
    std::shared_ptr<nn::Sequential<T>> nested_cnn_batch_norm()
    {
        auto model = std::make_shared<nn::Sequential<T>>();
        model->push_back(std::make_shared<nn::Sequential<T>>(nn::Conv2d<T>(1, 4, 3, nn::Conv2dOptions().padding(1)),
                                                             nn::BatchNorm2d<T>(4)));
        model->push_back(nn::ReLU<T>());
        model->push_back(nn::MaxPool2d<T>(2));
        model->push_back(nn::Flatten<T>());
        model->push_back(nn::Linear<T>(4 * 4 * 4, 3));
        return model;
    }

    // A BatchNorm held by a module of its own kind, which calls it from a member.
    struct HoldsBatchNorm : nn::Module<double>
    {
        HoldsBatchNorm() { norm = register_module("norm", std::make_shared<nn::BatchNorm1d<double>>(2)); }
        Tensor<double> forward(const Tensor<double>& x) override { return (*norm)(x); }
        std::string type_name() const override { return "HoldsBatchNorm"; }
        std::shared_ptr<nn::BatchNorm1d<double>> norm;
    };
}

TEST_CASE("convert_sync_batch_norm: BatchNorm layers become SyncBatchNorm with their weights and statistics")
{
    manual_seed(71);
    // A model whose batch norm has trained a little: weights and running statistics away from their defaults.
    const auto original = nested_cnn_batch_norm<double>();
    {
        optim::SGD<double> optimizer(original->parameters(), optim::SGDOptions(0.1));
        const auto batch = global_batch<double>({1, 8, 8}, 3, 12);
        const auto [inputs, labels] = rows(batch, 0, 64);
        cross_entropy((*original)(inputs), labels).backward();
        optimizer.step();
    }
    const nn::StateDict<double> before = original->state_dict();
    const auto converted = distributed::convert_sync_batch_norm<double>(original, group());
    CHECK(converted == original);   // a Sequential is converted in place
    const auto& inner = dynamic_cast<nn::Sequential<double>&>((*original)[0]);
    CHECK(inner[1].type_name() == "SyncBatchNorm");
    CHECK(inner[1].extra_repr() == "4, eps=1e-05, momentum=0.1, affine=true");
    CHECK(largest_difference(converted->state_dict(), before) == 0.0);   // same names, same values
    CHECK(before.at("0.1.num_batches_tracked")() == 1.0);

    // A BatchNorm alone becomes a SyncBatchNorm; a module without one is returned as it is.
    auto alone = std::make_shared<nn::BatchNorm1d<float>>(3, 1e-3, 0.2);
    alone->eval();
    const auto synced = distributed::convert_sync_batch_norm<float>(alone, group());
    CHECK(synced->type_name() == "SyncBatchNorm");
    CHECK_FALSE(synced->is_training());
    CHECK(dynamic_cast<distributed::SyncBatchNorm<float>&>(*synced).momentum() == 0.2);
    const auto plain = mlp<float>();
    CHECK(distributed::convert_sync_batch_norm(plain, group()) == plain);
    CHECK_THROWS_WITH_AS(distributed::convert_sync_batch_norm<double>(std::make_shared<HoldsBatchNorm>(), group()),
                         doctest::Contains("'norm' is inside HoldsBatchNorm"), value_error);
    auto mixed = std::make_shared<nn::Sequential<double>>();
    mixed->push_back(nn::BatchNorm1d<double>(2));
    mixed->push_back(std::make_shared<HoldsBatchNorm>());
    CHECK_THROWS_WITH_AS(distributed::convert_sync_batch_norm<double>(mixed, group()),
                         doctest::Contains("'1.norm' is inside HoldsBatchNorm '1'"), value_error);
    CHECK((*mixed)[0].type_name() == "BatchNorm1d");   // converted whole or not at all

    // The converted model trains on 2 × 32 as the BatchNorm2d model on 64 in one process.
    manual_seed(72);
    const ModelFactory<double> make_converted = [] {
        return distributed::convert_sync_batch_norm<double>(nested_cnn_batch_norm<double>(), group());
    };
    check_matches_one_process<double>(make_converted, global_batch<double>({1, 8, 8}, 3, 13), Run(), 1e-12, [] {
        return std::static_pointer_cast<nn::Module<double>>(nested_cnn_batch_norm<double>());
    });
}

TEST_CASE("DistributedDataParallel: bucket boundaries and no_sync accumulation do not change the result")
{
    manual_seed(31);
    const auto batch = global_batch<double>({6}, 4, 5);
    Run tiny_buckets;
    tiny_buckets.options.bucket_bytes(1);   // a bucket per parameter
    CHECK(DistributedDataParallel<double>(mlp<double>(), group(), tiny_buckets.options).bucket_count() == 6);
    CHECK(DistributedDataParallel<double>(mlp<double>(), group()).bucket_count() == 1);
    // Backward finishes 4, 64, 16, 256, 16, 96 values; a bucket closes once it holds 80: the last layer and the
    // middle bias; the middle weight; the first layer.
    Run middle_buckets;
    middle_buckets.options.bucket_bytes(80 * sizeof(double));
    CHECK(DistributedDataParallel<double>(mlp<double>(), group(), middle_buckets.options).bucket_count() == 3);
    // A small first bucket, then large ones: the last layer; everything else.
    Run small_first_bucket;
    small_first_bucket.options.first_bucket_bytes(68 * sizeof(double)).bucket_bytes(1000 * sizeof(double));
    CHECK(DistributedDataParallel<double>(mlp<double>(), group(), small_first_bucket.options).bucket_count() == 2);
    Run accumulated;
    accumulated.micro_batches = 2;   // 2 × 16 per process and step, the first under no_sync()
    for (const Run& run : {tiny_buckets, middle_buckets, small_first_bucket, accumulated})
        check_matches_one_process<double>(mlp<double>, batch, run, 1e-12);
    // Not only close but bit-identical, on the thread or not: on two processes each value's sum is one addition
    // (commutative, so the same on both), wherever the bucket boundaries fall.
    Run tiny_buckets_hooks_alone = tiny_buckets;
    tiny_buckets_hooks_alone.options.communication_thread(false);
    std::vector<nn::StateDict<double>> trained;
    for (const Run& run : {Run(), tiny_buckets, middle_buckets, tiny_buckets_hooks_alone})
    {
        manual_seed(32);
        trained.push_back(train_data_parallel<double>(mlp<double>, batch, run).first);
    }
    if (group().world_size() <= 2)
        for (std::size_t k = 1; k < trained.size(); ++k)
            CHECK(largest_difference(trained[k], trained[0]) == 0.0);
    CHECK_THROWS_AS(
        DistributedDataParallel<double>(mlp<double>(), group(), DataParallelOptions().first_bucket_bytes(0)),
        value_error);
}

TEST_CASE("DistributedDataParallel: the communication thread and the hooks alone both end where one process does")
{
    // xgrad initialised MPI at MPI_THREAD_MULTIPLE, so the buckets travel on the communication thread by default.
    CHECK(DistributedDataParallel<float>(mlp<float>(), group()).overlaps_communication());
    Run hooks_alone, threaded_buckets;
    hooks_alone.options.communication_thread(false).bucket_bytes(1);
    threaded_buckets.options.bucket_bytes(1);   // a bucket per parameter, so several are in flight at once
    CHECK_FALSE(DistributedDataParallel<float>(mlp<float>(), group(), hooks_alone.options).overlaps_communication());
    manual_seed(61 + static_cast<std::uint64_t>(group().rank()));
    for (const Run& run : {hooks_alone, threaded_buckets})
    {
        check_matches_one_process<float>(cnn<float>, global_batch<float>({1, 8, 8}, 3, 10), run, 1e-6);
        check_matches_one_process<double>(cnn<double>, global_batch<double>({1, 8, 8}, 3, 11), run, 1e-12);
    }
}

TEST_CASE("CommunicationThread: collectives run in order on another thread, and the first failure reaches wait_all")
{
    distributed::detail::CommunicationThread thread;
    std::vector<int> order;   // written by the thread, read here after wait_all
    std::thread::id where;
    for (int k = 0; k < 3; ++k)
        thread.start([&order, &where, k] {
            order.push_back(k);
            where = std::this_thread::get_id();
            return distributed::Request();   // nothing under way
        });
    thread.wait_all();
    CHECK(order == std::vector<int>{0, 1, 2});
    CHECK(where != std::this_thread::get_id());
    // A real transfer, driven by the thread while this one does other work.
    std::vector<double> values{1.0, double(group().rank())};
    const ProcessGroup own(group().communicator());
    thread.start([&own, &values] { return own.start_all_reduce_sum(values.data(), values.size()); });
    thread.wait_all();
    const int size = group().world_size();
    CHECK(values == std::vector<double>{double(size), size * (size - 1) / 2.0});
    thread.start([]() -> distributed::Request { throw distributed::mpi_error("all_reduce: a lost connection"); });
    thread.start([&order] {   // skipped: the processes no longer agree
        order.push_back(3);
        return distributed::Request();
    });
    CHECK_THROWS_WITH_AS(thread.wait_all(), "all_reduce: a lost connection", distributed::mpi_error);
    CHECK_THROWS_AS(thread.wait_all(), distributed::mpi_error);
    CHECK(order.size() == 3);
}

namespace
{
    // Two layers, of which forward uses the first only.
    struct HalfUsed : nn::Module<double>
    {
        HalfUsed()
        {
            used = register_module("used", std::make_shared<nn::Linear<double>>(3, 2));
            unused = register_module("unused", std::make_shared<nn::Linear<double>>(3, 2));
        }
        Tensor<double> forward(const Tensor<double>& x) override { return (*used)(x); }
        std::string type_name() const override { return "HalfUsed"; }
        std::shared_ptr<nn::Linear<double>> used, unused;
    };
}

TEST_CASE("DistributedDataParallel: parameters without a gradient are averaged as zeros, or named")
{
    const Tensor<double> x(xt::xarray<double>{{1.0, 2.0, double(group().rank())}});
    {
        DistributedDataParallel<double> model(std::make_shared<HalfUsed>(), group(),
                                              DataParallelOptions().find_unused_parameters(true));
        sum(model(x)).backward();
        const auto parameters = model.named_parameters();
        for (const auto& named : parameters)
        {
            REQUIRE(named.second.has_grad());
            const bool unused = named.first.find("unused") != std::string::npos;
            CHECK((xt::amax(xt::abs(named.second.grad()))() == 0.0) == unused);
        }
        // Averaged: d sum(W x + b)/dW = x, whose last entry is the rank, so its mean is the mean rank.
        const auto& weight_grad = model.named_parameters().front().second.grad();
        CHECK(weight_grad(0, 2) == doctest::Approx((group().world_size() - 1) / 2.0));
        model(x);
        CHECK_NOTHROW(model(x));   // a forward without a backward is no error
    }
    DistributedDataParallel<double> model(std::make_shared<HalfUsed>(), group());
    sum(model(x)).backward();
    CHECK_THROWS_WITH_AS(model(x), doctest::Contains("'unused.weight', 'unused.bias'"), autograd_error);
}

TEST_CASE("DistributedSampler shards as PyTorch's: equal shares, padded or dropped, shuffled by seed + epoch")
{
    const auto shares = [](std::size_t n, data::DistributedSamplerOptions options, std::size_t epoch) {
        std::vector<std::vector<std::size_t>> all;
        for (std::size_t rank = 0; rank < 3; ++rank)
            all.push_back(data::DistributedSampler(3, rank, options).indices(n, epoch));
        return all;
    };
    // In order, 10 examples on 3 processes: 4 each, the order padded from its start (0, 1).
    const auto padded = shares(10, {false, 0, false}, 0);
    CHECK(padded[0] == std::vector<std::size_t>{0, 3, 6, 9});
    CHECK(padded[1] == std::vector<std::size_t>{1, 4, 7, 0});
    CHECK(padded[2] == std::vector<std::size_t>{2, 5, 8, 1});
    const auto dropped = shares(10, {false, 0, true}, 0);
    CHECK(dropped[2] == std::vector<std::size_t>{2, 5, 8});
    CHECK(data::DistributedSampler(3, 0, {false, 0, true}).length(10) == 3);

    // Shuffled: together the shares hold every example once (9 = 3 × 3, no padding); another epoch, another order.
    const auto epoch0 = shares(9, {true, 7, false}, 0), epoch1 = shares(9, {true, 7, false}, 1);
    std::multiset<std::size_t> seen;
    for (const auto& share : epoch0)
        seen.insert(share.begin(), share.end());
    CHECK(seen == std::multiset<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(epoch0 != epoch1);
    CHECK(epoch0 == shares(9, {true, 7, false}, 0));

    CHECK_THROWS_AS(data::DistributedSampler(2, 2), value_error);

    // In a DataLoader: its batches follow the sampler's share, and each begin() is the next epoch.
    xt::xarray<float> inputs = xt::arange<float>(10.0f).reshape({10, 1});
    const data::TensorDataset<float> dataset(inputs, xt::arange<std::int64_t>(10));
    data::DataLoaderOptions options;
    options.batch_size = 3;
    options.sampler =
        std::make_shared<data::DistributedSampler>(3, 1, data::DistributedSamplerOptions{false, 0, false});
    data::DataLoader<float> loader(dataset, options);
    CHECK(loader.size() == 2);
    std::vector<float> visited;
    for (const auto& batch : loader)
        for (float value : batch.inputs.value())
            visited.push_back(value);
    CHECK(visited == std::vector<float>{1, 4, 7, 0});
    CHECK(loader.epoch() == 1);
    options.shuffle = true;
    CHECK_THROWS_AS(data::DataLoader<float>(dataset, options), value_error);
}

// Selected by its own CTest entry (`--test-case='*throws*' --no-skip`): rank 1 fails in the middle of its third
// backward, with buckets under way on the communication threads, while rank 0 waits for it; the job must end
// within seconds with rank 1's message.
TEST_CASE("a rank that throws mid-epoch ends the whole job with its message" * doctest::skip())
{
    distributed::run_or_abort([] {
        const auto batch = global_batch<float>({6}, 4, 6);
        // A bucket per parameter: when the first layer's weight gets its gradient (the last of backward), the
        // others have been queued.
        DistributedDataParallel<float> model(mlp<float>(), group(), DataParallelOptions().bucket_bytes(1));
        optim::SGD<float> optimizer(model.parameters(), optim::SGDOptions(0.1));
        int step = 0;
        HookHandle failure;
        if (group().rank() == 1)
            failure = model.parameters().front().register_hook([&step](const Tensor<float>&) -> Tensor<float> {
                if (step == 3)
                    throw value_error("deliberate failure at step 3");
                return Tensor<float>();
            });
        for (; step < 1000; ++step)
        {
            const auto [inputs, labels] = rows(batch, 0, 32);
            optimizer.zero_grad();
            cross_entropy(model(inputs), labels).backward();
            optimizer.step();
        }
    });
    FAIL("the job should have ended");
}

// Selected by its own CTest entry (`--test-case='*below MPI_THREAD_MULTIPLE*' --no-skip`): the program initialises
// MPI itself at MPI_THREAD_SERIALIZED, before any ProcessGroup, and xgrad adopts its MPI_COMM_WORLD.
TEST_CASE("MPI initialised below MPI_THREAD_MULTIPLE: no communication thread, the same results" * doctest::skip())
{
    int provided = MPI_THREAD_SINGLE;
    REQUIRE(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) == MPI_SUCCESS);
    REQUIRE(provided < MPI_THREAD_MULTIPLE);
    CHECK_FALSE(distributed::detail::mpi_thread_multiple());
    CHECK_FALSE(DistributedDataParallel<double>(mlp<double>(), group()).overlaps_communication());
    manual_seed(81 + static_cast<std::uint64_t>(group().rank()));
    Run several_buckets;
    several_buckets.options.bucket_bytes(1);
    check_matches_one_process<double>(cnn<double>, global_batch<double>({1, 8, 8}, 3, 14), several_buckets, 1e-12);
    MPI_Finalize();   // the program's to do, as it initialised MPI
}

namespace
{
    // Stops the run after its first epoch, on the process it runs on.
    struct StopAfterFirstEpoch : train::Callback
    {
        void on_epoch_end(train::RunState& state, train::Logs&) override { state.stop_training = true; }
    };
}

TEST_CASE("fit under DistributedDataParallel: callbacks on the main process, figures of all, one stop decision")
{
    manual_seed(41);
    const auto batch = global_batch<float>({6}, 4, 7);
    const data::TensorDataset<float> dataset(batch.inputs, batch.labels);
    data::DataLoaderOptions loader_options;
    loader_options.batch_size = 8;
    loader_options.sampler = distributed::distributed_sampler(group(), {true, 3, false});
    data::DataLoader<float> loader(dataset, loader_options);
    DistributedDataParallel<float> model(mlp<float>(), group());
    optim::SGD<float> optimizer(model.parameters(), optim::SGDOptions(0.1));
    std::ostringstream progress;
    train::FitOptions<float, IndexArray> options;
    options.epochs = 3;
    options.validation = &loader;
    options.callbacks = {std::make_shared<train::ProgressBar>(progress, false),
                         std::make_shared<StopAfterFirstEpoch>()};
    options.processes = distributed::fit_processes(group());
    const auto loss = [](const Tensor<float>& logits, const IndexArray& labels) {
        return cross_entropy(logits, labels);
    };
    const auto history = train::fit(model, loss, optimizer, loader, options);

    CHECK(history.size() == 1);   // the main process decided, every process stopped
    CHECK(progress.str().empty() == !group().is_main_process());
    // The figures are the whole data set's: the same on every process.
    std::vector<double> figures{history[0].at("loss"), history[0].at("accuracy"), history[0].at("val_loss")};
    const std::vector<double> everywhere = group().all_gather(figures.data(), figures.size());
    for (std::size_t k = 0; k < everywhere.size(); ++k)
        CHECK(everywhere[k] == figures[k % figures.size()]);
}
