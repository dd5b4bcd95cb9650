# embed.cmake - turns a text file into a C source holding it as a byte
# array, so that a program carries the file inside it.  sca's HTML report
# inlines dygraphs this way: the page it writes must work without the
# network, and sca must not depend on files found at run time.
#
# Run by the build (CMakeLists.txt, sca_embed), not by hand:
#   cmake -DINPUT=FILE -DOUTPUT=FILE.c -DSYMBOL=NAME [-DFORBID=A|B] -P embed.cmake
# The C file defines
#   const unsigned char NAME[];   the text, followed by a NUL
#   const size_t NAME_len;        its length without the NUL
#
# Source map comments are dropped: the map is not embedded, and developer
# tools would otherwise try to load it from beside the page.  FORBID lists
# texts (separated by |, compared case-insensitively) that must not occur,
# such as "</script": inlined, they would end the page's element early.
cmake_minimum_required(VERSION 3.18)

foreach(var INPUT OUTPUT SYMBOL)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "embed.cmake: -D${var}=... is missing")
  endif()
endforeach()
if(NOT EXISTS "${INPUT}")
  message(FATAL_ERROR "embed.cmake: ${INPUT} does not exist")
endif()

file(READ "${INPUT}" text)
string(REGEX REPLACE "\n?//# sourceMappingURL=[^\n]*" "" text "${text}")
string(REGEX REPLACE "\n?/\\*# sourceMappingURL=[^*]*\\*/" "" text "${text}")

if(DEFINED FORBID AND NOT "${FORBID}" STREQUAL "")
  string(TOLOWER "${text}" lower)
  string(REPLACE "|" ";" forbidden "${FORBID}")
  foreach(bad IN LISTS forbidden)
    string(TOLOWER "${bad}" bad)
    string(FIND "${lower}" "${bad}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "embed.cmake: ${INPUT} contains '${bad}' (at byte ${at}), "
        "which would break the page it is inlined into")
    endif()
  endforeach()
endif()

string(LENGTH "${text}" length)
string(HEX "${text}" hex)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# Sixteen bytes a line (CMake's regular expressions have no {16}).
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n" bytes "${bytes}")

file(WRITE "${OUTPUT}.tmp"
  "/* Generated at build time by scripts/embed.cmake from\n"
  " * ${INPUT}; do not edit. */\n"
  "#include <stddef.h>\n\n"
  "const unsigned char ${SYMBOL}[] = {\n${bytes}0x00};\n"
  "const size_t ${SYMBOL}_len = ${length};\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
