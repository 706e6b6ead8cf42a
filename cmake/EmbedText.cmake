# Embeds text files (the configuration schema, technology tables) into the executable so that
# cimtlm runs from any directory. The YAML files stay the single source: they are read at build
# time into a generated header as raw string literals.
set(CIMTLM_GENERATED_DIR ${CMAKE_BINARY_DIR}/generated)
file(MAKE_DIRECTORY ${CIMTLM_GENERATED_DIR})

# cimtlm_embed_text(<output-header> <c++-identifier> <input-file>)
function(cimtlm_embed_text header identifier input)
  add_custom_command(
    OUTPUT ${header}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${input} -DOUTPUT=${header} -DIDENTIFIER=${identifier}
            -P ${CIMTLM_SOURCE_ROOT}/cmake/EmbedTextScript.cmake
    DEPENDS ${input} ${CIMTLM_SOURCE_ROOT}/cmake/EmbedTextScript.cmake
    COMMENT "Embedding ${input}")
endfunction()
