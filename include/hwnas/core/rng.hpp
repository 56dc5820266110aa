#pragma once
// Seeded random generator (xoshiro256**). Its distributions are written here,
// not taken from <random>, so a seed gives the same numbers on every standard
// library, and its state is four integers that a checkpoint can store.
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <utility>
#include <vector>

#include "hwnas/error.hpp"

namespace hwnas {

class rng {
public:
    using state_type = std::array<std::uint64_t, 4>;

    explicit rng(std::uint64_t seed = 0) { reseed(seed); }

    void reseed(std::uint64_t seed) {
        std::uint64_t x = seed;
        for (auto& s : s_) s = splitmix64(x);
    }

    std::uint64_t next_u64() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // Uniform in [0, 1) with 24 random bits (every value is an exact float).
    float uniform() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }
    float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
    // Uniform in (0, 1): safe for log().
    double uniform_open() { return (static_cast<double>(next_u64() >> 11) + 0.5) * 0x1.0p-53; }

    // Standard normal (Box-Muller, one value per call so the state stays 4 words).
    float normal() {
        const double u1 = uniform_open(), u2 = uniform_open();
        return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2));
    }
    float normal(float mean, float stddev) { return mean + stddev * normal(); }

    // Uniform integer in [0, n) without modulo bias.
    std::uint64_t below(std::uint64_t n) {
        if (n == 0) throw config_error("rng::below: the range is empty (n = 0), expected n >= 1");
        const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
        std::uint64_t x;
        do x = next_u64();
        while (x >= limit);
        return x % n;
    }

    bool bernoulli(double p) { return uniform_open() < p; }

    template <class T>
    void shuffle(std::vector<T>& v) {
        for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
    }

    // A generator for an independent stream (e.g. one per worker or per module).
    rng split() { return rng(next_u64()); }

    const state_type& state() const { return s_; }
    void set_state(const state_type& s) {
        if (s == state_type{}) throw config_error("rng::set_state: the all-zero state is invalid for xoshiro256**");
        s_ = s;
    }

    friend bool operator==(const rng& a, const rng& b) { return a.s_ == b.s_; }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static std::uint64_t splitmix64(std::uint64_t& x) {
        std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    state_type s_{};
};

}  // namespace hwnas
