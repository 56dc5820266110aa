#pragma once
// Checkpoints: named float32 tensors and byte blobs (integers, generator
// state, text) in a versioned binary file with a CRC32 over the payload,
// written atomically. save_state/load_state move a module's parameters and
// buffers, an optimizer's state and a generator's state in and out; loading
// checks every name and shape first and changes nothing when one differs.
//
// File layout (little-endian):
//   "HWNASCKP"  u32 version  u32 crc32(payload)  u64 payload size  payload
//   payload: u64 entry count, then per entry: u8 kind, u32 name length, name,
//     tensor (kind 0): u8 rank, rank x i64 extents, numel x f32
//     blob   (kind 1): u64 size, bytes
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include "hwnas/core/rng.hpp"
#include "hwnas/io/atomic_file.hpp"
#include "hwnas/nn/module.hpp"
#include "hwnas/nn/optimizer.hpp"

namespace hwnas {

// The format is written with plain memcpy of integers and floats.
static_assert(std::endian::native == std::endian::little, "hwnas checkpoints assume a little-endian machine");

inline constexpr std::uint32_t checkpoint_version = 1;

class checkpoint {
public:
    static constexpr std::string_view magic = "HWNASCKP";
    static constexpr std::size_t header_size = 24;

    checkpoint() = default;

    // Adds a tensor entry (a copy, so later training does not change it).
    void put_tensor(std::string name, const tensor& t) {
        require(t.defined(), "checkpoint: tensor entry \"{}\" is undefined (no storage)", name);
        add({std::move(name), t.clone(), {}});
    }
    void put_bytes(std::string name, std::span<const std::byte> bytes) {
        add({std::move(name), tensor(), std::vector<std::byte>(bytes.begin(), bytes.end())});
    }
    void put_text(std::string name, std::string_view text) {
        put_bytes(std::move(name), std::as_bytes(std::span<const char>(text.data(), text.size())));
    }
    void put_ints(std::string name, std::span<const std::int64_t> values) {
        put_bytes(std::move(name), std::as_bytes(values));
    }
    void put_int(std::string name, std::int64_t value) { put_ints(std::move(name), std::span(&value, 1)); }

    bool contains(std::string_view name) const { return index_.count(std::string(name)) > 0; }
    bool is_tensor(std::string_view name) const { return find(name).value.defined(); }
    const tensor& get_tensor(std::string_view name) const {
        const entry& e = find(name);
        require<io_error>(e.value.defined(), "checkpoint: entry \"{}\" in {} is a byte blob, expected a tensor", name,
                          source_);
        return e.value;
    }
    std::span<const std::byte> get_bytes(std::string_view name) const {
        const entry& e = find(name);
        require<io_error>(!e.value.defined(), "checkpoint: entry \"{}\" in {} is a tensor, expected a byte blob", name,
                          source_);
        return e.bytes;
    }
    std::string get_text(std::string_view name) const {
        auto b = get_bytes(name);
        return {reinterpret_cast<const char*>(b.data()), b.size()};
    }
    std::vector<std::int64_t> get_ints(std::string_view name) const {
        auto b = get_bytes(name);
        require<io_error>(b.size() % sizeof(std::int64_t) == 0,
                          "checkpoint: entry \"{}\" in {} has {} bytes, expected a multiple of 8 (64-bit integers)",
                          name, source_, b.size());
        std::vector<std::int64_t> v(b.size() / sizeof(std::int64_t));
        std::memcpy(v.data(), b.data(), b.size());
        return v;
    }
    std::int64_t get_int(std::string_view name) const {
        auto v = get_ints(name);
        require<io_error>(v.size() == 1, "checkpoint: entry \"{}\" in {} holds {} integers, expected 1", name, source_,
                          v.size());
        return v[0];
    }

