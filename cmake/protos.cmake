# Compiles every .proto under proto/ with protoc-c into the build tree (the build never
# trusts the committed gen/), and registers a check that gen/ is not stale. Also writes
# each service's route table from the google.api.http options of its proto (routes_gen).
include(${CMAKE_CURRENT_LIST_DIR}/googleapis.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/swagger_ui.cmake)
file(GLOB_RECURSE PROTO_FILES RELATIVE ${CMAKE_SOURCE_DIR}/proto
     CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/proto/*.proto)
set(GEN_DIR ${CMAKE_BINARY_DIR}/gen)
# protoc-c ships no C for Google's well-known types: we compile the ones we import.
# descriptor.proto is what google/api/annotations.proto extends; protoc-c ignores custom
# options, but the generated headers still include their files' C.
set(WKT_DIR /usr/include)
set(WKT_PROTOS google/protobuf/timestamp.proto google/protobuf/descriptor.proto)
set(GOOGLEAPIS_PROTOS google/api/annotations.proto google/api/http.proto)

set(GEN_SOURCES)
foreach(p IN LISTS PROTO_FILES WKT_PROTOS GOOGLEAPIS_PROTOS)
  string(REGEX REPLACE "\\.proto$" "" base ${p})
  list(APPEND GEN_SOURCES ${GEN_DIR}/${base}.pb-c.c)
  list(APPEND GEN_HEADERS ${GEN_DIR}/${base}.pb-c.h)
endforeach()
list(TRANSFORM PROTO_FILES PREPEND ${CMAKE_SOURCE_DIR}/proto/ OUTPUT_VARIABLE PROTO_PATHS)
set(PROTO_INCLUDES -I${CMAKE_SOURCE_DIR}/proto -I${GOOGLEAPIS_DIR} -I${WKT_DIR})
set(PROTO_DESCRIPTOR_SET ${CMAKE_BINARY_DIR}/proto.descriptors)

add_custom_command(
  OUTPUT ${GEN_SOURCES} ${GEN_HEADERS} ${PROTO_DESCRIPTOR_SET}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${GEN_DIR}
  COMMAND ${PROTOC_C} --c_out=${GEN_DIR} ${PROTO_INCLUDES}
          ${PROTO_FILES} ${WKT_PROTOS} ${GOOGLEAPIS_PROTOS}
  COMMAND ${PROTOC_C} ${PROTO_INCLUDES} --include_imports
          --descriptor_set_out=${PROTO_DESCRIPTOR_SET} ${PROTO_FILES}
  DEPENDS ${PROTO_PATHS}
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/proto
  COMMENT "protoc-c: proto/ -> gen/"
  VERBATIM)

# wallet_routes(NAME SERVICE PROTO_STEM PREFIX SOURCES...): ${ROUTES_GEN_DIR}/NAME_routes.c
# (the table NAME_routes[]) and NAME_api.h (its handlers' prototypes) for SERVICE (e.g. wallet.v1.WalletCore), whose openapi configuration
# is proto/wallet/v1/PROTO_STEM.openapi.yaml; handlers are PREFIX<snake_case rpc>, and
# SOURCES are the files that define them (a handler there without an rpc fails the build).
set(ROUTES_GEN_DIR ${CMAKE_BINARY_DIR}/routes-gen)
find_program(PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH REQUIRED)
function(wallet_routes name service stem prefix)
  set(out_c ${ROUTES_GEN_DIR}/${name}_routes.c)
  set(out_h ${ROUTES_GEN_DIR}/${name}_api.h)
  set(config ${CMAKE_SOURCE_DIR}/proto/wallet/v1/${stem}.openapi.yaml)
  add_custom_command(
    OUTPUT ${out_c} ${out_h}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${ROUTES_GEN_DIR}
    COMMAND ${PYTHON3} ${CMAKE_SOURCE_DIR}/tools/codegen/routes_gen.py
            --descriptor-set ${PROTO_DESCRIPTOR_SET} --service ${service} --config ${config}
            --table ${name} --handler-prefix ${prefix} --handler-sources ${ARGN}
            --out-c ${out_c} --out-h ${out_h}
            --openapi ${CMAKE_SOURCE_DIR}/api/openapi/${stem}.swagger.json
    DEPENDS ${PROTO_DESCRIPTOR_SET} ${config} ${CMAKE_SOURCE_DIR}/tools/codegen/routes_gen.py
            ${ARGN}
    COMMENT "routes_gen: ${service} -> ${name}_routes.c"
    VERBATIM)
  # The table embeds the OpenAPI JSON with .incbin: rebuild it when that file changes.
  set_source_files_properties(${out_c} PROPERTIES OBJECT_DEPENDS
                              ${CMAKE_SOURCE_DIR}/api/openapi/${stem}.swagger.json)
  set(${name}_ROUTES_SOURCE ${out_c} PARENT_SCOPE)
endfunction()

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
