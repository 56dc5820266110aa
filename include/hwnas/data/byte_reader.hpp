#pragma once
// Reads a data file that may be gzip-compressed. Whether it is compressed is
// decided by its content (the gzip magic 1f 8b), never by its name: zlib's
// gzopen reads a file without that magic as-is ("transparent" mode).
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

#include "hwnas/error.hpp"

namespace hwnas::detail {

class byte_reader {
public:
    // where: the reader's name for messages ("idx", "cifar10").
    byte_reader(std::string path, std::string where) : path_(std::move(path)), where_(std::move(where)) {
        errno = 0;
        file_ = gzopen(path_.c_str(), "rb");
        if (!file_) fail(fmt::format("cannot open: {}", errno ? std::strerror(errno) : "out of memory"));
        gzbuffer(file_, 1 << 17);  // zlib's default 8 KiB input buffer makes reads several times slower
    }
    byte_reader(const byte_reader&) = delete;
    byte_reader& operator=(const byte_reader&) = delete;
    ~byte_reader() { gzclose(file_); }

    const std::string& path() const { return path_; }

    // Throws io_error "<where>: <path>: <what>".
    [[noreturn]] void fail(std::string_view what) const {
        throw io_error(fmt::format("{}: {}: {}", where_, path_, what));
    }

    // Reads up to n bytes; fewer only at the end of the (decompressed) data.
    std::size_t read(std::uint8_t* dst, std::size_t n) {
        std::size_t done = 0;
        while (done < n) {
            const auto chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, std::size_t{1} << 30));
            const int got = gzread(file_, dst + done, chunk);
            if (got < 0) fail_zlib();
            check_truncated_gzip();
            if (got == 0) break;
            done += static_cast<std::size_t>(got);
        }
        return done;
    }

    // Reads everything that is left. size_hint (the expected size, e.g. from a
    // header) sizes the buffer in one allocation. It is trusted only up to the
    // file's size, or 4x that when compressed (more than image data deflates
    // to; larger data still reads, growing the buffer), so a corrupt header
    // cannot request a huge allocation.
    std::vector<std::uint8_t> read_to_end(std::size_t size_hint) {
        std::error_code ec;
        const std::uintmax_t file_bytes = std::filesystem::file_size(path_, ec);
        const std::uintmax_t cap = ec ? 0 : file_bytes * (gzdirect(file_) ? 1 : 4);
        std::vector<std::uint8_t> out(static_cast<std::size_t>(std::min<std::uintmax_t>(size_hint, cap)));
        if (const std::size_t got = read(out.data(), out.size()); got < out.size()) {
            out.resize(got);
            return out;
        }
        std::uint8_t buf[1 << 16];
        while (const std::size_t got = read(buf, sizeof buf)) out.insert(out.end(), buf, buf + got);
        return out;
    }

private:
    [[noreturn]] void fail_zlib() const {
        int code = Z_OK;
        const char* msg = gzerror(file_, &code);
        if (code == Z_ERRNO) fail(fmt::format("read error: {}", std::strerror(errno)));
        fail(fmt::format("corrupt gzip data: {}", strip_path(msg)));
    }

    // zlib reports a gzip stream that ends early as Z_BUF_ERROR and still
    // returns the bytes before the cut; that is a truncated file, not the end.
    void check_truncated_gzip() const {
        int code = Z_OK;
        const char* msg = gzerror(file_, &code);
        if (code == Z_BUF_ERROR) fail(fmt::format("truncated gzip stream: {}", strip_path(msg)));
    }

    // gzerror prefixes its message with "<path>: "; ours already names the file.
    std::string_view strip_path(std::string_view msg) const {
        if (msg.starts_with(path_) && msg.substr(path_.size()).starts_with(": ")) msg.remove_prefix(path_.size() + 2);
        return msg;
    }

    std::string path_, where_;
    gzFile file_ = nullptr;
};

}  // namespace hwnas::detail
