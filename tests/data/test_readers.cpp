#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>
#include <zlib.h>

#include <hwnas/data/cifar10.hpp>
#include <hwnas/data/fashion_mnist.hpp>
#include <hwnas/data/idx.hpp>

namespace test_readers {

using namespace hwnas;
namespace fs = std::filesystem;
using bytes = std::vector<std::uint8_t>;

namespace {

// A fresh directory per process (ctest runs test cases as parallel processes).
struct temp_dir {
    fs::path path = fs::temp_directory_path() / fmt::format("hwnas_test_data_{}", ::getpid());
    temp_dir() {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~temp_dir() { fs::remove_all(path); }
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

void write_raw(const std::string& path, const bytes& b) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                                static_cast<std::streamsize>(b.size()));
}

void write_gz(const std::string& path, const bytes& b) {
    gzFile f = gzopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    if (!b.empty()) REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
    REQUIRE(gzclose(f) == Z_OK);
}

bytes read_raw(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return bytes(std::istreambuf_iterator<char>(in), {});
}

// An IDX file: magic 00 00 type rank, big-endian dims, then the values.
bytes idx_bytes(const std::vector<std::uint32_t>& dims, const bytes& values, std::uint8_t type = 0x08) {
    bytes b{0, 0, type, static_cast<std::uint8_t>(dims.size())};
    for (auto d : dims)
        for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
    b.insert(b.end(), values.begin(), values.end());
    return b;
}

bytes iota_bytes(std::size_t n, int start = 0) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>((start + static_cast<int>(i)) % 256);
    return b;
}

// CIFAR-10 records: label, then 3 planes of 32x32, with pixel byte (r * 7 + c * 1024 + p) % 256.
bytes cifar_bytes(const std::vector<std::uint8_t>& labels) {
    bytes b;
    for (std::size_t r = 0; r < labels.size(); ++r) {
        b.push_back(labels[r]);
        for (int i = 0; i < 3072; ++i) b.push_back(static_cast<std::uint8_t>((static_cast<int>(r) * 7 + i) % 256));
    }
    return b;
}

}  // namespace

TEST_CASE("read_idx reads raw and gzip files and detects gzip from the content") {
    temp_dir dir;
    const bytes file = idx_bytes({2, 3, 4}, iota_bytes(24));
    // Names that lie about the content: detection must look at the bytes.
    write_raw(dir / "raw.gz", file);
    write_gz(dir / "compressed.idx", file);
    for (const auto& name : {"raw.gz", "compressed.idx"}) {
        const idx_array a = read_idx(dir / name);
        CHECK(a.dims == std::vector<index_t>{2, 3, 4});
        CHECK(a.values == iota_bytes(24));
    }
    write_gz(dir / "empty_dims.gz", idx_bytes({0, 28, 28}, {}));
    CHECK(read_idx(dir / "empty_dims.gz").values.empty());
    // Compressed far more than 4:1: the read buffer grows past its first guess.
    write_gz(dir / "zeros.gz", idx_bytes({1, 200, 200}, bytes(40000, 0)));
    CHECK(read_idx(dir / "zeros.gz").values == bytes(40000, 0));
}

TEST_CASE("read_idx_dataset scales pixels to [0 1] and keeps labels") {
    temp_dir dir;
    write_gz(dir / "img.gz", idx_bytes({3, 2, 2}, {0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8}));
    write_raw(dir / "lbl", idx_bytes({3}, {2, 0, 9}));
    const dataset d = read_idx_dataset(dir / "img.gz", dir / "lbl", 10);
    CHECK(d.images().shape() == shape{3, 2, 2, 1});
    CHECK(d.labels() == std::vector<std::int32_t>{2, 0, 9});
    CHECK(d.num_classes() == 10);
    CHECK(d.images()[0] == 0.0f);
    CHECK(d.images()[1] == 1.0f);
    CHECK(d.images()[2] == doctest::Approx(0.2));
    CHECK(d.images().at({2, 1, 1, 0}) == doctest::Approx(8.0 / 255));

    write_raw(dir / "rgb", idx_bytes({1, 1, 2, 3}, iota_bytes(6)));
    write_raw(dir / "lbl1", idx_bytes({1}, {4}));
    CHECK(read_idx_dataset(dir / "rgb", dir / "lbl1", 5).images().shape() == shape{1, 1, 2, 3});
}

