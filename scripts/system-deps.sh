#!/usr/bin/env bash
# WeasyPrint needs Pango and a font. Debian's python images have them; install them
# where they are missing and we may (root with apt-get), else say what to install.
set -euo pipefail
if ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 && fc-list 2>/dev/null | grep -qi dejavu; then
  exit 0
fi
packages="libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fontconfig"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
else
  echo "WeasyPrint needs Pango and DejaVu fonts: install $packages (or your system's equivalents)" >&2
fi