    // Entry names in insertion (file) order.
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& e : entries_) out.push_back(e.name);
        return out;
    }
    // The file this checkpoint was read from, for messages ("<memory>" otherwise).
    const std::string& source() const { return source_; }

    std::vector<std::byte> serialize() const {
        std::vector<std::byte> out(header_size);
        put_pod(out, static_cast<std::uint64_t>(entries_.size()));
        for (const auto& e : entries_) {
            put_pod(out, static_cast<std::uint8_t>(e.value.defined() ? 0 : 1));
            put_pod(out, static_cast<std::uint32_t>(e.name.size()));
            put_raw(out, e.name.data(), e.name.size());
            if (e.value.defined()) {
                put_pod(out, static_cast<std::uint8_t>(e.value.rank()));
                for (index_t d : e.value.shape()) put_pod(out, static_cast<std::int64_t>(d));
                put_raw(out, e.value.data(), static_cast<std::size_t>(e.value.numel()) * sizeof(float));
            } else {
                put_pod(out, static_cast<std::uint64_t>(e.bytes.size()));
                put_raw(out, e.bytes.data(), e.bytes.size());
            }
        }
        const std::uint64_t payload = out.size() - header_size;
        std::memcpy(out.data(), magic.data(), magic.size());
        std::memcpy(out.data() + 8, &checkpoint_version, 4);
        const auto crc = crc_of(std::span(out).subspan(header_size));
        std::memcpy(out.data() + 12, &crc, 4);
        std::memcpy(out.data() + 16, &payload, 8);
        return out;
    }

    // Parses a serialized checkpoint; source names it in messages.
    static checkpoint deserialize(std::span<const std::byte> file, std::string source) {
        checkpoint c;
        c.source_ = std::move(source);
        const std::string& src = c.source_;
        if (file.size() >= magic.size() && std::memcmp(file.data(), magic.data(), magic.size()) != 0)
            throw io_error(fmt::format("checkpoint: {} is not an hwnas checkpoint (bad magic)", src));
        if (file.size() < header_size)
            throw io_error(fmt::format("checkpoint: {} is truncated ({} bytes, shorter than the {}-byte header)", src,
                                       file.size(), header_size));
        std::uint32_t version, crc;
        std::uint64_t payload;
        std::memcpy(&version, file.data() + 8, 4);
        std::memcpy(&crc, file.data() + 12, 4);
        std::memcpy(&payload, file.data() + 16, 8);
        if (version != checkpoint_version)
            throw io_error(fmt::format("checkpoint: {} has format version {}, this build reads version {}", src,
                                       version, checkpoint_version));
        const std::size_t rest = file.size() - header_size;
        if (rest != payload)
            throw io_error(fmt::format("checkpoint: {} is {} ({} bytes, the header announces {})", src,
                                       rest < payload ? "truncated" : "corrupt", file.size(), payload + header_size));
        if (crc_of(file.subspan(header_size)) != crc)
            throw io_error(fmt::format("checkpoint: {} is corrupt (checksum mismatch)", src));

        reader r{file.subspan(header_size), &src};
        const auto count = r.pod<std::uint64_t>();
        for (std::uint64_t i = 0; i < count; ++i) {
            entry e;
            const auto kind = r.pod<std::uint8_t>();
            const auto name_len = r.pod<std::uint32_t>();
            e.name.resize(name_len);
            r.raw(e.name.data(), name_len);
            if (kind == 0) {
                const auto rank = r.pod<std::uint8_t>();
                if (rank > max_rank) r.fail(fmt::format("entry {} has rank {}", e.name, rank));
                std::vector<index_t> dims(rank);
                std::uint64_t numel = 1;
                for (auto& d : dims) {
                    d = r.pod<std::int64_t>();
                    // Checked before allocating, so a corrupt extent cannot ask for huge memory.
                    if (d < 0 || (d > 0 && numel > r.left() / sizeof(float) / static_cast<std::uint64_t>(d)))
                        r.fail(fmt::format("entry {} has an invalid extent {}", e.name, d));
                    numel *= static_cast<std::uint64_t>(d);
                }
                e.value = tensor::uninitialized(shape(std::span<const index_t>(dims)));
                r.raw(e.value.data(), static_cast<std::size_t>(numel) * sizeof(float));
            } else if (kind == 1) {
                e.bytes.resize(r.check(r.pod<std::uint64_t>()));
                r.raw(e.bytes.data(), e.bytes.size());
            } else {
                r.fail(fmt::format("entry {} has unknown kind {}", e.name, kind));
            }
            if (c.contains(e.name)) r.fail(fmt::format("entry {} appears twice", e.name));
            c.add(std::move(e));
        }
        if (r.left() != 0) r.fail(fmt::format("{} bytes follow the last entry", r.left()));
        return c;
    }

    // Writes the checkpoint atomically (temporary file, fsync, rename, directory fsync).
    void save(const std::filesystem::path& path) const { write_file_atomically(path, serialize()); }

    static checkpoint load(const std::filesystem::path& path) {
        const std::string src = path.string();
        const int fd = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw io_error(fmt::format("checkpoint: cannot open {}: {}", src, std::strerror(errno)));
        std::vector<std::byte> bytes;
        std::byte buf[1 << 16];
        for (;;) {
            const ::ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                const std::string err = std::strerror(errno);
                ::close(fd);
                throw io_error(fmt::format("checkpoint: cannot read {}: {}", src, err));
            }
            if (n == 0) break;
            bytes.insert(bytes.end(), buf, buf + n);
        }
        ::close(fd);
        return deserialize(bytes, src);
    }

