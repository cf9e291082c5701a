// The process-wide thread pool and parallel_for, which splits an index range into one chunk per thread.
// Small work, a single thread, and calls made from inside a chunk run inline on the caller.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "error.hpp"

namespace xgrad
{
    namespace detail
    {
        // True on a pool worker and on a caller while it runs its own chunk: parallel_for there runs inline,
        // so nesting never waits on the pool it is part of.
        inline bool& inside_parallel_region()
        {
            thread_local bool inside = false;
            return inside;
        }

        // XGRAD_NUM_THREADS if it holds a positive integer, else the hardware count (at least 1).
        inline std::size_t default_num_threads()
        {
            const char* text = std::getenv("XGRAD_NUM_THREADS");
            if (text != nullptr && '0' <= text[0] && text[0] <= '9')   // strtoull would also take "-1"
            {
                char* text_end = nullptr;
                const unsigned long long requested = std::strtoull(text, &text_end, 10);
                if (text_end != text && *text_end == '\0' && requested > 0)
                    return static_cast<std::size_t>(requested);
            }
            return std::max<std::size_t>(1, std::thread::hardware_concurrency());
        }

        // Waits for `done()` by spinning a little (tens of microseconds) before the caller blocks: most
        // parallel regions of a training step follow each other closely, and waking a sleeping thread
        // costs more than the work of a small region.
        template <class Done>
        bool spin_until(Done&& done)
        {
            for (int i = 0; i < 4096; ++i)
            {
                if (done())
                    return true;
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#else
                std::this_thread::yield();
#endif
            }
            return done();
        }

        // A job is published by setting `job_` and bumping `generation_`; workers spin briefly, then sleep on
        // a condition variable, until the generation changes.  A worker that finds the job still there
        // attaches to it and pulls chunk numbers from an atomic counter alongside the caller.  The caller
        // takes chunks too, and once none are left waits only for the workers attached to the job (not
        // for every worker to wake up), then withdraws the job; a worker that wakes later finds none.
        class thread_pool
        {
        public:
            explicit thread_pool(std::size_t num_threads) : num_threads_(num_threads) {}

            ~thread_pool()
            {
                std::lock_guard<std::mutex> submit(submit_mutex_);
                stop_workers();
            }

            thread_pool(const thread_pool&) = delete;
            thread_pool& operator=(const thread_pool&) = delete;

            std::size_t num_threads() const { return num_threads_.load(std::memory_order_relaxed); }

            // Workers are restarted lazily, at the next job; waits for a job in flight to finish.
            void set_num_threads(std::size_t num_threads)
            {
                std::lock_guard<std::mutex> submit(submit_mutex_);
                num_threads_.store(num_threads, std::memory_order_relaxed);
            }

            // Runs run_chunk(c) for every c in [0, chunks) on the workers and the caller, returns when all have
            // run, and rethrows the first exception one of them threw (the chunks not yet started are skipped).
            // Returns false without running anything if another thread's job holds the pool.
            template <class ChunkFn>
            bool try_run(std::size_t chunks, ChunkFn& run_chunk)
            {
                std::unique_lock<std::mutex> submit(submit_mutex_, std::try_to_lock);
                if (!submit.owns_lock())
                    return false;
                if (workers_.size() + 1 != num_threads())
                {
                    stop_workers();
                    start_workers(num_threads() - 1);
                }
                job current([](void* fn, std::size_t chunk) { (*static_cast<ChunkFn*>(fn))(chunk); }, &run_chunk,
                            chunks);
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    job_ = &current;
                    generation_.fetch_add(1, std::memory_order_release);
                }
                wake_.notify_all();
                run_chunks(current);
                spin_until([this] { return attached_workers_.load(std::memory_order_acquire) == 0; });
                {
                    std::unique_lock<std::mutex> lock(mutex_);   // workers attach under this lock: none can now
                    all_detached_.wait(lock, [this] { return attached_workers_.load(std::memory_order_relaxed) == 0; });
                    job_ = nullptr;
                }
                if (current.error)
                    std::rethrow_exception(current.error);
                return true;
            }

        private:
            struct job
            {
                job(void (*run_chunk_)(void*, std::size_t), void* fn_, std::size_t chunks_)
                    : run_chunk(run_chunk_), fn(fn_), chunks(chunks_)
                {
                }

                void (*run_chunk)(void* fn, std::size_t chunk);
                void* fn;
                std::size_t chunks;
                std::atomic<std::size_t> next_chunk{0};
                std::mutex error_mutex;
                std::exception_ptr error;
            };

