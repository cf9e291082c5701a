// CommunicationThread: DistributedDataParallel's thread for the gradient all-reduces, so that they travel while
// backward goes on computing.  Open MPI moves a transfer on only while some thread is inside an MPI call, and
// the thread that runs backward makes none until backward ends; this one spends its time in the all-reduce.
// It needs MPI_THREAD_MULTIPLE (the training thread may call MPI meanwhile, as SyncBatchNorm does), which xgrad
// asks for when it initialises MPI.
//   detail::CommunicationThread thread;
//   thread.start([group, bucket] { group.all_reduce(bucket->data(), bucket->size(), ReduceOp::sum); });
//   thread.wait_all();   // every started collective done, or the first one's exception rethrown here
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "process_group.hpp"

namespace xgrad::distributed::detail
{
    // Whether MPI lets several threads call it at once: true when xgrad initialised MPI (it asks for
    // MPI_THREAD_MULTIPLE, which Open MPI provides), false when the program initialised it at a lower level.
    inline bool mpi_thread_multiple()
    {
        int level = MPI_THREAD_SINGLE;
        check_mpi(MPI_Query_thread(&level), "MPI_Query_thread");
        return level == MPI_THREAD_MULTIPLE;
    }

    // Runs collectives one after another on a thread of its own, in the order they were started (the same on
    // every process, as MPI requires of collectives on one communicator).  The thread sleeps on a condition
    // variable while nothing is queued.  A collective holds what it needs (its communicator, its buffer): the
    // thread may outlive this object (see the destructor).
    class CommunicationThread
    {
    public:
        CommunicationThread() : state_(std::make_shared<State>()), thread_([state = state_] { run(*state); }) {}
        CommunicationThread(const CommunicationThread&) = delete;
        CommunicationThread& operator=(const CommunicationThread&) = delete;

        // An idle thread is joined.  A thread still in a collective (an exception left backward before its
        // wait, so the other processes may never join that collective) is left to finish on its own: joining
        // it could wait forever, and run_or_abort must get to MPI_Abort.
        ~CommunicationThread()
        {
            bool busy = false;
            {
                const std::lock_guard<std::mutex> lock(state_->mutex);
                state_->stopping = true;
                busy = state_->finished != state_->started;
            }
            state_->work.notify_one();
            if (busy)
                thread_.detach();
            else
                thread_.join();
        }

        // Queues a collective and returns at once.
        void start(std::function<void()> collective)
        {
            {
                const std::lock_guard<std::mutex> lock(state_->mutex);
                state_->queue.push_back(std::move(collective));
                ++state_->started;
            }
            state_->work.notify_one();
        }

        // Returns when every started collective has finished; rethrows the first one's exception (an mpi_error)
        // if one failed, then and at every later call: after a failure the collectives that follow are
        // skipped, since the processes no longer agree on where they are.
        void wait_all()
        {
            std::unique_lock<std::mutex> lock(state_->mutex);
            state_->done.wait(lock, [this] { return state_->finished == state_->started; });
            if (state_->error)
                std::rethrow_exception(state_->error);
        }

    private:
        struct State
        {
            std::mutex mutex;
            std::condition_variable work;   // something queued, or stopping
            std::condition_variable done;   // a collective finished
            std::deque<std::function<void()>> queue;
            std::size_t started = 0, finished = 0;
            std::exception_ptr error;
            bool stopping = false;
        };

        static void run(State& state)
        {
            std::unique_lock<std::mutex> lock(state.mutex);
            for (;;)
            {
                state.work.wait(lock, [&state] { return state.stopping || !state.queue.empty(); });
                if (state.queue.empty())
                    return;   // stopping, with nothing left to run
                const std::function<void()> collective = std::move(state.queue.front());
                state.queue.pop_front();
                const bool skip = state.error != nullptr;
                lock.unlock();
                std::exception_ptr failure;
                if (!skip)
                {
                    try
                    {
                        collective();
                    }
                    catch (...)
                    {
                        failure = std::current_exception();
                    }
                }
                lock.lock();
                if (failure)
                    state.error = failure;
                ++state.finished;
                state.done.notify_all();
            }
        }

        std::shared_ptr<State> state_;
        std::thread thread_;
    };
}
