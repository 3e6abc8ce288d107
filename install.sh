#!/usr/bin/env bash
# Builds rollout and installs the binary, the completion script for your shell and the
# man pages (rollout(1), one per subcommand, rollout-runbook(5)). Safe to run twice
# (every file is replaced whole).
# Usage: ./install.sh [--prefix DIR] [--shell bash|zsh|fish] [--bin PATH]
#   --prefix DIR   where to install (default: ~/.local): DIR/bin, DIR/share/man/man1, …
#   --shell NAME   whose completion to install (default: from $SHELL)
#   --bin PATH     install this binary instead of building one with cargo
set -euo pipefail
cd "$(dirname "$0")"

prefix="${HOME}/.local"
shell_name="$(basename "${SHELL:-bash}")"
bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --shell) shell_name="${2:?--shell needs a name}"; shift 2 ;;
    --shell=*) shell_name="${1#--shell=}"; shift ;;
    --bin) bin="${2:?--bin needs a path}"; shift 2 ;;
    --bin=*) bin="${1#--bin=}"; shift ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done

if [ -z "$bin" ]; then
  cargo build --release --locked
  bin="target/release/rollout"
fi
if [ ! -x "$bin" ]; then
  echo "install.sh: $bin is not an executable" >&2
  exit 2
fi

# Copies $1 to $2 through a temporary file, so a rerun (or a running rollout) never
# sees half a file.
put() {
  mkdir -p "$(dirname "$2")"
  install -m "$3" "$1" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
  echo "installed $2"
}

put "$bin" "$prefix/bin/rollout" 0755
for page in man/*.[0-9]; do
  section="${page##*.}"
  put "$page" "$prefix/share/man/man$section/$(basename "$page")" 0644
done

case "$shell_name" in
  bash) put completions/rollout.bash "$prefix/share/bash-completion/completions/rollout" 0644 ;;
  zsh)
    put completions/_rollout "$prefix/share/zsh/site-functions/_rollout" 0644
    echo "note: zsh finds it when $prefix/share/zsh/site-functions is on your fpath"
    ;;
  fish) put completions/rollout.fish "$prefix/share/fish/vendor_completions.d/rollout.fish" 0644 ;;
  *) echo "no completion installed for shell '$shell_name' (see completions/, or: rollout completions --help)" ;;
esac

case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on your PATH; add it to use 'rollout'" ;;
esac
