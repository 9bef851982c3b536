# ckpt_harness_add_plugin(<target> SOURCES <files>... [OUTPUT_DIRECTORY <dir>])
#
# Builds a ckpt-harness plugin: a shared library <target>.so (no "lib" prefix, hidden
# symbols but the two the harness looks up) linked to the plugin API (ckpt/plugin.hpp,
# LibTorch, Boost.DLL). Used in this repository for the bundled plugins and, installed with
# the CkptHarness package, by model repositories:
#
#   find_package(CkptHarness REQUIRED)
#   ckpt_harness_add_plugin(my_gan_v3 SOURCES my_gan_v3.cpp)
#
# The library goes to OUTPUT_DIRECTORY, else ${CKPT_PLUGIN_OUTPUT_DIR} when set, else
# ${CMAKE_BINARY_DIR}/ckpt-plugins; point the config's [plugins] paths (or --plugin-dir)
# there.
function(ckpt_harness_add_plugin name)
  cmake_parse_arguments(P "" "OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  if(NOT P_SOURCES)
    message(FATAL_ERROR "ckpt_harness_add_plugin(${name}): no SOURCES given")
  endif()
  set(output ${P_OUTPUT_DIRECTORY})
  if(NOT output)
    set(output ${CKPT_PLUGIN_OUTPUT_DIR})
  endif()
  if(NOT output)
    set(output ${CMAKE_BINARY_DIR}/ckpt-plugins)
  endif()
  add_library(${name} MODULE ${P_SOURCES})
  target_link_libraries(${name} PRIVATE CkptHarness::plugin_api)
  target_compile_features(${name} PRIVATE cxx_std_17)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${output})
  if(CKPT_PLUGIN_NO_GNU_UNIQUE)
    target_compile_options(${name} PRIVATE -fno-gnu-unique)
  endif()
endfunction()
