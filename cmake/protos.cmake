# Compiles every .proto under proto/ with protoc-c into the build tree (the build never
# trusts the committed gen/), and registers a check that gen/ is not stale.
file(GLOB_RECURSE PROTO_FILES RELATIVE ${CMAKE_SOURCE_DIR}/proto
     CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/proto/*.proto)
set(GEN_DIR ${CMAKE_BINARY_DIR}/gen)
# protoc-c ships no C for Google's well-known types: we compile the one we import.
set(WKT_DIR /usr/include)
set(WKT_PROTOS google/protobuf/timestamp.proto)

set(GEN_SOURCES)
foreach(p IN LISTS PROTO_FILES WKT_PROTOS)
  string(REGEX REPLACE "\\.proto$" "" base ${p})
  list(APPEND GEN_SOURCES ${GEN_DIR}/${base}.pb-c.c)
  list(APPEND GEN_HEADERS ${GEN_DIR}/${base}.pb-c.h)
endforeach()
list(TRANSFORM PROTO_FILES PREPEND ${CMAKE_SOURCE_DIR}/proto/ OUTPUT_VARIABLE PROTO_PATHS)

add_custom_command(
  OUTPUT ${GEN_SOURCES} ${GEN_HEADERS}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${GEN_DIR}
  COMMAND ${PROTOC_C} --c_out=${GEN_DIR} -I${CMAKE_SOURCE_DIR}/proto -I${WKT_DIR}
          ${PROTO_FILES} ${WKT_PROTOS}
  DEPENDS ${PROTO_PATHS}
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/proto
  COMMENT "protoc-c: proto/ -> gen/"
  VERBATIM)

add_library(wallet_proto STATIC ${GEN_SOURCES})
target_include_directories(wallet_proto PUBLIC ${GEN_DIR})
target_link_libraries(wallet_proto PUBLIC PkgConfig::PROTOBUFC)
# Generated code is not ours to warn about.
target_compile_options(wallet_proto PRIVATE -w)

# `cmake --build build --target regen` refreshes the committed copy after a .proto change.
add_custom_target(regen
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${CMAKE_SOURCE_DIR}/gen
  COMMAND ${CMAKE_COMMAND} -E copy_directory ${GEN_DIR} ${CMAKE_SOURCE_DIR}/gen
  DEPENDS wallet_proto)
