// ProcessGroup: the processes of one MPI job, and the collectives data-parallel training needs (all-reduce,
// broadcast, all-gather, barrier) on tensors and on plain arrays of float or double.  Every MPI call's return
// code is checked and a failure becomes a typed distributed::mpi_error; run_or_abort ends the whole job when
// one process throws, so that the others are not left waiting in a collective it will never join.
//   int main() { return distributed::run_or_abort([] { distributed::ProcessGroup group; ...; return 0; }); }
#pragma once

// The MPI C API only: the deprecated C++ bindings, which mpi.h would also declare, are left out.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/tensor.hpp"
#include "../error.hpp"

namespace xgrad::distributed
{
    // An MPI call failed (a broken connection, a process that died, a message that does not fit).
    class mpi_error : public error
    {
    public:
        using error::error;
    };

    enum class ReduceOp
    {
        sum,
        mean,   // the sum divided by the number of processes
        max
    };

    namespace detail
    {
        // "what: MPI's own description of the error code".
        inline void check_mpi(int code, const char* what)
        {
            if (code == MPI_SUCCESS)
                return;
            char text[MPI_MAX_ERROR_STRING];
            int length = 0;
            if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
                length = std::snprintf(text, sizeof text, "MPI error code %d", code);
            throw mpi_error(std::string(what) + ": " + std::string(text, static_cast<std::size_t>(length)));
        }

        template <class T>
        MPI_Datatype mpi_datatype()
        {
            static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value,
                          "xgrad::distributed sends float or double arrays");
            return std::is_same<T, float>::value ? MPI_FLOAT : MPI_DOUBLE;
        }

        // MPI counts are ints: a larger array is refused rather than silently truncated.
        inline int mpi_count(std::size_t n, const char* what)
        {
            if (n > static_cast<std::size_t>(INT_MAX))
                throw value_error(std::string(what) + ": " + std::to_string(n) +
                                  " elements is more than one MPI message holds (" + std::to_string(INT_MAX) + ")");
            return static_cast<int>(n);
        }

        // Initialises MPI from mpirun's environment unless the program already did (then it also finalizes
        // it); when xgrad initialised it, MPI_Finalize runs at exit.  A program started without mpirun is a
        // job of one process.
        inline void ensure_mpi_initialized()
        {
            int initialized = 0;
            check_mpi(MPI_Initialized(&initialized), "MPI_Initialized");
            if (initialized)
                return;
            // DistributedDataParallel's communication thread calls MPI while the training thread may too.  An MPI
            // that provides less still works, without that thread (detail::mpi_thread_multiple()).
            int provided = 0;
            check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
            std::atexit([] {
                int finalized = 0;
                if (MPI_Finalized(&finalized) == MPI_SUCCESS && !finalized)
                    MPI_Finalize();
            });
        }

        // A communicator of our own: duplicated, so that xgrad's messages never match the user's, and set to
        // return errors instead of aborting, so that each becomes an mpi_error.
        class OwnedCommunicator
        {
        public:
            explicit OwnedCommunicator(MPI_Comm parent)
            {
                check_mpi(MPI_Comm_dup(parent, &comm_), "MPI_Comm_dup");
                check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
                check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
                check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
            }
            OwnedCommunicator(const OwnedCommunicator&) = delete;
            OwnedCommunicator& operator=(const OwnedCommunicator&) = delete;
            ~OwnedCommunicator()
            {
                int finalized = 0;
                if (MPI_Finalized(&finalized) == MPI_SUCCESS && !finalized)
                    MPI_Comm_free(&comm_);
            }

