#!/usr/bin/env bash
# Builds rollout and installs the binary and the completion script for your shell.
# Safe to run twice. Usage: ./install.sh [--prefix DIR]   (default: ~/.local)
set -euo pipefail
cd "$(dirname "$0")"

prefix="${HOME}/.local"
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    -h|--help) sed -n '2,3p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done

cargo build --release --locked
bin="target/release/rollout"

mkdir -p "$prefix/bin"
install -m 0755 "$bin" "$prefix/bin/rollout"
echo "installed $prefix/bin/rollout"

shell_name="$(basename "${SHELL:-bash}")"
case "$shell_name" in
  bash) dest="$prefix/share/bash-completion/completions/rollout" ;;
  zsh)  dest="$prefix/share/zsh/site-functions/_rollout" ;;
  fish) dest="$prefix/share/fish/vendor_completions.d/rollout.fish" ;;
  *)    dest="" ;;
esac
if [ -n "$dest" ]; then
  mkdir -p "$(dirname "$dest")"
  "$bin" completions "$shell_name" > "$dest.tmp" && mv "$dest.tmp" "$dest"
  echo "installed $shell_name completions to $dest"
else
  echo "no completion installed for shell '$shell_name' (run: rollout completions --help)"
fi

case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on your PATH; add it to use 'rollout'" ;;
esac
