// CommunicationThread: DistributedDataParallel's thread for the gradient all-reduces, so that they travel while
// backward goes on computing.  Open MPI moves a non-blocking transfer on only inside MPI calls, and the thread
// that runs backward makes none until backward ends; this one makes them meanwhile.  It needs
// MPI_THREAD_MULTIPLE (the training thread may call MPI at the same time, as SyncBatchNorm does), which xgrad
// asks for when it initialises MPI.
//   detail::CommunicationThread thread;
//   thread.start([group, bucket] { return group.start_all_reduce_sum(bucket->data(), bucket->size()); });
//   thread.wait_all();   // every started collective done, or the first one's exception rethrown here
#pragma once

#include <algorithm>
#include <chrono>
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

    // Runs non-blocking collectives one after another on a thread of its own, in the order they were queued (the
    // same on every process, as MPI requires of collectives on one communicator).  The thread starts each one
    // and then tests it, sleeping between tests (50 µs at first, doubling up to 1 ms) so that it takes little
    // of the cores backward computes on; once the training thread waits for it (wait_all: backward is over),
    // it waits inside MPI, which finishes the transfer soonest.  It sleeps on a condition variable while
    // nothing is queued.  A collective holds what it needs (its communicator, its buffer): the thread may
    // outlive this object (see the destructor).
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

        // Queues a collective (a function that starts it and returns its request) and returns at once.
        void start(std::function<Request()> collective)
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
            state_->waited_for = true;
            state_->work.notify_one();
            state_->done.wait(lock, [this] { return state_->finished == state_->started; });
            state_->waited_for = false;
            if (state_->error)
                std::rethrow_exception(state_->error);
        }

    private:
        struct State
        {
            std::mutex mutex;
            std::condition_variable work;   // something queued, stopping, or waited for
            std::condition_variable done;   // a collective finished
            std::deque<std::function<Request()>> queue;
            std::size_t started = 0, finished = 0;
            std::exception_ptr error;
            bool stopping = false;
            bool waited_for = false;   // the training thread is in wait_all()
        };

        // Tests the request until it is complete, sleeping between tests, or waits for it once the training
        // thread waits.  Called and returns with the lock held; MPI is called without it.
        static void drive(State& state, std::unique_lock<std::mutex>& lock, Request& request)
        {
            auto pause = std::chrono::microseconds(50);
            for (;;)
            {
                lock.unlock();
                const bool complete = request.test();
                lock.lock();
                if (complete)
                    return;
                if (state.waited_for)
                {
                    lock.unlock();
                    request.wait();
                    lock.lock();
                    return;
                }
                state.work.wait_for(lock, pause, [&state] { return state.waited_for; });
                pause = std::min<std::chrono::microseconds>(2 * pause, std::chrono::milliseconds(1));
            }
        }

        static void run(State& state)
        {
            std::unique_lock<std::mutex> lock(state.mutex);
            for (;;)
            {
                state.work.wait(lock, [&state] { return state.stopping || !state.queue.empty(); });
                if (state.queue.empty())
                    return;   // stopping, with nothing left to run
                const std::function<Request()> collective = std::move(state.queue.front());
                state.queue.pop_front();
                if (!state.error)
                {
                    try
                    {
                        lock.unlock();
                        Request request = collective();
                        lock.lock();
                        drive(state, lock, request);
                    }
                    catch (...)
                    {
                        if (!lock.owns_lock())
                            lock.lock();
                        state.error = std::current_exception();
                    }
                }
                ++state.finished;
                state.done.notify_all();
            }
        }

        std::shared_ptr<State> state_;
        std::thread thread_;
    };
}
