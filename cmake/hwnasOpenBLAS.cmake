# hwnas::openblas: OpenBLAS (pthread build) with its cblas.h. Debian's
# OpenBLASConfig.cmake sets variables only, so the target is made here; the
# installed package config includes this same file.
if(NOT TARGET hwnas::openblas)
  find_package(OpenBLAS CONFIG QUIET)
  if(OpenBLAS_FOUND)
    set(_hwnas_blas_lib ${OpenBLAS_LIBRARIES})
    set(_hwnas_blas_inc ${OpenBLAS_INCLUDE_DIRS})
  else()
    find_library(_hwnas_blas_lib NAMES openblas REQUIRED)
    find_path(_hwnas_blas_inc NAMES cblas.h PATH_SUFFIXES openblas openblas-pthread REQUIRED)
  endif()
  add_library(hwnas::openblas INTERFACE IMPORTED)
  set_target_properties(hwnas::openblas PROPERTIES
    INTERFACE_LINK_LIBRARIES "${_hwnas_blas_lib}"
    INTERFACE_INCLUDE_DIRECTORIES "${_hwnas_blas_inc}")
endif()
