#include <doctest/doctest.h>

#include <cstdint>

#include <hwnas/tensor/eigen_map.hpp>
#include <hwnas/tensor/tensor.hpp>
#include <hwnas/tensor/xtensor_view.hpp>
#include <xtensor/xview.hpp>

namespace test_tensor {

using namespace hwnas;

TEST_CASE("tensor storage is zeroed, contiguous and 64-byte aligned") {
    tensor t({2, 3, 4, 5});
    CHECK(t.numel() == 120);
    CHECK(t.rank() == 4);
    CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
    for (float v : t) CHECK(v == 0.0f);
    t.at({1, 2, 3, 4}) = 7;
    CHECK(t[119] == 7);
}

TEST_CASE("tensor memory counts live buffers and their peak") {
    const tensor_memory before = tensor_memory_usage();
    {
        const tensor big = tensor::uninitialized({1 << 20});  // 4 MiB
        const tensor copy = big;                              // shares the buffer: no more memory
        const tensor_memory during = tensor_memory_usage();
        CHECK(during.in_use_bytes == before.in_use_bytes + (std::size_t{4} << 20));
        CHECK(during.peak_bytes >= during.in_use_bytes);
    }
    CHECK(tensor_memory_usage().in_use_bytes == before.in_use_bytes);
    CHECK(tensor_memory_usage().peak_bytes >= before.in_use_bytes + (std::size_t{4} << 20));
    reset_tensor_memory_peak();
    CHECK(tensor_memory_usage().peak_bytes == before.in_use_bytes);
}

TEST_CASE("copies share storage, clone does not") {
    tensor a = tensor::full({3}, 1.0f);
    tensor b = a;
    tensor c = a.clone();
    b[0] = 5;
    CHECK(a[0] == 5);
    CHECK(c[0] == 1);
}

TEST_CASE("shape errors say what came and what was expected") {
    tensor t({2, 3});
    CHECK_THROWS_WITH_AS(t.reshape({4, 2}), "tensor::reshape: cannot view [2,3] (6 elements) as [4,2] (8 elements)",
                         shape_error);
    CHECK_THROWS_WITH_AS(t.at({2, 0}), "tensor::at: index 2 out of range for dimension 0 of shape [2,3]", shape_error);
    CHECK_THROWS_WITH_AS(t.at({0}), "tensor::at: 1 indices given for a rank-2 tensor of shape [2,3]", shape_error);
    CHECK_THROWS_WITH_AS(t.item(), "tensor::item: tensor has shape [2,3] (6 elements), expected 1 element",
                         shape_error);
    CHECK_THROWS_WITH_AS(tensor::from({2}, {1, 2, 3}), "tensor::from: 3 values given, shape [2] expects 2",
                         shape_error);
    CHECK_THROWS_WITH_AS(shape({1, 1, 1, 1, 1, 1, 1}), "shape: rank 7 exceeds the maximum rank 6", shape_error);
}

TEST_CASE("zero-copy Eigen and xtensor views") {
    tensor t = tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});
    auto m = as_matrix(t);
    CHECK(m.rows() == 2);
    CHECK(m(1, 2) == 6);
    m(0, 0) = 10;
    CHECK(t[0] == 10);
    CHECK_THROWS_AS(as_matrix(t, 4, 2), shape_error);

    auto x = as_xtensor(t);
    CHECK(x(1, 0) == 4);
    auto col = xt::view(x, xt::all(), 1);
    col(0) = -1;  // writes through to t
    CHECK(t[1] == -1);
    tensor back = from_xtensor(xt::view(x, 1, xt::all()));
    CHECK(back.shape() == shape{3});
    CHECK(back[2] == 6);
}

}  // namespace test_tensor