private:
    struct entry {
        std::string name;
        tensor value;  // defined for a tensor entry
        std::vector<std::byte> bytes;
    };

    struct reader {
        std::span<const std::byte> data;
        const std::string* source;
        std::size_t pos = 0;

        std::size_t left() const { return data.size() - pos; }
        [[noreturn]] void fail(const std::string& what) const {
            throw io_error(fmt::format("checkpoint: {} is corrupt ({})", *source, what));
        }
        std::size_t check(std::uint64_t n) const {
            if (n > left()) fail(fmt::format("an entry runs past the end of the payload at byte {}", pos));
            return static_cast<std::size_t>(n);
        }
        void raw(void* out, std::size_t n) {
            check(n);
            if (n > 0) std::memcpy(out, data.data() + pos, n);
            pos += n;
        }
        template <class T>
        T pod() {
            T v;
            raw(&v, sizeof v);
            return v;
        }
    };

    static std::uint32_t crc_of(std::span<const std::byte> payload) {
        return static_cast<std::uint32_t>(
            crc32_z(crc32_z(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(payload.data()), payload.size()));
    }
    static void put_raw(std::vector<std::byte>& out, const void* p, std::size_t n) {
        const auto* b = static_cast<const std::byte*>(p);
        out.insert(out.end(), b, b + n);
    }
    template <class T>
    static void put_pod(std::vector<std::byte>& out, T v) {
        put_raw(out, &v, sizeof v);
    }

    void add(entry e) {
        require(!e.name.empty(), "checkpoint: an entry name is empty");
        require(!contains(e.name), "checkpoint: entry \"{}\" is already present", e.name);
        index_.emplace(e.name, entries_.size());
        entries_.push_back(std::move(e));
    }
    const entry& find(std::string_view name) const {
        auto it = index_.find(std::string(name));
        if (it == index_.end()) throw io_error(fmt::format("checkpoint: no entry \"{}\" in {}", name, source_));
        return entries_[it->second];
    }

    std::vector<entry> entries_;
    std::map<std::string, std::size_t, std::less<>> index_;
    std::string source_ = "<memory>";
};

namespace detail {

// A tensor the checkpoint must provide: kind ("parameter", "buffer", "state")
// and name for messages; target receives the data.
struct expected_tensor {
    const char* kind;
    std::string name;
    tensor target;
};

// Pending copies from checkpoint tensors into targets: checked first, applied
// together, so a mismatch leaves everything unchanged.
using load_plan = std::vector<std::pair<tensor, tensor>>;

// Matches the checkpoint entries under prefix against expected (plus the
// blob names in blobs): names the first missing, unexpected or mis-shaped entry.
inline void plan_load(const checkpoint& ck, std::string_view prefix, std::string_view owner,
                      const std::vector<expected_tensor>& expected, const std::vector<std::string>& blobs,
                      load_plan& plan) {
    std::unordered_set<std::string> known(blobs.begin(), blobs.end());
    for (const auto& b : blobs)
        if (!ck.contains(fmt::format("{}{}", prefix, b)))
            throw io_error(fmt::format("checkpoint: {} entry {} is missing from {}", owner, b, ck.source()));
    for (const auto& e : expected) {
        const std::string full = fmt::format("{}{}", prefix, e.name);
        if (!ck.contains(full))
            throw io_error(fmt::format("checkpoint: {} {} is missing from {}", e.kind, e.name, ck.source()));
        const tensor& src = ck.get_tensor(full);
        if (!(src.shape() == e.target.shape()))
            throw io_error(fmt::format("checkpoint: {} {} has shape {} in {}, the {} expects {}", e.kind, e.name,
                                       src.shape(), ck.source(), owner, e.target.shape()));
        known.insert(e.name);
        plan.emplace_back(src, e.target);
    }
    for (const auto& full : ck.names())
        if (full.starts_with(prefix) && !known.count(full.substr(prefix.size())))
            throw io_error(fmt::format("checkpoint: {} holds {}, which the {} does not have", ck.source(),
                                       full.substr(prefix.size()), owner));
}

inline void apply_plan(const load_plan& plan) {
    for (auto [src, dst] : plan) std::copy(src.begin(), src.end(), dst.begin());
}

inline std::vector<expected_tensor> expected_of(const module& m) {
    std::vector<expected_tensor> out;
    for (const auto& p : m.named_parameters()) out.push_back({"parameter", p.name, p.param.value()});
    for (const auto& b : m.named_buffers()) out.push_back({"buffer", b.name, b.value});
    return out;
}

inline std::vector<expected_tensor> expected_of(const optimizer& opt) {
    std::vector<expected_tensor> out;
    for (const auto& s : opt.state_tensors()) out.push_back({"state", s.name, s.value});
    return out;
}

inline std::vector<std::int64_t> planned_counts(const checkpoint& ck, std::string_view prefix, const optimizer& opt,
                                                load_plan& plan) {
    plan_load(ck, prefix, "optimizer", expected_of(opt), {"update_counts"}, plan);
    auto counts = ck.get_ints(fmt::format("{}update_counts", prefix));
    if (counts.size() != opt.params().size())
        throw io_error(fmt::format("checkpoint: {} holds update counts for {} parameters, the optimizer has {}",
                                   ck.source(), counts.size(), opt.params().size()));
    return counts;
}

inline rng::state_type planned_rng(const checkpoint& ck, std::string_view name) {
    const auto v = ck.get_ints(name);
    if (v.size() != 4)
        throw io_error(fmt::format("checkpoint: entry \"{}\" in {} holds {} integers, a generator state has 4", name,
                                   ck.source(), v.size()));
    rng::state_type s;
    for (std::size_t i = 0; i < 4; ++i) s[i] = static_cast<std::uint64_t>(v[i]);
    return s;
}

}  // namespace detail

