# Third-party dependencies, all from Debian 12 packages (scripts/setup.sh installs them).
find_package(PkgConfig REQUIRED)

# Debian's libsystemc-dev ships a pkg-config file but no CMake package.
pkg_check_modules(SYSTEMC REQUIRED IMPORTED_TARGET systemc)
add_library(cimtlm_systemc INTERFACE)
target_link_libraries(cimtlm_systemc INTERFACE PkgConfig::SYSTEMC)
# SystemC 2.3 headers use deprecated std facilities; keep our -Wpedantic output readable.
target_compile_definitions(cimtlm_systemc INTERFACE SC_INCLUDE_DYNAMIC_PROCESSES)
add_library(cimtlm::systemc ALIAS cimtlm_systemc)

find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)
if(CIMTLM_WITH_ONEDNN)
  # oneDNN (libdnnl-dev) for exact int8 products on VNNI hosts; OpenMP sets its thread count.
  find_package(dnnl CONFIG REQUIRED)
  find_package(OpenMP REQUIRED)
endif()
if(NOT CIMTLM_MODELS_ONLY)
  find_package(yaml-cpp REQUIRED)
  find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
  find_package(SQLite3 REQUIRED)
  find_package(Protobuf REQUIRED)
  find_package(ONNX REQUIRED)
endif()
if(CIMTLM_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(CIMTLM_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