            MPI_Comm comm_ = MPI_COMM_NULL;
            int rank_ = 0;
            int size_ = 1;
        };
    }

    // A non-blocking collective under way: wait() returns when it is done (and throws mpi_error if it failed).
    class Request
    {
    public:
        Request() = default;
        explicit Request(MPI_Request request) : request_(request) {}
        // One owner per transfer: a moved-from request has nothing left to wait for.
        Request(Request&& other) noexcept : request_(std::exchange(other.request_, MPI_REQUEST_NULL)) {}
        Request& operator=(Request&& other) noexcept
        {
            std::swap(request_, other.request_);
            return *this;
        }
        Request(const Request&) = delete;
        Request& operator=(const Request&) = delete;

        // Lets MPI move the transfer on (Open MPI progresses non-blocking collectives only inside MPI calls);
        // true once it is complete.
        bool test()
        {
            if (request_ == MPI_REQUEST_NULL)
                return true;
            int done = 0;
            detail::check_mpi(MPI_Test(&request_, &done, MPI_STATUS_IGNORE), "MPI_Test");
            return done != 0;
        }
        void wait()
        {
            if (request_ != MPI_REQUEST_NULL)
                detail::check_mpi(MPI_Wait(&request_, MPI_STATUS_IGNORE), "MPI_Wait");
        }

    private:
        MPI_Request request_ = MPI_REQUEST_NULL;
    };

    // The processes of a job.  Copies share one communicator.
    class ProcessGroup
    {
    public:
        // Every process mpirun started (MPI initialised here when the program has not done it).
        ProcessGroup() : ProcessGroup((detail::ensure_mpi_initialized(), MPI_COMM_WORLD)) {}
        // The processes of a communicator the program already has (MPI must be initialised); xgrad works on a
        // duplicate of it.
        explicit ProcessGroup(MPI_Comm communicator) : comm_(std::make_shared<detail::OwnedCommunicator>(communicator))
        {}

        int rank() const { return comm_->rank_; }
        int world_size() const { return comm_->size_; }
        bool is_main_process() const { return rank() == 0; }
        MPI_Comm communicator() const { return comm_->comm_; }

        void barrier() const { detail::check_mpi(MPI_Barrier(communicator()), "barrier"); }

        // data[i] = op over the processes of data[i], in place, on every process.
        template <class T>
        void all_reduce(T* data, std::size_t n, ReduceOp op) const
        {
            const MPI_Op mpi_op = op == ReduceOp::max ? MPI_MAX : MPI_SUM;
            detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, data, detail::mpi_count(n, "all_reduce"),
                                            detail::mpi_datatype<T>(), mpi_op, communicator()),
                              "all_reduce");
            if (op == ReduceOp::mean)
                for (std::size_t i = 0; i < n; ++i)
                    data[i] /= static_cast<T>(world_size());
        }
        template <class T>
        void all_reduce(const Tensor<T>& tensor, ReduceOp op) const
        {
            all_reduce(tensor.mutable_value().data(), tensor.numel(), op);
        }

        // Starts data[i] = sum over the processes of data[i], in place; the data must stay untouched until the
        // request's wait() returns.
        template <class T>
        Request start_all_reduce_sum(T* data, std::size_t n) const
        {
            MPI_Request request = MPI_REQUEST_NULL;
            detail::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data, detail::mpi_count(n, "start_all_reduce_sum"),
                                             detail::mpi_datatype<T>(), MPI_SUM, communicator(), &request),
                              "start_all_reduce_sum");
            return Request(request);
        }

        // Whether every process passed the same values (as many everywhere): their largest and their smallest
        // over the processes are then equal.  Every process gets the same answer.
        bool same_on_every_process(std::vector<double> values) const
        {
            std::vector<double> negated(values.size());
            for (std::size_t i = 0; i < values.size(); ++i)
                negated[i] = -values[i];
            all_reduce(values.data(), values.size(), ReduceOp::max);
            all_reduce(negated.data(), negated.size(), ReduceOp::max);
            for (std::size_t i = 0; i < values.size(); ++i)
                if (values[i] != -negated[i])
                    return false;
            return true;
        }

        // data = root's data, on every process.
        template <class T>
        void broadcast(T* data, std::size_t n, int root = 0) const
        {
            check_root(root);
            detail::check_mpi(
                MPI_Bcast(data, detail::mpi_count(n, "broadcast"), detail::mpi_datatype<T>(), root, communicator()),
                "broadcast");
        }
        template <class T>
        void broadcast(const Tensor<T>& tensor, int root = 0) const
        {
            broadcast(tensor.mutable_value().data(), tensor.numel(), root);
        }

        // Every process's n values, in rank order: (world_size * n) values on every process.  n must be the
        // same everywhere.
        template <class T>
        std::vector<T> all_gather(const T* data, std::size_t n) const
        {
            std::vector<T> gathered(n * static_cast<std::size_t>(world_size()));
            const int count = detail::mpi_count(n, "all_gather");
            detail::check_mpi(MPI_Allgather(data, count, detail::mpi_datatype<T>(), gathered.data(), count,
                                            detail::mpi_datatype<T>(), communicator()),
                              "all_gather");
            return gathered;
        }
        // Every process's tensor stacked along a new first dimension: (world_size, ...shape).  The shapes must
        // be the same everywhere: a process whose shape differs from rank 0's makes every process throw.
        template <class T>
        Tensor<T> all_gather(const Tensor<T>& tensor) const
        {
            if (tensor.ndim() > 8)
                throw shape_error("all_gather: at most 8 dimensions, got " + shape_string(tensor.shape()));
            std::vector<double> shape(9, -1.0);   // (ndim, extents..., -1 padding)
            shape[0] = static_cast<double>(tensor.ndim());
            for (std::size_t d = 0; d < tensor.ndim(); ++d)
                shape[d + 1] = static_cast<double>(tensor.shape(static_cast<std::ptrdiff_t>(d)));
            if (!same_on_every_process(shape))
                throw shape_error("all_gather: the processes hold tensors of different shapes (this one: " +
                                  shape_string(tensor.shape()) + ")");
            std::vector<T> gathered = all_gather(tensor.value().data(), tensor.numel());
            Shape stacked = tensor.shape();
            stacked.insert(stacked.begin(), static_cast<std::size_t>(world_size()));
            auto values = Tensor<T>::array_type::from_shape(stacked);
            std::copy(gathered.begin(), gathered.end(), values.begin());
            return Tensor<T>(std::move(values));
        }

    private:
        void check_root(int root) const
        {
            if (root < 0 || root >= world_size())
                throw value_error("broadcast: root " + std::to_string(root) + " is not a rank of a group of " +
                                  std::to_string(world_size()));
        }

        std::shared_ptr<detail::OwnedCommunicator> comm_;
    };

    // Runs body() and returns what it returns (an int exit code, or 0).  When it throws, prints
    // "rank R: message" to stderr and ends every process of the job with MPI_Abort: the others may be waiting
    // in a collective this process will never join, and would otherwise wait forever.
    template <class Body>
    int run_or_abort(Body&& body)
    {
        try
        {
            detail::ensure_mpi_initialized();
            if constexpr (std::is_void_v<std::invoke_result_t<Body&>>)
            {
                body();
                return 0;
            }
            else
                return body();
        }
        catch (const std::exception& failure)
        {
            int rank = -1, initialized = 0;
            MPI_Initialized(&initialized);
            if (initialized)
                MPI_Comm_rank(MPI_COMM_WORLD, &rank);
            std::fprintf(stderr, "rank %d: %s\n", rank, failure.what());
            std::fflush(stderr);
            if (initialized)
                MPI_Abort(MPI_COMM_WORLD, 1);
            return 1;
        }
    }
}
