#pragma once
// write_file_atomically: after a crash the target holds either its old
// content or all of the new one, never a torn mix. The bytes go to a temporary
// file in the same directory (rename is atomic only within one file system),
// which is fsynced, renamed over the target, and then the directory is fsynced
// so the rename itself survives a power loss. POSIX only.
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include "hwnas/error.hpp"

namespace hwnas {

namespace detail {

inline std::string errno_text() { return std::strerror(errno); }

// Closes and removes the temporary file unless the write completed.
struct temp_file_guard {
    std::string path;
    int fd = -1;
    bool done = false;
    ~temp_file_guard() {
        if (fd >= 0) ::close(fd);
        if (!done) ::unlink(path.c_str());
    }
};

}  // namespace detail

inline void write_file_atomically(const std::filesystem::path& path, std::span<const std::byte> bytes) {
    namespace fs = std::filesystem;
    static std::atomic<unsigned> counter{0};
    const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    const std::string where = fmt::format("write_file_atomically: {}", path.string());

    detail::temp_file_guard tmp;
    tmp.path = (dir / fmt::format(".{}.tmp.{}.{}", path.filename().string(), ::getpid(), counter++)).string();
    tmp.fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (tmp.fd < 0) {
        tmp.done = true;  // nothing was created
        throw io_error(fmt::format("{}: cannot create a temporary file in {}: {}", where, dir.string(),
                                   detail::errno_text()));
    }
    const std::byte* p = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
        const ::ssize_t n = ::write(tmp.fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw io_error(fmt::format("{}: write failed: {}", where, detail::errno_text()));
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::fsync(tmp.fd) != 0) throw io_error(fmt::format("{}: fsync failed: {}", where, detail::errno_text()));
    const int fd = std::exchange(tmp.fd, -1);
    if (::close(fd) != 0) throw io_error(fmt::format("{}: close failed: {}", where, detail::errno_text()));
    if (::rename(tmp.path.c_str(), path.c_str()) != 0)
        throw io_error(fmt::format("{}: cannot rename the temporary file over it: {}", where, detail::errno_text()));
    tmp.done = true;

    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) throw io_error(fmt::format("{}: cannot open the directory to fsync it: {}", where, detail::errno_text()));
    // Some file systems cannot fsync a directory (EINVAL); the rename is then as durable as they allow.
    const bool synced = ::fsync(dfd) == 0 || errno == EINVAL;
    const std::string err = synced ? "" : detail::errno_text();
    ::close(dfd);
    if (!synced) throw io_error(fmt::format("{}: directory fsync failed: {}", where, err));
}

inline void write_file_atomically(const std::filesystem::path& path, std::string_view text) {
    write_file_atomically(path, std::as_bytes(std::span<const char>(text.data(), text.size())));
}

}  // namespace hwnas
