# Downloads the build needs (pinned third-party files, never committed) are kept in
# WALLET_CACHE (default ~/.cache/wallet-eda, as in tools/lib/common.sh), shared by every
# build tree, so a second configure fetches nothing.
include_guard(GLOBAL)
if(DEFINED ENV{WALLET_CACHE})
  set(WALLET_CACHE_DIR $ENV{WALLET_CACHE})
else()
  set(WALLET_CACHE_DIR $ENV{HOME}/.cache/wallet-eda)
endif()

# wallet_fetch(URL FILE SHA256): FILE, downloaded once from URL, its hash checked every time.
function(wallet_fetch url file sha256)
  if(NOT EXISTS ${file})
    get_filename_component(name ${file} NAME)
    message(STATUS "fetching ${name}")
    file(DOWNLOAD ${url} ${file}.part EXPECTED_HASH SHA256=${sha256} STATUS dl TLS_VERIFY ON)
    list(GET dl 0 dl_code)
    if(NOT dl_code EQUAL 0)
      file(REMOVE ${file}.part)
      message(FATAL_ERROR "cannot download ${url}: ${dl}")
    endif()
    file(RENAME ${file}.part ${file})
  endif()
  file(SHA256 ${file} have)
  if(NOT have STREQUAL sha256)
    message(FATAL_ERROR "${file}: sha256 ${have}, expected ${sha256}")
  endif()
endfunction()
