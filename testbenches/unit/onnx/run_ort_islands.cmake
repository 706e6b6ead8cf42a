# ctest script (cmake -P): QDQ / QLinear models with float islands must come out of cimtlm's
# lower_quantized + reference executor exactly as onnxruntime 1.22 computes them. The graph
# onnxruntime itself runs (saved after its "extended" optimizations: com.microsoft QLinearAdd,
# QLinearMul, QLinearSoftmax, QGemm, ...) must give the same integers through cimtlm too.
#   -DPYTHON=/usr/bin/python3 -DNODE=node -DORT_DIR=<scripts/ort> -DGENERATOR=<make_ort_island_models.py>
#   -DDRIVER=<onnx_conformance> -DWORK=<scratch directory>
if(NOT EXISTS "${ORT_DIR}/node_modules/onnxruntime-node/package.json")
  message(FATAL_ERROR
    "onnxruntime is not installed: run `npm ci` in ${ORT_DIR} (scripts/setup.sh does) and re-run.")
endif()
if(NOT NODE)
  message(FATAL_ERROR "node (Node.js) was not found; it runs onnxruntime (scripts/ort/run_ort.js)")
endif()

file(REMOVE_RECURSE "${WORK}")
execute_process(COMMAND "${PYTHON}" "${GENERATOR}" "${WORK}" RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "generating the island models failed (${GENERATOR})")
endif()

file(STRINGS "${WORK}/cases.txt" cases)
set(failed "")
foreach(case IN LISTS cases)
  set(dir "${WORK}/${case}")
  file(GLOB inputs "${dir}/test_data_set_0/input_*.pb")
  list(SORT inputs COMPARE NATURAL)  # input_10 after input_9
  set(optimized "${WORK}/${case}_ort_optimized")
  file(MAKE_DIRECTORY "${optimized}")
  execute_process(COMMAND "${NODE}" "${ORT_DIR}/run_ort.js" "${dir}/model.onnx" ${inputs}
                          --output-dir "${dir}/test_data_set_0"
                          --save-optimized "${optimized}/model.onnx" --save-optimized-level extended
                  RESULT_VARIABLE status ERROR_VARIABLE ort_error)
  if(NOT status EQUAL 0)
    message(SEND_ERROR "${case}: onnxruntime failed: ${ort_error}")
    list(APPEND failed ${case})
    continue()
  endif()
  file(COPY "${dir}/test_data_set_0" DESTINATION "${optimized}")
  set(variants "${dir}" "${optimized}")
  if(case MATCHES "^float_islands_")
    # General float islands: onnxruntime's optimized graph holds contrib ops cimtlm does not
    # import (SimplifiedLayerNormalization from the primitive LayerNorm); the model as written
    # is compared (onnxruntime applies those fusions when it runs it, too). The optimized graph
    # is removed, so that platform_vs_ort_islands (all */model.onnx) leaves it out as well.
    set(variants "${dir}")
    file(REMOVE_RECURSE "${optimized}")
  endif()
  foreach(variant ${variants})
    execute_process(COMMAND "${DRIVER}" "${variant}" --lower RESULT_VARIABLE status
                    OUTPUT_VARIABLE report ERROR_VARIABLE report)
    string(STRIP "${report}" report)
    message(STATUS "${report}")
    if(NOT status EQUAL 0)
      get_filename_component(variant_name "${variant}" NAME)
      list(APPEND failed ${variant_name})
    endif()
  endforeach()
endforeach()
list(LENGTH cases total)
if(failed)
  message(FATAL_ERROR "cimtlm differs from onnxruntime on: ${failed}")
endif()
message(STATUS "all ${total} island models, as written and as onnxruntime optimizes them, match "
               "onnxruntime bit for bit")