TEST_CASE("read_idx reports missing truncated and corrupt files") {
    temp_dir dir;
    const std::string missing = dir / "missing.gz";
    CHECK_THROWS_WITH_AS(read_idx(missing), fmt::format("idx: {}: cannot open: No such file or directory", missing).c_str(),
                         io_error);
    CHECK_THROWS_WITH_AS(read_idx(dir.path.string()), fmt::format("idx: {}: read error: Is a directory", dir.path.string()).c_str(),
                         io_error);

    const auto check_error = [&](const std::string& name, const bytes& content, const std::string& what) {
        for (bool gz : {false, true}) {
            const std::string path = dir / (name + (gz ? ".gz" : ""));
            gz ? write_gz(path, content) : write_raw(path, content);
            CHECK_THROWS_WITH_AS(read_idx(path), fmt::format("idx: {}: {}", path, what).c_str(), io_error);
        }
    };
    check_error("empty", {}, "truncated: file has 0 bytes, an IDX header needs at least 4");
    check_error("short", {0, 0, 8}, "truncated: file has 3 bytes, an IDX header needs at least 4");
    check_error("magic", {0x50, 0x4b, 3, 4, 0, 0, 0, 0}, "bad magic 50 4b 03 04, expected 00 00 <type> <rank>");
    check_error("float", idx_bytes({1}, {0, 0, 0, 0}, 0x0D),
                "unsupported type code 0x0d (float32), expected 0x08 (unsigned byte)");
    check_error("rank0", {0, 0, 8, 0}, "rank 0 in the header, expected >= 1");
    check_error("header", {0, 0, 8, 3, 0, 0, 0, 2, 0, 0}, "truncated: a rank-3 header needs 16 bytes, file has 10");
    check_error("data", idx_bytes({60000, 28, 28}, iota_bytes(1234)),
                "truncated: header says 60000x28x28 bytes of data, file has 1234");
    check_error("trailing", idx_bytes({2, 3, 3}, iota_bytes(20)), "trailing bytes: header says 2x3x3 bytes of data, file has 20");
    check_error("huge", idx_bytes({0xffffffff, 0xffffffff, 0xffffffff}, {}),
                "header dims 4294967295x4294967295... are implausibly large");
}

TEST_CASE("read_idx reports a damaged gzip stream") {
    temp_dir dir;
    const std::string good = dir / "good.gz";
    write_gz(good, idx_bytes({4, 28, 28}, iota_bytes(4 * 28 * 28)));
    bytes gz = read_raw(good);
    REQUIRE(gz.size() > 16);

    // The gzip trailer holds CRC-32 then the length; a wrong CRC is caught at the end.
    bytes bad_crc = gz;
    bad_crc[bad_crc.size() - 8] ^= 0xff;
    const std::string crc_path = dir / "crc.gz";
    write_raw(crc_path, bad_crc);
    CHECK_THROWS_WITH_AS(read_idx(crc_path), fmt::format("idx: {}: corrupt gzip data: incorrect data check", crc_path).c_str(),
                         io_error);

    // A download cut short: the stream ends before its trailer.
    const std::string cut_path = dir / "cut.gz";
    write_raw(cut_path, bytes(gz.begin(), gz.end() - 6));
    CHECK_THROWS_WITH_AS(read_idx(cut_path),
                         fmt::format("idx: {}: truncated gzip stream: unexpected end of file", cut_path).c_str(), io_error);
}

TEST_CASE("read_idx_dataset checks that images and labels fit together") {
    temp_dir dir;
    write_raw(dir / "img", idx_bytes({3, 2, 2}, iota_bytes(12)));
    write_raw(dir / "lbl2", idx_bytes({2}, {0, 1}));
    write_raw(dir / "lbl_bad", idx_bytes({3}, {0, 10, 1}));
    write_raw(dir / "flat", idx_bytes({3, 4}, iota_bytes(12)));
    write_raw(dir / "lbl2d", idx_bytes({3, 1}, {0, 1, 2}));
    CHECK_THROWS_WITH_AS(read_idx_dataset(dir / "img", dir / "lbl2", 10),
                         fmt::format("idx: {} has 3 images but {} has 2 labels", dir / "img", dir / "lbl2").c_str(),
                         io_error);
    CHECK_THROWS_WITH_AS(read_idx_dataset(dir / "img", dir / "lbl_bad", 10),
                         fmt::format("idx: {}: label 10 at index 1 is out of range for 10 classes", dir / "lbl_bad").c_str(),
                         io_error);
    CHECK_THROWS_WITH_AS(read_idx_dataset(dir / "flat", dir / "lbl2", 10),
                         fmt::format("idx: {}: dims 3x4, expected images NxHxW or NxHxWxC", dir / "flat").c_str(),
                         io_error);
    CHECK_THROWS_WITH_AS(read_idx_dataset(dir / "img", dir / "lbl2d", 10),
                         fmt::format("idx: {}: dims 3x1, expected labels N", dir / "lbl2d").c_str(), io_error);
}

TEST_CASE("read_cifar10 converts CHW records to NHWC across files") {
    temp_dir dir;
    write_raw(dir / "data_batch_1.bin", cifar_bytes({3, 9}));
    write_gz(dir / "data_batch_2.bin", cifar_bytes({0}));
    const dataset d = read_cifar10({dir / "data_batch_1.bin", dir / "data_batch_2.bin"});
    CHECK(d.images().shape() == shape{3, 32, 32, 3});
    CHECK(d.labels() == std::vector<std::int32_t>{3, 9, 0});
    CHECK(d.num_classes() == 10);
    // Sample 2 is record 0 of the second file.
    for (auto [n, r] : {std::pair{0, 0}, {1, 1}, {2, 0}})
        for (auto [y, x] : {std::pair{0, 0}, {5, 17}, {31, 31}})
            for (int c = 0; c < 3; ++c)
                CHECK(d.images().at({n, y, x, c}) == static_cast<float>((r * 7 + c * 1024 + y * 32 + x) % 256) / 255.0f);
}