            static void run_chunks(job& current)
            {
                bool& inside = inside_parallel_region();
                const bool was_inside = std::exchange(inside, true);
                for (;;)
                {
                    const std::size_t chunk = current.next_chunk.fetch_add(1, std::memory_order_relaxed);
                    if (chunk >= current.chunks)
                        break;
                    try
                    {
                        current.run_chunk(current.fn, chunk);
                    }
                    catch (...)
                    {
                        std::lock_guard<std::mutex> lock(current.error_mutex);
                        if (!current.error)
                            current.error = std::current_exception();
                        current.next_chunk.store(current.chunks, std::memory_order_relaxed);
                    }
                }
                inside = was_inside;
            }

            // Called with submit_mutex_ held and no job in flight.
            void start_workers(std::size_t count)
            {
                const std::size_t first_generation = generation_.load();   // no job in flight: nobody writes it now
                for (std::size_t i = 0; i < count; ++i)
                    workers_.emplace_back([this, first_generation] { worker_loop(first_generation); });
            }

            void stop_workers()
            {
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    stopping_ = true;
                }
                wake_.notify_all();
                for (std::thread& worker : workers_)
                    worker.join();
                workers_.clear();
                std::lock_guard<std::mutex> lock(mutex_);
                stopping_ = false;
            }

            void worker_loop(std::size_t seen_generation)
            {
                inside_parallel_region() = true;
                auto woken = [&] {
                    return stopping_.load(std::memory_order_relaxed) ||
                           generation_.load(std::memory_order_acquire) != seen_generation;
                };
                for (;;)
                {
                    spin_until(woken);
                    std::unique_lock<std::mutex> lock(mutex_);
                    wake_.wait(lock, woken);
                    if (stopping_)
                        return;
                    seen_generation = generation_.load(std::memory_order_relaxed);
                    job* current = job_;
                    if (current == nullptr)   // the caller finished the job alone and withdrew it
                        continue;
                    attached_workers_.fetch_add(1, std::memory_order_relaxed);
                    lock.unlock();
                    run_chunks(*current);
                    lock.lock();
                    if (attached_workers_.fetch_sub(1, std::memory_order_release) == 1)
                        all_detached_.notify_one();
                }
            }

            std::atomic<std::size_t> num_threads_;
            std::mutex submit_mutex_;   // one job at a time; guards workers_
            std::vector<std::thread> workers_;

            std::mutex mutex_;   // guards the fields below
            std::condition_variable wake_;
            std::condition_variable all_detached_;
            std::atomic<std::size_t> generation_{0};        // written under mutex_, read also while spinning
            std::atomic<std::size_t> attached_workers_{0};  // written under mutex_, read also while spinning
            job* job_ = nullptr;
            std::atomic<bool> stopping_{false};             // written under mutex_
        };

        inline thread_pool& global_thread_pool()
        {
            static thread_pool pool(default_num_threads());
            return pool;
        }
    }

    // Threads parallel_for uses, the caller included.
    inline std::size_t get_num_threads()
    {
        return detail::global_thread_pool().num_threads();
    }

    // Sets the threads parallel_for uses (the caller included); 1 runs everything inline.
    inline void set_num_threads(std::size_t num_threads)
    {
        if (num_threads == 0)
            throw value_error("set_num_threads: need at least 1 thread, got 0");
        if (detail::inside_parallel_region())
            throw value_error("set_num_threads: cannot be called from inside parallel_for");
        detail::global_thread_pool().set_num_threads(num_threads);
    }

    // Calls fn(chunk_begin, chunk_end) on disjoint chunks covering [begin, end), at most one chunk per thread
    // and each at least `grain` long, and returns when all are done; an exception thrown by fn is rethrown
    // here. A range no longer than grain, one thread, or a call from inside a chunk runs fn(begin, end) inline.
    template <class F>
    void parallel_for(std::size_t begin, std::size_t end, std::size_t grain, F&& fn)
    {
        if (end <= begin)
            return;
        const std::size_t size = end - begin;
        const std::size_t chunks = std::min(get_num_threads(), size / std::max<std::size_t>(grain, 1));
        if (chunks <= 1 || detail::inside_parallel_region())
        {
            fn(begin, end);
            return;
        }
        // Chunk c gets `base` indices, plus one more for the first `extra` chunks.
        const std::size_t base = size / chunks;
        const std::size_t extra = size % chunks;
        auto run_chunk = [&](std::size_t chunk) {
            const std::size_t chunk_begin = begin + chunk * base + std::min(chunk, extra);
            fn(chunk_begin, chunk_begin + base + (chunk < extra ? 1 : 0));
        };
        if (!detail::global_thread_pool().try_run(chunks, run_chunk))
            fn(begin, end);   // another thread's job holds the pool: run inline rather than wait
    }
}
