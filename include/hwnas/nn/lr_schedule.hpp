#pragma once
// Learning-rate schedules as functions of the step (an iteration or an epoch,
// as the caller counts). They hold no state, so a resumed run gets the same
// rates from the restored step. Set them with opt.set_lr(schedule(step)).
#include <cmath>
#include <cstdint>
#include <functional>
#include <numbers>

#include "hwnas/error.hpp"

namespace hwnas {

using lr_schedule = std::function<float(std::int64_t step)>;

// Linear warm-up over the first warmup_steps steps (step s gets
// base_lr * (s + 1) / warmup_steps), then cosine annealing from base_lr at
// step warmup_steps to min_lr at step total_steps; min_lr afterwards.
struct cosine_schedule {
    float base_lr, min_lr;
    std::int64_t total_steps, warmup_steps;

    cosine_schedule(float base, float min, std::int64_t total, std::int64_t warmup = 0)
        : base_lr(base), min_lr(min), total_steps(total), warmup_steps(warmup) {
        require(base >= 0 && min >= 0 && min <= base,
                "cosine_schedule: base lr {} and minimum lr {} are invalid, expected 0 <= min <= base", base, min);
        require(warmup >= 0 && warmup < total,
                "cosine_schedule: {} warm-up steps for {} total steps, expected 0 <= warm-up < total", warmup, total);
    }

    float operator()(std::int64_t step) const {
        require(step >= 0, "cosine_schedule: step {} is negative", step);
        if (step < warmup_steps)
            return base_lr * static_cast<float>(step + 1) / static_cast<float>(warmup_steps);
        if (step >= total_steps) return min_lr;
        const double t = static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps);
        return static_cast<float>(min_lr + (base_lr - min_lr) * 0.5 * (1 + std::cos(std::numbers::pi * t)));
    }
};

// base_lr * gamma^floor(step / step_size).
struct step_schedule {
    float base_lr, gamma;
    std::int64_t step_size;

    step_schedule(float base, float factor, std::int64_t every) : base_lr(base), gamma(factor), step_size(every) {
        require(base >= 0, "step_schedule: base lr {} is negative", base);
        require(factor > 0 && factor <= 1, "step_schedule: gamma {} is out of range, expected (0, 1]", factor);
        require(every >= 1, "step_schedule: step size {} must be at least 1", every);
    }

    float operator()(std::int64_t step) const {
        require(step >= 0, "step_schedule: step {} is negative", step);
        return static_cast<float>(base_lr * std::pow(static_cast<double>(gamma), static_cast<double>(step / step_size)));
    }
};

}  // namespace hwnas
