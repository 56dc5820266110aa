#pragma once
// The IDX format of MNIST and Fashion-MNIST: a 4-byte magic (00 00, a type
// code, the rank), the dimensions as big-endian uint32, then the row-major
// values. Files may be gzip-compressed or raw; that is detected from the
// content (see byte_reader.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hwnas/data/byte_reader.hpp"
#include "hwnas/data/dataset.hpp"
#include "hwnas/error.hpp"
#include "hwnas/tensor/tensor.hpp"

namespace hwnas {

// An IDX array of unsigned bytes (type code 0x08, the only type image
// datasets use).
struct idx_array {
    std::vector<index_t> dims;
    std::vector<std::uint8_t> values;  // row-major
};

namespace detail {

inline const char* idx_type_name(std::uint8_t code) {
    switch (code) {
        case 0x08: return "unsigned byte";
        case 0x09: return "signed byte";
        case 0x0B: return "int16";
        case 0x0C: return "int32";
        case 0x0D: return "float32";
        case 0x0E: return "float64";
        default: return "unknown";
    }
}

inline std::string idx_dims_str(const std::vector<index_t>& dims) { return fmt::format("{}", fmt::join(dims, "x")); }

}  // namespace detail

inline idx_array read_idx(const std::string& path) {
    detail::byte_reader in(path, "idx");
    std::uint8_t magic[4];
    if (const std::size_t got = in.read(magic, 4); got < 4)
        in.fail(fmt::format("truncated: file has {} bytes, an IDX header needs at least 4", got));
    if (magic[0] != 0 || magic[1] != 0)
        in.fail(fmt::format("bad magic {:02x} {:02x} {:02x} {:02x}, expected 00 00 <type> <rank>", magic[0], magic[1],
                            magic[2], magic[3]));
    if (magic[2] != 0x08)
        in.fail(fmt::format("unsupported type code 0x{:02x} ({}), expected 0x08 (unsigned byte)", magic[2],
                            detail::idx_type_name(magic[2])));
    const int rank = magic[3];
    if (rank == 0) in.fail("rank 0 in the header, expected >= 1");
    std::vector<std::uint8_t> raw_dims(static_cast<std::size_t>(4 * rank));
    if (const std::size_t got = in.read(raw_dims.data(), raw_dims.size()); got < raw_dims.size())
        in.fail(fmt::format("truncated: a rank-{} header needs {} bytes, file has {}", rank, 4 + raw_dims.size(),
                            4 + got));
    idx_array a;
    std::uint64_t count = 1;
    for (int d = 0; d < rank; ++d) {
        const std::uint8_t* b = raw_dims.data() + 4 * d;
        const std::uint64_t n = std::uint64_t{b[0]} << 24 | std::uint64_t{b[1]} << 16 | std::uint64_t{b[2]} << 8 | b[3];
        a.dims.push_back(static_cast<index_t>(n));
        // 2^48 bytes is far beyond any file; it also keeps the product from overflowing.
        if (n != 0 && count > (std::uint64_t{1} << 48) / n)
            in.fail(fmt::format("header dims {}... are implausibly large", detail::idx_dims_str(a.dims)));
        count *= n;
    }
    a.values = in.read_to_end(static_cast<std::size_t>(count));
    if (a.values.size() != count)
        in.fail(fmt::format("{}: header says {} bytes of data, file has {}",
                            a.values.size() < count ? "truncated" : "trailing bytes", detail::idx_dims_str(a.dims),
                            a.values.size()));
    return a;
}

// A dataset from an IDX image file ([N,H,W] or [N,H,W,C]) and an IDX label
// file ([N], values < num_classes), pixels scaled to [0, 1].
inline dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path, int num_classes) {
    const idx_array images = read_idx(images_path);
    const idx_array labels = read_idx(labels_path);
    if (images.dims.size() != 3 && images.dims.size() != 4)
        throw io_error(fmt::format("idx: {}: dims {}, expected images NxHxW or NxHxWxC", images_path,
                                   detail::idx_dims_str(images.dims)));
    if (labels.dims.size() != 1)
        throw io_error(fmt::format("idx: {}: dims {}, expected labels N", labels_path, detail::idx_dims_str(labels.dims)));
    if (images.dims[0] != labels.dims[0])
        throw io_error(fmt::format("idx: {} has {} images but {} has {} labels", images_path, images.dims[0],
                                   labels_path, labels.dims[0]));
    std::vector<std::int32_t> y(labels.values.begin(), labels.values.end());
    if (const auto bad = detail::first_label_out_of_range(y, num_classes))
        throw io_error(fmt::format("idx: {}: label {} at index {} is out of range for {} classes", labels_path, y[*bad],
                                   *bad, num_classes));
    const index_t channels = images.dims.size() == 4 ? images.dims[3] : 1;
    tensor x = tensor::uninitialized({images.dims[0], images.dims[1], images.dims[2], channels});
    detail::bytes_to_unit(images.values.data(), x.data(), x.numel());
    return dataset(std::move(x), std::move(y), num_classes);
}

}  // namespace hwnas
