# Warnings on for every cimtlm target (STYLE.md item 11). Applied per target through
# cimtlm_target_defaults() so third-party headers are not affected.
function(cimtlm_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
  # Installed headers keep their project-relative paths under include/cimtlm.
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${CIMTLM_SOURCE_ROOT}>
                             $<BUILD_INTERFACE:${CIMTLM_GENERATED_DIR}>
                             $<INSTALL_INTERFACE:include/cimtlm>)
endfunction()

# add_cimtlm_library(<folder-name> <alias-suffix> SOURCES ... DEPS ...)
function(add_cimtlm_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(cimtlm_${name} STATIC ${ARG_SOURCES})
  add_library(cimtlm::${name} ALIAS cimtlm_${name})
  cimtlm_target_defaults(cimtlm_${name})
  target_link_libraries(cimtlm_${name} PUBLIC ${ARG_DEPS})
endfunction()
