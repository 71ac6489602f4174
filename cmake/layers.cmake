# Reads cmake/layers.txt (the layer graph; its header says the format) for
# common/CMakeLists.txt. scripts/check_layers.py reads the same file.

# Sets PB_LAYERS (in file order) and PB_LAYER_USES_<layer> (the layers it
# names) in the caller's scope.
function(pb_read_layers file)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
  file(STRINGS ${file} lines ENCODING UTF-8)
  set(layers)
  foreach(line IN LISTS lines)
    if(line MATCHES "^[ \t]*(#|$)")
      continue()
    endif()
    if(NOT line MATCHES "^([a-z_]+):[ \t]*([a-z_ \t]*)$")
      message(FATAL_ERROR "${file}: expected \"<layer>: <layers it uses>\", got \"${line}\"")
    endif()
    set(layer ${CMAKE_MATCH_1})
    string(REGEX REPLACE "[ \t]+" ";" uses "${CMAKE_MATCH_2}")
    list(REMOVE_ITEM uses "")
    foreach(used IN LISTS uses)
      if(NOT used IN_LIST layers)
        message(FATAL_ERROR "${file}: ${layer} uses ${used}, which is not a layer above it")
      endif()
    endforeach()
    list(APPEND layers ${layer})
    set(PB_LAYER_USES_${layer} ${uses} PARENT_SCOPE)
  endforeach()
  set(PB_LAYERS ${layers} PARENT_SCOPE)
endfunction()

# Sets `out` to the libraries that `layer` links: pb_<used> for each layer it
# uses, or, for a used layer that has no library (no sources yet), what that
# layer uses in turn.
function(pb_layer_links out layer)
  set(links)
  foreach(used IN LISTS PB_LAYER_USES_${layer})
    if(TARGET pb_${used})
      list(APPEND links pb_${used})
    else()
      pb_layer_links(deeper ${used})
      list(APPEND links ${deeper})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES links)
  set(${out} ${links} PARENT_SCOPE)
endfunction()
