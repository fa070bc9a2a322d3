# Helpers shared by every cimkit target.
#
# Each layer of docs/architecture.md is an OBJECT library; executables (the binary, tests,
# benchmarks) link the objects of the layers they need directly, so the static registrars in
# implementation files are never dropped by the linker. All targets reuse one precompiled header
# (LibTorch headers are slow), which needs identical compile flags everywhere.

set(CIMKIT_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare)

# The precompiled header holder: every target reuses its PCH (LibTorch headers are slow).
function(cimkit_setup_pch)
  add_library(cimkit_pch OBJECT ${CMAKE_SOURCE_DIR}/cmake/pch_stub.cpp)
  target_link_libraries(cimkit_pch PUBLIC ${TORCH_LIBRARIES} yaml-cpp fmt::fmt nlohmann_json::nlohmann_json)
  target_compile_options(cimkit_pch PRIVATE ${CIMKIT_WARNINGS})
  if(CIMKIT_USE_PCH)
    target_precompile_headers(cimkit_pch PRIVATE ${CMAKE_SOURCE_DIR}/src/core/pch.hpp)
  endif()
endfunction()

function(cimkit_target_defaults target)
  target_compile_options(${target} PRIVATE ${CIMKIT_WARNINGS})
  target_include_directories(${target} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  if(CIMKIT_USE_PCH)
    target_precompile_headers(${target} REUSE_FROM cimkit_pch)
  endif()
endfunction()

# cimkit_module(name SOURCES ... DEPENDS ...): one layer.
function(cimkit_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(cimkit_${name} OBJECT ${M_SOURCES})
  target_link_libraries(cimkit_${name} PUBLIC ${TORCH_LIBRARIES} yaml-cpp fmt::fmt nlohmann_json::nlohmann_json)
  foreach(dep ${M_DEPENDS})
    target_link_libraries(cimkit_${name} PUBLIC cimkit_${dep})
  endforeach()
  cimkit_target_defaults(cimkit_${name})
endfunction()

# cimkit_link(target MODULES core device ...): links a layer's objects (and LibTorch etc.)
# straight into an executable, so static registrars are kept.
function(cimkit_link target)
  cmake_parse_arguments(L "" "" "MODULES" ${ARGN})
  foreach(m ${L_MODULES})
    target_link_libraries(${target} PRIVATE cimkit_${m})
  endforeach()
  target_link_libraries(${target} PRIVATE ${TORCH_LIBRARIES} yaml-cpp fmt::fmt nlohmann_json::nlohmann_json)
  cimkit_target_defaults(${target})
endfunction()
