#!/bin/sh
# The stand-in base image's entrypoint, behaving as the official Node.js images' docker-entrypoint.sh does:
# when the command is an option or not a command on PATH (e.g. a script path), run it with node; then exec it,
# so the command replaces this shell and receives signals itself.
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1")" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
