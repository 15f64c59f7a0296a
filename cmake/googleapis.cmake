# google/api/annotations.proto and http.proto (the google.api.http option our protos use)
# come from the googleapis-common-protos wheel on PyPI, pinned by version and hash, not
# from a copy of ours. Downloaded once into WALLET_CACHE (default ~/.cache/wallet-eda, as tools/lib/common.sh;
# shared by every build tree) and unpacked into the build tree.
set(GOOGLEAPIS_VERSION 1.76.0)
set(GOOGLEAPIS_SHA256 59e13344a9f3651aa201a03e2bee815a3bf43a4baf1f9ff8a9b62a840ce25fac)
set(GOOGLEAPIS_URL "https://files.pythonhosted.org/packages/05/6d/78dc67a9e779e594b49bf62604034d3a6aa428a55afc729cafda4b7333e1/googleapis_common_protos-${GOOGLEAPIS_VERSION}-py3-none-any.whl")

if(DEFINED ENV{WALLET_CACHE})
  set(WALLET_CACHE_DIR $ENV{WALLET_CACHE})
else()
  set(WALLET_CACHE_DIR $ENV{HOME}/.cache/wallet-eda)
endif()
set(GOOGLEAPIS_WHEEL ${WALLET_CACHE_DIR}/googleapis_common_protos-${GOOGLEAPIS_VERSION}-py3-none-any.whl)
set(GOOGLEAPIS_DIR ${CMAKE_BINARY_DIR}/googleapis-${GOOGLEAPIS_VERSION})

if(NOT EXISTS ${GOOGLEAPIS_WHEEL})
  message(STATUS "fetching googleapis-common-protos ${GOOGLEAPIS_VERSION} from PyPI")
  file(DOWNLOAD ${GOOGLEAPIS_URL} ${GOOGLEAPIS_WHEEL}.part
       EXPECTED_HASH SHA256=${GOOGLEAPIS_SHA256} STATUS dl TLS_VERIFY ON)
  list(GET dl 0 dl_code)
  if(NOT dl_code EQUAL 0)
    file(REMOVE ${GOOGLEAPIS_WHEEL}.part)
    message(FATAL_ERROR "cannot download ${GOOGLEAPIS_URL}: ${dl}")
  endif()
  file(RENAME ${GOOGLEAPIS_WHEEL}.part ${GOOGLEAPIS_WHEEL})
endif()
file(SHA256 ${GOOGLEAPIS_WHEEL} have)
if(NOT have STREQUAL GOOGLEAPIS_SHA256)
  message(FATAL_ERROR "${GOOGLEAPIS_WHEEL}: sha256 ${have}, expected ${GOOGLEAPIS_SHA256}")
endif()
if(NOT EXISTS ${GOOGLEAPIS_DIR}/google/api/annotations.proto)
  file(ARCHIVE_EXTRACT INPUT ${GOOGLEAPIS_WHEEL} DESTINATION ${GOOGLEAPIS_DIR}
       PATTERNS google/api/annotations.proto google/api/http.proto)
endif()
