# Flags for our own binaries only (tests, examples, benchmarks); never put on
# the hwnas target that users link.
add_library(hwnas_dev_flags INTERFACE)
target_compile_options(hwnas_dev_flags INTERFACE -Wall -Wextra -Wpedantic)
if(HWNAS_NATIVE)
  target_compile_options(hwnas_dev_flags INTERFACE -march=native)
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
