#!/bin/sh
# The image's entry point: one image, the subgraph chosen at start by $SERVICE.
#   docker run -e SERVICE=auth ... healthcare-supergraph
# `healthcare serve` migrates the service's database first (admin has none), then runs uvicorn.
# Anything after the image name is passed on: `... healthcare-supergraph --workers 2`.
set -eu

case "${SERVICE:-}" in
  auth | appointments | prescriptions | admin) ;;
  "")
    echo "SERVICE is not set: set it to one of auth, appointments, prescriptions, admin" >&2
    exit 64
    ;;
  *)
    echo "SERVICE=${SERVICE} is not a subgraph: use one of auth, appointments, prescriptions, admin" >&2
    exit 64
    ;;
esac

# exec: the server replaces this shell, so it is the process that receives SIGTERM on stop.
exec healthcare serve "$SERVICE" --host "${HOST:-0.0.0.0}" "$@"
