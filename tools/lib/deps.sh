# deps.sh: installs the Debian packages of tools/deps/<list>.txt that are missing.
# The same lists feed the Dockerfiles, so the native and container builds cannot drift.

deps_packages() { # deps_packages LIST...: the package names of the lists
  local list
  for list in "$@"; do grep -Ev '^\s*(#|$)' "$ROOT/tools/deps/$list.txt"; done
}

deps_install() { # deps_install LIST...
  local missing=() p
  for p in $(deps_packages "$@"); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=; [[ $(id -u) -eq 0 ]] || sudo=sudo
  # Another apt run (a second checkout testing beside this one) holds the dpkg lock for a
  # while: wait for it instead of failing.
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  # Installing mariadb-server must not start a system-wide server (it would hold port
  # 3306): we run our own. A policy-rc.d that says 101 forbids service starts during the
  # install, as Debian's container images do; ours is removed again afterwards.
  local policy=/usr/sbin/policy-rc.d ours=0 rc=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy" && ours=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || rc=$?
  ((ours)) && $sudo rm -f "$policy"
  return $rc
}
