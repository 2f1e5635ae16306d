# Shared by build.sh and build-jaeger.sh (sourced after they define say,
# die and $mode): the Go toolchain, the cache directory, and the lookup of
# a cached binary with its build lock.

# find_go MIN_VERSION: sets $go and $go_version; uses the installed Go
# (GOTOOLCHAIN=local) and says so if there is none, rather than fetching one.
find_go() {
  go=$(command -v go || true)
  if [ -z "$go" ] && [ -x /usr/local/go/bin/go ]; then
    go=/usr/local/go/bin/go
  fi
  [ -n "$go" ] || die "no Go toolchain (need Go >= $1 on PATH or in /usr/local/go)"
  export GOTOOLCHAIN=local
  go_version=$("$go" env GOVERSION)
}

# Sets $cache: ${TRACEGATE_CACHE:-/var/cache/tracegate}, or ~/.cache/tracegate
# when that cannot be created.
cache_root() {
  cache=${TRACEGATE_CACHE:-/var/cache/tracegate}
  if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/tracegate
    mkdir -p "$cache"
  fi
}

# cached_binary NAME KEY: sets $dest=$cache/NAME-KEY and $bin=$dest/NAME.
# With --print-path, or when the binary is there, prints it and exits.
# Otherwise takes the build lock (fd 9): a second run waits, then finds the
# binary the first one built.
cached_binary() {
  dest=$cache/$1-$2
  bin=$dest/$1
  if [ "$mode" = print ]; then
    echo "$bin"
    exit 0
  fi
  if [ -x "$bin" ]; then
    say "up to date: $bin"
    echo "$bin"
    exit 0
  fi
  mkdir -p "$dest"
  exec 9>"$dest/.lock"
  flock 9
  if [ -x "$bin" ]; then
    echo "$bin"
    exit 0
  fi
}
