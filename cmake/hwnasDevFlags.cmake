# Flags for our own binaries only (tests, examples, benchmarks); never put on
# the hwnas target that users link.
add_library(hwnas_dev_flags INTERFACE)
target_compile_options(hwnas_dev_flags INTERFACE -Wall -Wextra -Wpedantic)
if(HWNAS_NATIVE)
  target_compile_options(hwnas_dev_flags INTERFACE -march=native)
  # GCC before 12.3 warns "__Y is / may be used uninitialized" inside its own
  # AVX-512 intrinsics (avx512fintrin.h, GCC bug 105593) wherever Eigen's
  # AVX-512 reductions are inlined. A pragma cannot reach a warning located in
  # a system header's inlined code, so such builds drop the two warnings.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 12.3)
    include(CheckCXXSourceCompiles)
    set(CMAKE_REQUIRED_FLAGS -march=native)
    check_cxx_source_compiles("#ifndef __AVX512F__\n#error no AVX-512\n#endif\nint main() { return 0; }"
      HWNAS_NATIVE_AVX512)
    unset(CMAKE_REQUIRED_FLAGS)
    if(HWNAS_NATIVE_AVX512)
      target_compile_options(hwnas_dev_flags INTERFACE -Wno-maybe-uninitialized -Wno-uninitialized)
    endif()
  endif()
endif()
if(HWNAS_SANITIZE)
  target_compile_options(hwnas_dev_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  target_link_options(hwnas_dev_flags INTERFACE -fsanitize=address,undefined)
endif()
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()
