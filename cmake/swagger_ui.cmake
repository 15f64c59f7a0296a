# Swagger UI for GET /docs: swagger-ui-dist from the npm registry, pinned by version and
# hash, downloaded once into the cache at configure time and never committed. The two
# files the page needs are embedded into the binaries (runtime/docs_http.c).
include(${CMAKE_CURRENT_LIST_DIR}/fetch.cmake)
set(SWAGGER_UI_VERSION 5.35.0)
set(SWAGGER_UI_SHA256 1b8e891893404ea4c3558b6a87e2a3e494e7eedba41168c2ece5800a391a6ea6)
set(SWAGGER_UI_URL "https://registry.npmjs.org/swagger-ui-dist/-/swagger-ui-dist-${SWAGGER_UI_VERSION}.tgz")
set(SWAGGER_UI_TGZ ${WALLET_CACHE_DIR}/swagger-ui-dist-${SWAGGER_UI_VERSION}.tgz)
set(SWAGGER_UI_DIR ${CMAKE_BINARY_DIR}/swagger-ui-${SWAGGER_UI_VERSION})

wallet_fetch(${SWAGGER_UI_URL} ${SWAGGER_UI_TGZ} ${SWAGGER_UI_SHA256})
if(NOT EXISTS ${SWAGGER_UI_DIR}/package/swagger-ui-bundle.js)
  file(ARCHIVE_EXTRACT INPUT ${SWAGGER_UI_TGZ} DESTINATION ${SWAGGER_UI_DIR}
       PATTERNS package/swagger-ui-bundle.js package/swagger-ui.css package/LICENSE)
endif()
