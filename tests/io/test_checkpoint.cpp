#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <unistd.h>
#include <zlib.h>

#include <hwnas/autograd/backward.hpp>
#include <hwnas/io/atomic_file.hpp>
#include <hwnas/io/checkpoint.hpp>
#include <hwnas/nn/layers.hpp>
#include <hwnas/nn/mbconv.hpp>
#include <hwnas/nn/lr_schedule.hpp>
#include <hwnas/nn/optimizer.hpp>
#include <hwnas/nn/sequential.hpp>
#include <hwnas/ops/activation.hpp>
#include <hwnas/ops/elementwise.hpp>
#include <hwnas/ops/reduce.hpp>
#include <hwnas/ops/softmax.hpp>

namespace test_checkpoint {

using namespace hwnas;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed afterwards.
struct temp_dir {
    fs::path path;
    temp_dir() {
        static std::atomic<int> n{0};
        path = fs::temp_directory_path() / fmt::format("hwnas_test_checkpoint_{}_{}", ::getpid(), n++);
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~temp_dir() { fs::remove_all(path); }
    fs::path operator/(const std::string& name) const { return path / name; }
};

// doctest takes the expected message as const char*; keep formatted ones alive.
const char* msg(std::string s) {
    static std::vector<std::unique_ptr<std::string>> keep;
    keep.push_back(std::make_unique<std::string>(std::move(s)));
    return keep.back()->c_str();
}

std::vector<std::byte> read_all(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::vector<char> c((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<std::byte> b(c.size());
    std::memcpy(b.data(), c.data(), c.size());
    return b;
}
void write_all(const fs::path& p, std::span<const std::byte> b) {
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
// Recomputes the header checksum after an edit of the payload.
void fix_crc(std::vector<std::byte>& b) {
    const auto crc = static_cast<std::uint32_t>(
        crc32_z(crc32_z(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(b.data() + 24), b.size() - 24));
    std::memcpy(b.data() + 12, &crc, 4);
}

struct mlp : sequential {
    explicit mlp(rng& g, index_t hidden = 8) {
        add(std::make_shared<linear_layer>(4, hidden, g));
        add(std::make_shared<relu_layer>());
        add(std::make_shared<linear_layer>(hidden, 2, g));
    }
    struct relu_layer : module {
        var forward(const var& x) override { return relu(x); }
        std::string type_name() const override { return "relu_layer"; }
    };
};

checkpoint sample() {
    checkpoint ck;
    ck.put_tensor("w", tensor::from({2, 3}, {1, 2, 3, 4, 5, 6}));
    ck.put_tensor("scalar", tensor::scalar(-1.5f));
    ck.put_tensor("empty", tensor({2, 0}));
    ck.put_int("epoch", 7);
    ck.put_ints("counts", std::vector<std::int64_t>{1, -2, 3});
    ck.put_text("arch", "k3_e6,skip");
    return ck;
}

}  // namespace

TEST_CASE("checkpoint entries round-trip through bytes") {
    const checkpoint ck = checkpoint::deserialize(sample().serialize(), "mem.ckpt");
    CHECK(ck.source() == "mem.ckpt");
    CHECK(ck.names() == std::vector<std::string>{"w", "scalar", "empty", "epoch", "counts", "arch"});
    CHECK(ck.get_tensor("w").shape() == shape{2, 3});
    CHECK(ck.get_tensor("w")[5] == 6.0f);
    CHECK(ck.get_tensor("scalar").item() == -1.5f);
    CHECK(ck.get_tensor("empty").shape() == shape{2, 0});
    CHECK(ck.get_int("epoch") == 7);
    CHECK(ck.get_ints("counts") == std::vector<std::int64_t>{1, -2, 3});
    CHECK(ck.get_text("arch") == "k3_e6,skip");
    CHECK(ck.is_tensor("w"));
    CHECK_FALSE(ck.is_tensor("arch"));
}

TEST_CASE("checkpoint entry access errors") {
    const checkpoint ck = checkpoint::deserialize(sample().serialize(), "mem.ckpt");
    CHECK_THROWS_WITH_AS(ck.get_tensor("v"), "checkpoint: no entry \"v\" in mem.ckpt", io_error);
    CHECK_THROWS_WITH_AS(ck.get_tensor("epoch"), "checkpoint: entry \"epoch\" in mem.ckpt is a byte blob, expected a tensor",
                         io_error);
    CHECK_THROWS_WITH_AS(ck.get_bytes("w"), "checkpoint: entry \"w\" in mem.ckpt is a tensor, expected a byte blob",
                         io_error);
    CHECK_THROWS_WITH_AS(ck.get_int("counts"), "checkpoint: entry \"counts\" in mem.ckpt holds 3 integers, expected 1",
                         io_error);
    CHECK_THROWS_WITH_AS(ck.get_ints("arch"),
                         "checkpoint: entry \"arch\" in mem.ckpt has 10 bytes, expected a multiple of 8 (64-bit "
                         "integers)",
                         io_error);
    checkpoint c;
    c.put_int("a", 1);
    CHECK_THROWS_WITH_AS(c.put_int("a", 2), "checkpoint: entry \"a\" is already present", config_error);
    CHECK_THROWS_WITH_AS(c.put_int("", 2), "checkpoint: an entry name is empty", config_error);
    CHECK_THROWS_WITH_AS(c.put_tensor("t", tensor()), "checkpoint: tensor entry \"t\" is undefined (no storage)",
                         config_error);
}

TEST_CASE("checkpoint files are written atomically and read back") {
    temp_dir dir;
    const fs::path p = dir / "a.ckpt";
    sample().save(p);
    checkpoint ck = checkpoint::load(p);
    CHECK(ck.source() == p.string());
    CHECK(ck.get_int("epoch") == 7);
    // overwrite in place; no temporary file is left behind
    checkpoint other;
    other.put_int("epoch", 8);
    other.save(p);
    CHECK(checkpoint::load(p).get_int("epoch") == 8);
    CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("write_file_atomically writes text and reports failures") {
    temp_dir dir;
    write_file_atomically(dir / "result.json", std::string_view("{\"ok\": true}\n"));
    write_file_atomically(dir / "result.json", std::string_view("{}"));
    const auto b = read_all(dir / "result.json");
    CHECK(std::string(reinterpret_cast<const char*>(b.data()), b.size()) == "{}");
    CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
    const fs::path missing = dir / "no/such/dir/x.json";
    CHECK_THROWS_WITH_AS(write_file_atomically(missing, std::string_view("x")),
                         msg(fmt::format("write_file_atomically: {}: cannot create a temporary file in {}: No such file or "
                                     "directory",
                                     missing.string(), (dir / "no/such/dir").string())),
                         io_error);
    fs::create_directory(dir / "taken");
    CHECK_THROWS_WITH_AS(write_file_atomically(dir / "taken", std::string_view("x")),
                         msg(fmt::format("write_file_atomically: {}: cannot rename the temporary file over it: Is a "
                                     "directory",
                                     (dir / "taken").string())),
                         io_error);
    CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 2);  // temp file removed
}

TEST_CASE("loading a missing truncated or corrupt file names the file") {
    temp_dir dir;
    const fs::path p = dir / "m.ckpt";
    const std::string f = p.string();
    CHECK_THROWS_WITH_AS(checkpoint::load(p), msg(fmt::format("checkpoint: cannot open {}: No such file or directory", f)),
                         io_error);

    const auto good = sample().serialize();
    const std::size_t size = good.size();
    auto bytes = good;
    bytes.resize(size - 5);
    write_all(p, bytes);
    CHECK_THROWS_WITH_AS(checkpoint::load(p),
                         msg(fmt::format("checkpoint: {} is truncated ({} bytes, the header announces {})", f, size - 5,
                                     size)),
                         io_error);
    bytes.resize(12);
    write_all(p, bytes);
    CHECK_THROWS_WITH_AS(checkpoint::load(p),
                         msg(fmt::format("checkpoint: {} is truncated (12 bytes, shorter than the 24-byte header)", f)),
                         io_error);
    bytes = good;
    bytes.push_back(std::byte{0});
    write_all(p, bytes);
    CHECK_THROWS_WITH_AS(checkpoint::load(p),
                         msg(fmt::format("checkpoint: {} is corrupt ({} bytes, the header announces {})", f, size + 1,
                                     size)),
                         io_error);
    bytes = good;
    bytes[0] = std::byte{'X'};
    write_all(p, bytes);
    CHECK_THROWS_WITH_AS(checkpoint::load(p), msg(fmt::format("checkpoint: {} is not an hwnas checkpoint (bad magic)", f)),
                         io_error);
    bytes = good;
    bytes[8] = std::byte{2};
    write_all(p, bytes);
    CHECK_THROWS_WITH_AS(checkpoint::load(p),
                         msg(fmt::format("checkpoint: {} has format version 2, this build reads version 1", f)), io_error);
    bytes = good;
    bytes[size - 3] ^= std::byte{0x10};  // a bit flip in the payload
    write_all(p, bytes);
    CHECK_THROWS_WITH_AS(checkpoint::load(p), msg(fmt::format("checkpoint: {} is corrupt (checksum mismatch)", f)),
                         io_error);
}

TEST_CASE("a payload with a valid checksum but a bad structure is rejected") {
    auto bytes = sample().serialize();
    bytes[24 + 8] = std::byte{7};  // kind of the first entry
    fix_crc(bytes);
    CHECK_THROWS_WITH_AS(checkpoint::deserialize(bytes, "x.ckpt"),
                         "checkpoint: x.ckpt is corrupt (entry w has unknown kind 7)", io_error);
    bytes = sample().serialize();
    const std::uint64_t huge = 1ull << 40;
    std::memcpy(bytes.data() + 24 + 8 + 1 + 4 + 1 + 1, &huge, 8);  // first extent of "w"
    fix_crc(bytes);
    CHECK_THROWS_WITH_AS(checkpoint::deserialize(bytes, "x.ckpt"),
                         "checkpoint: x.ckpt is corrupt (entry w has an invalid extent 1099511627776)", io_error);
    bytes = sample().serialize();
    const std::uint64_t count = 99;
    std::memcpy(bytes.data() + 24, &count, 8);
    fix_crc(bytes);
    CHECK_THROWS_WITH_AS(checkpoint::deserialize(bytes, "x.ckpt"),
                         msg(fmt::format("checkpoint: x.ckpt is corrupt (an entry runs past the end of the payload at "
                                     "byte {})",
                                     bytes.size() - 24)),
                         io_error);
}

TEST_CASE("model state loads only into a matching model") {
    rng g(1);
    mlp a(g), b(g), wide(g, 9);
    checkpoint ck;
    save_state(ck, a);
    CHECK(ck.contains("model.0.weight"));
    const auto ck2 = checkpoint::deserialize(ck.serialize(), "file.ckpt");
    load_state(ck2, b);
    for (std::size_t i = 0; i < a.parameters().size(); ++i) {
        const auto &x = a.parameters()[i].value(), &y = b.parameters()[i].value();
        CHECK(std::equal(x.begin(), x.end(), y.begin()));
    }
    const float before = wide.parameters()[0].value()[0];
    CHECK_THROWS_WITH_AS(load_state(ck2, wide),
                         "checkpoint: parameter 0.weight has shape [4,8] in file.ckpt, the model expects [4,9]",
                         io_error);
    CHECK(wide.parameters()[0].value()[0] == before);  // a failed load changes nothing

    checkpoint partial;
    partial.put_tensor("model.0.weight", a.parameters()[0].value());
    CHECK_THROWS_WITH_AS(load_state(checkpoint::deserialize(partial.serialize(), "file.ckpt"), b),
                         "checkpoint: parameter 0.bias is missing from file.ckpt", io_error);
    checkpoint extra = checkpoint::deserialize(ck.serialize(), "file.ckpt");
    extra.put_tensor("model.3.weight", tensor::zeros({1}));
    CHECK_THROWS_WITH_AS(load_state(extra, b), "checkpoint: file.ckpt holds 3.weight, which the model does not have",
                         io_error);
    // entries under other prefixes are ignored
    checkpoint two = checkpoint::deserialize(ck.serialize(), "file.ckpt");
    two.put_tensor("teacher.0.weight", tensor::zeros({1}));
    CHECK_NOTHROW(load_state(two, b));
}

TEST_CASE("optimizer and generator state round-trip") {
    rng g(2);
    mlp m(g);
    adam opt(m.parameters(), {.lr = 0.01f});
    sum(m.forward(var(tensor::ones({3, 4})))).backward();
    opt.step();
    checkpoint ck;
    save_state(ck, opt);
    save_state(ck, g);
    const auto file = checkpoint::deserialize(ck.serialize(), "o.ckpt");

    adam fresh(m.parameters(), {.lr = 0.01f});
    load_state(file, fresh);
    CHECK(fresh.update_counts() == opt.update_counts());
    const auto s1 = opt.state_tensors(), s2 = fresh.state_tensors();
    for (std::size_t i = 0; i < s1.size(); ++i) CHECK(std::equal(s1[i].value.begin(), s1[i].value.end(), s2[i].value.begin()));
    rng h(99);
    load_state(file, h);
    CHECK(h == g);

    sgd other(m.parameters(), {.lr = 0.1f, .momentum = 0.9f});
    CHECK_THROWS_WITH_AS(load_state(file, other), "checkpoint: state momentum.0 is missing from o.ckpt", io_error);
    sgd plain(m.parameters(), {.lr = 0.1f});
    CHECK_THROWS_WITH_AS(load_state(file, plain), "checkpoint: o.ckpt holds exp_avg.0, which the optimizer does not have",
                         io_error);
    ck.put_ints("short", std::vector<std::int64_t>{1, 2, 3});
    CHECK_THROWS_WITH_AS(load_state(ck, h, "short"),
                         "checkpoint: entry \"short\" in <memory> holds 3 integers, a generator state has 4", io_error);
}

namespace {

// Synthetic two-class data and a training loop whose every source of
// randomness (batch choice) comes from gen, so a restored gen replays it.
struct task {
    static constexpr index_t n = 32, batch = 8;
    shape sample;
    tensor x;
    std::vector<std::int32_t> labels;
    explicit task(const shape& one) : sample(one) {
        std::vector<index_t> dims{n};
        dims.insert(dims.end(), one.begin(), one.end());
        x = tensor::uninitialized(shape(std::span<const index_t>(dims)));
        rng d(11);
        for (float& v : x) v = d.uniform(-1, 1);
        for (index_t i = 0; i < n; ++i) labels.push_back(x[i * one.numel()] + x[i * one.numel() + 1] > 0 ? 1 : 0);
    }
    void train(module& model, optimizer& opt, rng& gen, std::int64_t from, std::int64_t to) const {
        const cosine_schedule lr(0.05f, 0.001f, 20, 3);
        const index_t k = sample.numel();
        std::vector<index_t> dims{batch};
        dims.insert(dims.end(), sample.begin(), sample.end());
        for (std::int64_t step = from; step < to; ++step) {
            opt.set_lr(lr(step));
            tensor xb = tensor::uninitialized(shape(std::span<const index_t>(dims)));
            std::vector<std::int32_t> yb;
            for (index_t r = 0; r < batch; ++r) {
                const auto i = static_cast<index_t>(gen.below(n));
                std::copy_n(x.data() + i * k, k, xb.data() + r * k);
                yb.push_back(labels[static_cast<std::size_t>(i)]);
            }
            opt.zero_grad();
            cross_entropy(model.forward(var(xb)), yb).backward();
            clip_grad_norm(opt.params(), 1.0);
            opt.step();
        }
    }
};

bool bit_identical(const module& a, const module& b) {
    const auto pa = a.parameters(), pb = b.parameters();
    const auto ba = a.named_buffers(), bb = b.named_buffers();
    if (pa.size() != pb.size() || ba.size() != bb.size()) return false;
    auto same = [](const tensor& x, const tensor& y) {
        return std::memcmp(x.data(), y.data(), sizeof(float) * static_cast<std::size_t>(x.numel())) == 0;
    };
    for (std::size_t i = 0; i < pa.size(); ++i)
        if (!same(pa[i].value(), pb[i].value())) return false;
    for (std::size_t i = 0; i < ba.size(); ++i)
        if (!same(ba[i].value, bb[i].value)) return false;
    return true;
}

std::shared_ptr<module> make_mlp(rng& g) { return std::make_shared<mlp>(g); }
// Conv + BN (running statistics are buffers) + MBConv with a channel shuffle.
std::shared_ptr<module> make_convnet(rng& g) {
    return std::make_shared<sequential>(std::vector<std::shared_ptr<module>>{
        std::make_shared<conv_bn_act>(1, 4, 3, g),
        std::make_shared<mbconv>(4, 4, g, mbconv_options{.expansion = 2, .groups = 2}),
        std::make_shared<classifier_head>(4, 2, g)});
}

}  // namespace

TEST_CASE("a resumed run ends bit-identical to an uninterrupted one") {
    using make_opt = std::function<std::unique_ptr<optimizer>(std::vector<var>)>;
    using make_model = std::function<std::shared_ptr<module>(rng&)>;
    make_opt adamw_opt = [](std::vector<var> ps) {
        return std::make_unique<adamw>(std::move(ps), adam_options{.weight_decay = 0.01f});
    };
    make_opt sgd_opt = [](std::vector<var> ps) {
        return std::make_unique<sgd>(std::move(ps), sgd_options{.momentum = 0.9f, .weight_decay = 1e-3f, .nesterov = true});
    };
    const std::vector<std::pair<make_model, shape>> models{{make_mlp, {4}}, {make_convnet, {6, 6, 1}}};
    for (const auto& [make_net, sample] : models)
        for (const auto& make : {adamw_opt, sgd_opt}) {
            const task t(sample);
            const std::int64_t n = 6;
            rng init(1), gen(5);
            auto straight = make_net(init);
            auto opt = make(straight->parameters());
            t.train(*straight, *opt, gen, 0, 2 * n);

            temp_dir dir;
            {
                rng init2(1), gen2(5);
                auto first = make_net(init2);
                auto opt2 = make(first->parameters());
                t.train(*first, *opt2, gen2, 0, n);
                CHECK_FALSE(bit_identical(*first, *straight));
                save_training_checkpoint(dir / "run.ckpt", *first, *opt2, gen2, {1, n});
            }
            rng other_init(77), resumed_gen(123);
            auto resumed = make_net(other_init);
            auto opt3 = make(resumed->parameters());
            const training_progress p = load_training_checkpoint(dir / "run.ckpt", *resumed, *opt3, resumed_gen);
            CHECK(p.epoch == 1);
            CHECK(p.step == n);
            t.train(*resumed, *opt3, resumed_gen, p.step, 2 * n);
            CHECK(bit_identical(*straight, *resumed));
            CHECK(resumed_gen == gen);
            CHECK(opt3->update_counts() == opt->update_counts());
        }
}

TEST_CASE("a training checkpoint that does not fit changes nothing") {
    temp_dir dir;
    rng init(1), gen(5);
    mlp m(init);
    adam opt(m.parameters(), {});
    save_training_checkpoint(dir / "run.ckpt", m, opt, gen, {0, 3});
    mlp wide(init, 9);
    adam wide_opt(wide.parameters(), {});
    rng g2(8);
    const rng g2_before = g2;
    const float w0 = wide.parameters()[0].value()[0];
    CHECK_THROWS_WITH_AS(load_training_checkpoint(dir / "run.ckpt", wide, wide_opt, g2),
                         msg(fmt::format("checkpoint: parameter 0.weight has shape [4,8] in {}, the model expects [4,9]",
                                     (dir / "run.ckpt").string())),
                         io_error);
    CHECK(g2 == g2_before);
    CHECK(wide.parameters()[0].value()[0] == w0);
    // the optimizer is checked before anything is written, too
    mlp same(init);
    sgd wrong(same.parameters(), {.momentum = 0.5f});
    const float s0 = same.parameters()[0].value()[0];
    CHECK_THROWS_AS(load_training_checkpoint(dir / "run.ckpt", same, wrong, g2), io_error);
    CHECK(same.parameters()[0].value()[0] == s0);
}

}  // namespace test_checkpoint
