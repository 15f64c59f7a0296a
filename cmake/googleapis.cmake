# google/api/annotations.proto and http.proto (the google.api.http option our protos use)
# come from the googleapis-common-protos wheel on PyPI, pinned by version and hash, not
# from a copy of ours. Downloaded once into the cache (cmake/fetch.cmake) and unpacked
# into the build tree.
include(${CMAKE_CURRENT_LIST_DIR}/fetch.cmake)
set(GOOGLEAPIS_VERSION 1.76.0)
set(GOOGLEAPIS_SHA256 59e13344a9f3651aa201a03e2bee815a3bf43a4baf1f9ff8a9b62a840ce25fac)
set(GOOGLEAPIS_URL "https://files.pythonhosted.org/packages/05/6d/78dc67a9e779e594b49bf62604034d3a6aa428a55afc729cafda4b7333e1/googleapis_common_protos-${GOOGLEAPIS_VERSION}-py3-none-any.whl")

set(GOOGLEAPIS_WHEEL ${WALLET_CACHE_DIR}/googleapis_common_protos-${GOOGLEAPIS_VERSION}-py3-none-any.whl)
set(GOOGLEAPIS_DIR ${CMAKE_BINARY_DIR}/googleapis-${GOOGLEAPIS_VERSION})

wallet_fetch(${GOOGLEAPIS_URL} ${GOOGLEAPIS_WHEEL} ${GOOGLEAPIS_SHA256})
if(NOT EXISTS ${GOOGLEAPIS_DIR}/google/api/annotations.proto)
  file(ARCHIVE_EXTRACT INPUT ${GOOGLEAPIS_WHEEL} DESTINATION ${GOOGLEAPIS_DIR}
       PATTERNS google/api/annotations.proto google/api/http.proto)
endif()
