# ctest driver (cmake -P): install this build into a temporary prefix, build a tiny external
# SystemC project against find_package(cimtlm) and run it.
#   -DBUILD_DIR=<cimtlm build> -DPROJECT_DIR=<external project> -DWORK_DIR=<scratch>
#   [-DLAUNCHER=ccache] [-DCXX_COMPILER=<the compiler cimtlm was built with>]
#   [-DMODELS_ONLY_SOURCE=<cimtlm source>]: instead of installing BUILD_DIR, configure, build and
#   install a models-only build of that source (CIMTLM_MODELS_ONLY: SystemC alone, no ONNX,
#   protobuf, SQLite or Boost) and build the project against it.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed (${status}): ${ARGN}\n${out}\n${err}")
  endif()
  message("${out}")
endfunction()
set(launcher)
if(LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
# The same compiler as cimtlm's build: a sanitized (clang) build's libraries need clang's runtimes.
if(CXX_COMPILER)
  list(APPEND launcher -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
if(MODELS_ONLY_SOURCE)
  step(${CMAKE_COMMAND} -S ${MODELS_ONLY_SOURCE} -B ${WORK_DIR}/cimtlm -DCMAKE_BUILD_TYPE=Release
       -DCIMTLM_MODELS_ONLY=ON ${launcher})
  # What a models-only build must not need.
  file(READ ${WORK_DIR}/cimtlm/CMakeCache.txt cache)
  foreach(entry ONNX_DIR Protobuf_INCLUDE_DIR SQLite3_INCLUDE_DIR Boost_INCLUDE_DIR yaml-cpp_DIR)
    if(cache MATCHES "\n${entry}:")
      message(FATAL_ERROR "a models-only build looked for ${entry}")
    endif()
  endforeach()
  step(${CMAKE_COMMAND} --build ${WORK_DIR}/cimtlm -j 2)
  step(${CMAKE_COMMAND} --install ${WORK_DIR}/cimtlm --prefix ${prefix})
else()
  step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
endif()
get_filename_component(name ${PROJECT_DIR} NAME)
step(${CMAKE_COMMAND} -S ${PROJECT_DIR} -B ${WORK_DIR}/build -DCMAKE_BUILD_TYPE=Release
     -DCMAKE_PREFIX_PATH=${prefix} ${launcher})
step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
step(${WORK_DIR}/build/${name})
