# stoa_embed_text(OUT_CPP SYMBOL FILE): turns a text file into a .cpp that defines
# `std::string_view SYMBOL()`, so the embedded defaults ship inside the binary.
function(stoa_embed_text out_cpp symbol file)
  file(READ ${file} STOA_EMBED_CONTENT)
  set(STOA_EMBED_SYMBOL ${symbol})
  configure_file(${PROJECT_SOURCE_DIR}/cmake/embed.cpp.in ${out_cpp} @ONLY)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
endfunction()