TEST_CASE("load_cifar10 reads the train or test batches and reports bad files") {
    temp_dir dir;
    for (int i = 1; i <= 5; ++i) write_raw(dir / fmt::format("data_batch_{}.bin", i), cifar_bytes({static_cast<std::uint8_t>(i)}));
    write_raw(dir / "test_batch.bin", cifar_bytes({7, 8}));
    CHECK(load_cifar10(dir.path.string()).labels() == std::vector<std::int32_t>{1, 2, 3, 4, 5});
    CHECK(load_cifar10(dir.path.string(), false).labels() == std::vector<std::int32_t>{7, 8});

    const std::string odd = dir / "odd.bin", empty = dir / "empty.bin", label = dir / "label.bin";
    bytes b = cifar_bytes({1});
    b.push_back(0);
    write_raw(odd, b);
    write_raw(empty, {});
    write_raw(label, cifar_bytes({1, 2, 10}));
    CHECK_THROWS_WITH_AS(read_cifar10({odd}),
                         fmt::format("cifar10: {}: size 3074 is not a positive multiple of the record size 3073 (1 label + 3072 pixels)", odd).c_str(),
                         io_error);
    CHECK_THROWS_WITH_AS(read_cifar10({empty}),
                         fmt::format("cifar10: {}: size 0 is not a positive multiple of the record size 3073 (1 label + 3072 pixels)", empty).c_str(),
                         io_error);
    CHECK_THROWS_WITH_AS(read_cifar10({label}), fmt::format("cifar10: {}: record 2 has label 10, expected 0..9", label).c_str(),
                         io_error);
    fs::remove(dir.path / "data_batch_4.bin");
    CHECK_THROWS_WITH_AS(load_cifar10(dir.path.string()),
                         fmt::format("cifar10: {}: cannot open: No such file or directory", dir / "data_batch_4.bin").c_str(),
                         io_error);
    CHECK_THROWS_WITH_AS(read_cifar10({}), "read_cifar10: no files given, expected at least one", config_error);
}

TEST_CASE("load_fashion_mnist finds .gz or raw files and honours HWNAS_FASHION_MNIST_DIR") {
    temp_dir dir;
    write_gz(dir / "train-images-idx3-ubyte.gz", idx_bytes({2, 28, 28}, iota_bytes(2 * 28 * 28)));
    write_gz(dir / "train-labels-idx1-ubyte.gz", idx_bytes({2}, {1, 9}));
    write_raw(dir / "t10k-images-idx3-ubyte", idx_bytes({1, 28, 28}, iota_bytes(28 * 28)));
    write_raw(dir / "t10k-labels-idx1-ubyte", idx_bytes({1}, {5}));
    REQUIRE(::setenv("HWNAS_FASHION_MNIST_DIR", dir.path.c_str(), 1) == 0);
    CHECK(default_fashion_mnist_dir() == dir.path.string());
    CHECK(load_fashion_mnist().labels() == std::vector<std::int32_t>{1, 9});
    ::unsetenv("HWNAS_FASHION_MNIST_DIR");
    CHECK(default_fashion_mnist_dir() == "/usr/share/datasets/fashion-mnist");
    const dataset test = load_fashion_mnist(dir.path.string(), false);
    CHECK(test.images().shape() == shape{1, 28, 28, 1});
    CHECK(test.labels() == std::vector<std::int32_t>{5});
    fs::remove(dir.path / "t10k-labels-idx1-ubyte");
    CHECK_THROWS_WITH_AS(load_fashion_mnist(dir.path.string(), false),
                         fmt::format("idx: {}: cannot open: No such file or directory", dir / "t10k-labels-idx1-ubyte").c_str(),
                         io_error);
}

TEST_CASE("the real Fashion-MNIST loads with the right shapes and balanced classes") {
    const std::string dir = default_fashion_mnist_dir();
    if (!fs::exists(fs::path(dir) / "train-images-idx3-ubyte.gz")) {
        MESSAGE("skipped: Fashion-MNIST not found in " << dir << " (Debian package dataset-fashion-mnist)");
        return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const dataset train = load_fashion_mnist(dir, true);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("loaded 60000 Fashion-MNIST training images in " << seconds << " s");
    CHECK(train.images().shape() == shape{60000, 28, 28, 1});
    CHECK(train.class_counts() == std::vector<index_t>(10, 6000));
    const auto [lo, hi] = std::minmax_element(train.images().begin(), train.images().end());
    CHECK(*lo == 0.0f);
    CHECK(*hi == 1.0f);
    const channel_stats s = compute_channel_stats(train);
    CHECK(s.mean[0] == doctest::Approx(0.2860).epsilon(1e-3));
    CHECK(s.stddev[0] == doctest::Approx(0.3530).epsilon(1e-3));

    const dataset test = load_fashion_mnist(dir, false);
    CHECK(test.images().shape() == shape{10000, 28, 28, 1});
    CHECK(test.class_counts() == std::vector<index_t>(10, 1000));
}

}  // namespace test_readers
