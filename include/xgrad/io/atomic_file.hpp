// Writing a file so that a reader sees the old content or the new, never a part of it, and a writer killed at
// any moment leaves nothing behind:
//   - the bytes go to an unnamed file in the target's directory (Linux's O_TMPFILE), flushed to the disk and
//     only then given a name (linked as a temporary, renamed over the target); a process killed before that
//     leaves no file at all;
//   - where the file system has no unnamed files, to a named temporary "<target>.tmp.<pid>" instead;
//   - every save first removes the temporaries of its target left by processes that no longer exist.
// A write that fails (disk full, file size limit) is an io_error naming the file; the target is unchanged.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "../error.hpp"

namespace xgrad::io
{
    namespace detail
    {
        // The process id a temporary name "<file>.tmp.<pid>[.<n>]" carries, or 0 when `name` is not one of
        // `file`'s temporaries.
        inline long temporary_owner(const std::string& name, const std::string& file)
        {
            const std::string prefix = file + ".tmp.";
            if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0)
                return 0;
            long pid = 0;
            std::size_t i = prefix.size();
            for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i)
            {
                if (pid > 100000000)   // far above any pid: not a name this code writes
                    return 0;
                pid = pid * 10 + (name[i] - '0');
            }
            const bool counter_follows = i < name.size() && name[i] == '.';
            return i > prefix.size() && (i == name.size() || counter_follows) ? pid : 0;
        }

        inline std::string directory_of(const std::string& file)
        {
            const std::filesystem::path path(file);
            return path.has_parent_path() ? path.parent_path().string() : ".";
        }

        // Removes the temporaries of `target` whose writing process has ended (killed mid-save).
        inline void remove_stale_temporaries(const std::string& target)
        {
            std::error_code error;
            const std::string directory = directory_of(target);
            const std::string file = std::filesystem::path(target).filename().string();
            for (std::filesystem::directory_iterator it(directory, error), end; !error && it != end; it.increment(error))
            {
                const long pid = temporary_owner(it->path().filename().string(), file);
                if (pid > 0 && pid != ::getpid() && ::kill(pid_t(pid), 0) == -1 && errno == ESRCH)
                    std::filesystem::remove(it->path(), error);
            }
        }

        // A name for this process's next temporary of `target`.
        inline std::string temporary_name(const std::string& target)
        {
            static std::atomic<std::uint64_t> counter{0};
            return target + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
        }
    }

    // Writes `target` atomically: write() the bytes, then commit(); destroyed without commit(), it leaves the
    // target as it was.  `who` prefixes the error messages (the saving function's name).
    class AtomicFileWriter
    {
    public:
        AtomicFileWriter(std::string target, std::string who) : target_(std::move(target)), who_(std::move(who))
        {
            detail::remove_stale_temporaries(target_);
            const std::string directory = detail::directory_of(target_);
#if defined(O_TMPFILE)
            // Naming an unnamed file later goes through /proc/self/fd.
            if (::access("/proc/self/fd", X_OK) == 0)
                fd_ = ::open(directory.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
#endif
            if (fd_ < 0)
            {
                temporary_ = detail::temporary_name(target_);
                fd_ = ::open(temporary_.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
                if (fd_ < 0)
                    fail("cannot create a file beside it", errno);
            }
        }
        ~AtomicFileWriter() { discard(); }
        AtomicFileWriter(const AtomicFileWriter&) = delete;
        AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

        void write(const void* data, std::size_t bytes)
        {
            const auto* next = static_cast<const unsigned char*>(data);
            while (bytes > 0)
            {
                const ::ssize_t written = ::write(fd_, next, bytes);
                if (written < 0 && errno == EINTR)
                    continue;
                if (written <= 0)
                    fail("writing failed", written < 0 ? errno : ENOSPC);
                next += written;
                bytes -= std::size_t(written);
            }
        }

        // Flushes the bytes to the disk, then puts them under the target's name in one rename.
        void commit()
        {
            if (::fsync(fd_) != 0)
                fail("flushing to the disk failed", errno);
            if (temporary_.empty())
            {
                // The unnamed file gets a temporary name (linkat cannot replace an existing file), then the
                // target's.
                const std::string named = detail::temporary_name(target_);
                const std::string self = "/proc/self/fd/" + std::to_string(fd_);
                if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, named.c_str(), AT_SYMLINK_FOLLOW) != 0)
                    fail("cannot name the written file", errno);
                temporary_ = named;
            }
            const int closed = ::close(fd_);
            fd_ = -1;
            if (closed != 0)
                fail("closing failed", errno);
            if (std::rename(temporary_.c_str(), target_.c_str()) != 0)
                fail("cannot rename " + temporary_ + " to it", errno);
            temporary_.clear();
            sync_directory();
        }

    private:
        // Makes the rename itself durable (best effort: not every file system lets a directory be synced).
        void sync_directory() const noexcept
        {
            const int fd = ::open(detail::directory_of(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd >= 0)
            {
                ::fsync(fd);
                ::close(fd);
            }
        }

        void discard() noexcept
        {
            if (fd_ >= 0)
                ::close(fd_);
            fd_ = -1;
            if (!temporary_.empty())
                ::unlink(temporary_.c_str());
            temporary_.clear();
        }

        [[noreturn]] void fail(const std::string& what, int error_number)
        {
            discard();
            throw io_error(who_ + ": " + target_ + ": " + what + " (" + std::strerror(error_number) + "); " +
                           target_ + " is unchanged");
        }

        std::string target_, who_, temporary_;   // temporary_: the named file being written, if any
        int fd_ = -1;
    };

    // `text` as the whole of the file at `path`, written atomically (an io_error prefixed by `who` if it fails).
    inline void write_file_atomically(const std::string& path, const std::string& text, const std::string& who)
    {
        AtomicFileWriter out(path, who);
        out.write(text.data(), text.size());
        out.commit();
    }
}
