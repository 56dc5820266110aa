#pragma once
// CIFAR-10, binary version (data_batch_1..5.bin, test_batch.bin): records of
// one label byte and 3072 pixel bytes, the 32x32 red plane, then green, then
// blue. Read as channels-last [N, 32, 32, 3] in [0, 1]. Files may also be
// gzip-compressed (detected from the content).
#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "hwnas/core/parallel.hpp"
#include "hwnas/data/byte_reader.hpp"
#include "hwnas/data/dataset.hpp"
#include "hwnas/error.hpp"

namespace hwnas {

inline constexpr std::array<std::string_view, 10> cifar10_class_names = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

// The samples of all files, in order.
inline dataset read_cifar10(const std::vector<std::string>& paths) {
    constexpr index_t side = 32, plane = side * side, record = 1 + 3 * plane;
    constexpr std::size_t batch_file_bytes = 10000 * record;  // the size of each published file
    if (paths.empty()) throw config_error("read_cifar10: no files given, expected at least one");
    std::vector<std::vector<std::uint8_t>> files;
    std::vector<std::int32_t> labels;
    for (const auto& path : paths) {
        detail::byte_reader in(path, "cifar10");
        auto& bytes = files.emplace_back(in.read_to_end(batch_file_bytes));
        if (bytes.empty() || bytes.size() % record != 0)
            in.fail(fmt::format("size {} is not a positive multiple of the record size {} (1 label + 3072 pixels)",
                                bytes.size(), record));
        const std::size_t first = labels.size();
        for (std::size_t at = 0; at < bytes.size(); at += record) labels.push_back(bytes[at]);
        if (const auto bad = detail::first_label_out_of_range(std::span(labels).subspan(first), 10))
            in.fail(fmt::format("record {} has label {}, expected 0..9", *bad, labels[first + *bad]));
    }
    tensor x = tensor::uninitialized({static_cast<index_t>(labels.size()), side, side, 3});
    index_t offset = 0;  // first sample of the current file
    for (const auto& bytes : files) {
        const auto n = static_cast<index_t>(bytes.size()) / record;
        parallel_for(0, n, [&](index_t lo, index_t hi) {
            for (index_t r = lo; r < hi; ++r) {
                const std::uint8_t* src = bytes.data() + r * record + 1;
                float* dst = x.data() + (offset + r) * 3 * plane;
                for (index_t p = 0; p < plane; ++p)
                    for (index_t c = 0; c < 3; ++c) dst[p * 3 + c] = static_cast<float>(src[c * plane + p]) / 255.0f;
            }
        });
        offset += n;
    }
    return dataset(std::move(x), std::move(labels), 10);
}

// The five training batches (50000 images) or the test batch (10000) in dir.
inline dataset load_cifar10(const std::string& dir, bool train = true) {
    std::vector<std::string> paths;
    const std::filesystem::path d(dir);
    if (train)
        for (int i = 1; i <= 5; ++i) paths.push_back((d / fmt::format("data_batch_{}.bin", i)).string());
    else
        paths.push_back((d / "test_batch.bin").string());
    return read_cifar10(paths);
}

}  // namespace hwnas
