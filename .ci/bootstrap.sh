#!/usr/bin/env bash
# Installs what the project needs on a Debian 12 machine; idempotent and fast
# when nothing is missing.
#
#   .ci/bootstrap.sh [--system] [--venv]     (no flag = both)
#
# --system  Debian packages (broker, barcode lib, Xvfb and Kivy's runtime libs,
#           sqlite3 CLI for `.recover`, pg_isready). apt runs only when a
#           package is missing.
# --venv    .venv with Python 3.11; `pip install -e '.[dev]'` only when
#           pyproject.toml changed since the last successful install
#           (sha256 kept in .venv/.omk-installed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SYSTEM_PACKAGES=(
    mosquitto mosquitto-clients
    libzbar0
    xvfb xauth
    # Kivy 2.3 wheels bundle SDL2 but need GL/EGL, mtdev and a clipboard tool.
    libgl1 libegl1 libgles2 libgl1-mesa-dri libmtdev1 xclip xsel
    sqlite3
    postgresql-client
    # pdftoppm: the print round-trip tests rasterise the label sheets at 300 dpi.
    poppler-utils
)

log() { printf 'bootstrap: %s\n' "$*" >&2; }

do_system() {
    local missing=() pkg status packages=("${SYSTEM_PACKAGES[@]}")
    # Debian's own Python needs its venv module as a package (pyenv's has it).
    if [[ "$(command -v python3.11 || true)" == /usr/bin/python3.11 ]]; then
        packages+=(python3.11-venv)
    fi
    for pkg in "${packages[@]}"; do
        # `dpkg -s` alone succeeds for removed-but-not-purged packages; ask for
        # the real state.
        status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
        [[ "$status" == "installed" ]] || missing+=("$pkg")
    done
    if ((${#missing[@]} == 0)); then
        log "system packages: all present"
        return 0
    fi
    log "system packages missing: ${missing[*]}"
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            log "ERROR: not root and no passwordless sudo; install these first:"
            log "  apt-get install --no-install-recommends ${missing[*]}"
            return 1
        fi
    fi
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
    log "system packages installed: ${missing[*]}"
}

find_python() {
    local cand
    for cand in python3.11 python3; do
        if command -v "$cand" >/dev/null &&
            "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$cand"
            return 0
        fi
    done
    log "ERROR: Python 3.11 not found (tried python3.11, python3)"
    return 1
}

do_venv() {
    local venv="$ROOT/.venv" stamp="$ROOT/.venv/.omk-installed" want have=""
    if [[ ! -x "$venv/bin/python" ]]; then
        local py
        py="$(find_python)"
        log "creating .venv with $py"
        "$py" -m venv "$venv"
        "$venv/bin/python" -m pip install -q --upgrade pip
    fi
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    [[ -f "$stamp" ]] && have="$(cat "$stamp")"
    if [[ "$want" == "$have" ]]; then
        log "venv: up to date"
        return 0
    fi
    log "venv: installing -e '.[dev]' (pyproject.toml changed or first run)"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]'
    # Written only after a successful install so a failed one is retried.
    printf '%s\n' "$want" >"$stamp"
    log "venv: installed"
}

want_system=0
want_venv=0
for arg in "$@"; do
    case "$arg" in
        --system) want_system=1 ;;
        --venv) want_venv=1 ;;
        -h | --help)
            sed -n '2,12p' "${BASH_SOURCE[0]}"
            exit 0
            ;;
        *)
            log "unknown argument: $arg"
            exit 2
            ;;
    esac
done
if ((want_system == 0 && want_venv == 0)); then
    want_system=1
    want_venv=1
fi

if ((want_system)); then do_system; fi
if ((want_venv)); then do_venv; fi
