# cmake --install: the model libraries (cimtlm::<block> targets), their headers under
# include/cimtlm (project-relative paths: #include "models/core/core.h") and a CMake package,
# so that another SystemC project can find_package(cimtlm) and bind a cimtlm core or macro.
# The cimtlm executable installs itself (platforms/CMakeLists.txt) unless CIMTLM_MODELS_ONLY.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(CIMTLM_MODEL_TARGETS systemc kernel int8_gemm cim_array cim memory program arith noc power_model
    power core)
set(CIMTLM_INSTALLED_TARGETS)
foreach(block ${CIMTLM_MODEL_TARGETS})
  set_target_properties(cimtlm_${block} PROPERTIES EXPORT_NAME ${block})
  list(APPEND CIMTLM_INSTALLED_TARGETS cimtlm_${block})
endforeach()
# A sanitized or fuzzing build's libraries call the sanitizer runtimes: whoever links them must
# link those too (with the same compiler, clang for the fuzzing build).
set(CIMTLM_CONSUMER_LINK_OPTIONS)
if(CIMTLM_SANITIZE)
  list(APPEND CIMTLM_CONSUMER_LINK_OPTIONS "-fsanitize=address$<COMMA>undefined")
endif()
if(CIMTLM_FUZZ)
  list(APPEND CIMTLM_CONSUMER_LINK_OPTIONS -fsanitize=fuzzer-no-link)
endif()
if(CIMTLM_CONSUMER_LINK_OPTIONS)
  foreach(target ${CIMTLM_INSTALLED_TARGETS})
    foreach(option ${CIMTLM_CONSUMER_LINK_OPTIONS})
      target_link_options(${target} INTERFACE $<INSTALL_INTERFACE:${option}>)
    endforeach()
  endforeach()
endif()
set(CIMTLM_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/cimtlm)

install(TARGETS ${CIMTLM_INSTALLED_TARGETS} EXPORT cimtlmTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cimtlm)
install(DIRECTORY ${CIMTLM_SOURCE_ROOT}/models ${CIMTLM_SOURCE_ROOT}/kernels
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cimtlm
        FILES_MATCHING PATTERN "*.h")
install(EXPORT cimtlmTargets NAMESPACE cimtlm:: DESTINATION ${CIMTLM_INSTALL_CMAKEDIR})
configure_package_config_file(${CIMTLM_SOURCE_ROOT}/cmake/cimtlmConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/cimtlmConfig.cmake
                              INSTALL_DESTINATION ${CIMTLM_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cimtlmConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cimtlmConfig.cmake ${CMAKE_BINARY_DIR}/cimtlmConfigVersion.cmake
        DESTINATION ${CIMTLM_INSTALL_CMAKEDIR})
