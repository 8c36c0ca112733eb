# Sourced by the other scripts: idempotent installation of what they need.
# Installs only what is missing, so a second run touches nothing.

ensure_apt() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^[ih]i' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "error: cargo not found; install Rust from https://rustup.rs first" >&2
        exit 1
    fi
    if command -v rustup >/dev/null 2>&1; then
        local have
        have=$(rustup component list --installed 2>/dev/null || true)
        for c in rustfmt clippy; do
            grep -q "^$c" <<<"$have" || rustup component add "$c"
        done
        have=$(rustup target list --installed 2>/dev/null || true)
        for t in "$@"; do
            grep -qx "$t" <<<"$have" || rustup target add "$t"
        done
    fi
}
