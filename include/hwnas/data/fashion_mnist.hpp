#pragma once
// Fashion-MNIST: 28x28 grayscale images of 10 clothing classes, 60000 for
// training and 10000 for testing, as IDX files (Debian: dataset-fashion-mnist).
#include <array>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "hwnas/data/dataset.hpp"
#include "hwnas/data/idx.hpp"

namespace hwnas {

inline constexpr std::array<std::string_view, 10> fashion_mnist_class_names = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

// $HWNAS_FASHION_MNIST_DIR if set, else where Debian installs the dataset.
inline std::string default_fashion_mnist_dir() {
    const char* env = std::getenv("HWNAS_FASHION_MNIST_DIR");
    return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

// Images [N, 28, 28, 1] in [0, 1] and labels 0..9. Each file is looked up as
// <name>.gz, then <name> (the files as published, or decompressed).
inline dataset load_fashion_mnist(const std::string& dir = default_fashion_mnist_dir(), bool train = true) {
    const auto file = [&](std::string_view kind) {
        const auto raw = std::filesystem::path(dir) / fmt::format("{}-{}-ubyte", train ? "train" : "t10k", kind);
        auto gz = raw;
        gz += ".gz";
        return (std::filesystem::exists(gz) ? gz : raw).string();
    };
    return read_idx_dataset(file("images-idx3"), file("labels-idx1"), 10);
}

}  // namespace hwnas
