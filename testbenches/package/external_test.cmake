# ctest driver (cmake -P): install this build into a temporary prefix, build a tiny external
# SystemC project against find_package(cimtlm) and run it.
#   -DBUILD_DIR=<cimtlm build> -DPROJECT_DIR=<external project> -DWORK_DIR=<scratch>
#   [-DLAUNCHER=ccache] [-DCXX_COMPILER=<the compiler cimtlm was built with>]
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed (${status}): ${ARGN}\n${out}\n${err}")
  endif()
  message("${out}")
endfunction()
step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
set(launcher)
if(LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
# The same compiler as cimtlm's build: a sanitized (clang) build's libraries need clang's runtimes.
if(CXX_COMPILER)
  list(APPEND launcher -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
get_filename_component(name ${PROJECT_DIR} NAME)
step(${CMAKE_COMMAND} -S ${PROJECT_DIR} -B ${WORK_DIR}/build -DCMAKE_BUILD_TYPE=Release
     -DCMAKE_PREFIX_PATH=${prefix} ${launcher})
step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
step(${WORK_DIR}/build/${name})
