// Uses the installed package: a tiny model trained one step through autograd.
#include <hwnas/gram.hpp>

#include <cstdio>

int main() {
    hwnas::var x(hwnas::tensor::from({2, 3}, {1, 2, 3, 4, 5, 6}));
    hwnas::var w(hwnas::tensor::full({3, 1}, 0.5f), true);
    hwnas::var loss = hwnas::mean(hwnas::linear(x, w));
    loss.backward();
    // d mean(x w) / dw = column means of x = [2.5, 3.5, 4.5]
    const bool ok = w.grad()[0] == 2.5f && w.grad()[2] == 4.5f;
    std::printf("consumer: loss %.3f, %s\n", loss.value().item(), ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
