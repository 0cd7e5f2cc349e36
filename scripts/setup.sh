#!/usr/bin/env bash
# Installs what building cnn needs besides Swift, and checks that Swift is there. A few seconds when all is
# installed; about a minute on a fresh Debian or Ubuntu machine.
#   Linux (Debian, Ubuntu): apt-get update, then apt-get install zlib1g-dev libopenblas-dev libspng-dev
#                           libturbojpeg0-dev, through sudo unless run as root; skipped when all are installed.
#   macOS:                  brew install libspng jpeg-turbo when missing (zlib and Accelerate come with the system).
# Exits 1 with one line saying what to do when Swift is missing or the packages cannot be installed.
set -euo pipefail

if ! command -v swift >/dev/null 2>&1; then
  echo "setup.sh: error: swift: not found; HINT: install Swift 5.9 or later: on Linux from https://www.swift.org/install/ (e.g. with swiftly), on macOS with Xcode or its command line tools" >&2
  exit 1
fi

case "$(uname -s)" in
  Darwin)
    if ! command -v brew >/dev/null 2>&1; then
      echo "setup.sh: error: brew: not found; HINT: install Homebrew (https://brew.sh), then run this again to install libspng and jpeg-turbo" >&2
      exit 1
    fi
    brew list libspng >/dev/null 2>&1 && brew list jpeg-turbo >/dev/null 2>&1 || brew install libspng jpeg-turbo
    exit 0 ;;
  Linux) ;;
  *) echo "setup.sh: $(uname -s): install zlib, OpenBLAS (with cblas.h), libspng and TurboJPEG with this system's package manager" >&2; exit 0 ;;
esac

packages=(zlib1g-dev libopenblas-dev libspng-dev libturbojpeg0-dev)
installed=$(dpkg-query -W -f='${Status}\n' "${packages[@]}" 2>/dev/null | grep -c 'install ok installed' || true)
if [ "$installed" != "${#packages[@]}" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: error: apt-get: not found; HINT: install ${packages[*]} (zlib, OpenBLAS, libspng and TurboJPEG headers) with this system's package manager" >&2
    exit 1
  fi
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  echo "setup.sh: installing ${packages[*]} (apt-get update, then apt-get install)"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
fi