// A module's parameters and buffers under prefix (e.g. "model.blocks.3.dw.weight").
inline void save_state(checkpoint& ck, const module& m, std::string_view prefix = "model.") {
    for (const auto& p : m.named_parameters()) ck.put_tensor(fmt::format("{}{}", prefix, p.name), p.param.value());
    for (const auto& b : m.named_buffers()) ck.put_tensor(fmt::format("{}{}", prefix, b.name), b.value);
}
inline void load_state(const checkpoint& ck, module& m, std::string_view prefix = "model.") {
    detail::load_plan plan;
    detail::plan_load(ck, prefix, "model", detail::expected_of(m), {}, plan);
    detail::apply_plan(plan);
}

// An optimizer's moment buffers and per-parameter update counts.
inline void save_state(checkpoint& ck, const optimizer& opt, std::string_view prefix = "optimizer.") {
    for (const auto& s : opt.state_tensors()) ck.put_tensor(fmt::format("{}{}", prefix, s.name), s.value);
    ck.put_ints(fmt::format("{}update_counts", prefix), opt.update_counts());
}
inline void load_state(const checkpoint& ck, optimizer& opt, std::string_view prefix = "optimizer.") {
    detail::load_plan plan;
    auto counts = detail::planned_counts(ck, prefix, opt, plan);
    detail::apply_plan(plan);
    opt.set_update_counts(std::move(counts));
}

// A generator's state, as one entry.
inline void save_state(checkpoint& ck, const rng& gen, std::string_view name = "rng") {
    std::vector<std::int64_t> v;
    for (auto w : gen.state()) v.push_back(static_cast<std::int64_t>(w));
    ck.put_ints(std::string(name), v);
}
inline void load_state(const checkpoint& ck, rng& gen, std::string_view name = "rng") {
    gen.set_state(detail::planned_rng(ck, name));
}

// Where a training run is; stored with the training checkpoint.
struct training_progress {
    std::int64_t epoch = 0;
    std::int64_t step = 0;
};

// Everything a run needs to resume bit-identically: model parameters and
// buffers, optimizer state, the generator (data order, augmentation, sampling)
// and the progress counters. The learning rate follows from the step through
// the schedule.
inline void save_training_checkpoint(const std::filesystem::path& path, const module& model, const optimizer& opt,
                                     const rng& gen, training_progress progress) {
    checkpoint ck;
    save_state(ck, model);
    save_state(ck, opt);
    save_state(ck, gen);
    ck.put_int("epoch", progress.epoch);
    ck.put_int("step", progress.step);
    ck.save(path);
}

// Restores what save_training_checkpoint wrote; on any mismatch throws and
// changes nothing.
inline training_progress load_training_checkpoint(const std::filesystem::path& path, module& model, optimizer& opt,
                                                   rng& gen) {
    const checkpoint ck = checkpoint::load(path);
    detail::load_plan plan;
    detail::plan_load(ck, "model.", "model", detail::expected_of(model), {}, plan);
    auto counts = detail::planned_counts(ck, "optimizer.", opt, plan);
    const auto state = detail::planned_rng(ck, "rng");
    const training_progress progress{ck.get_int("epoch"), ck.get_int("step")};
    detail::apply_plan(plan);
    opt.set_update_counts(std::move(counts));
    gen.set_state(state);
    return progress;
}

}  // namespace hwnas
