# ctest extensions_listed: every tlm_extension declared under models/ is asserted plain in
# test_extensions.cpp (so a new extension cannot skip the static proof).
# Usage: cmake -DSOURCE_DIR=<repo> -P check_extensions.cmake
file(GLOB_RECURSE headers "${SOURCE_DIR}/models/*.h" "${SOURCE_DIR}/models/*.cpp")
file(READ "${SOURCE_DIR}/testbenches/unit/kernel/test_extensions.cpp" test_source)
set(found 0)
foreach(header IN LISTS headers)
  file(STRINGS "${header}" lines REGEX "tlm_extension<[A-Za-z_0-9]+>")
  foreach(line IN LISTS lines)
    string(REGEX MATCHALL "tlm_extension<[A-Za-z_0-9]+>" uses "${line}")
    foreach(use IN LISTS uses)
      string(REGEX REPLACE "tlm_extension<([A-Za-z_0-9]+)>" "\\1" name "${use}")
      math(EXPR found "${found} + 1")
      if(NOT test_source MATCHES "CIMTLM_ASSERT_PLAIN_EXTENSION\\([a-z_:]*${name},")
        message(FATAL_ERROR "${header}: extension ${name} is not asserted plain in "
                            "testbenches/unit/kernel/test_extensions.cpp")
      endif()
    endforeach()
  endforeach()
endforeach()
if(found EQUAL 0)
  message(FATAL_ERROR "no tlm_extension found under ${SOURCE_DIR}/models: the check is broken")
endif()
message(STATUS "${found} extension declarations, all asserted plain")
