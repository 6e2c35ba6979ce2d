# syntax=docker/dockerfile:1
#
# One image for the four subgraphs; the one to run is chosen when the container starts:
#
#   docker build -t healthcare-supergraph .
#   docker run --env-file my.env -e SERVICE=auth -p 8001:8001 healthcare-supergraph
#
# SERVICE is auth | appointments | prescriptions | admin. The entry point runs
# `healthcare serve $SERVICE --host 0.0.0.0`, which migrates that service's database first (admin
# owns none). Why one image and not four: docs/deployment.md ("The image").
#
# The base is pinned by tag. Pin it by digest too where the registry can be asked:
#   docker buildx imagetools inspect python:3.11.15-slim-bookworm   # prints the index digest
#   docker build --build-arg PYTHON_IMAGE=python:3.11.15-slim-bookworm@sha256:<digest> .
ARG PYTHON_IMAGE=python:3.11.15-slim-bookworm

# --- builder: a virtual environment with the locked dependencies and the project ------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv
WORKDIR /src

# Dependencies first, so this layer is rebuilt only when the lock changes. Every file is checked
# against the lock's hashes, and only wheels are accepted: no compiler runs in this build.
COPY requirements.lock ./
RUN pip install --no-cache-dir --only-binary=:all: --require-hashes -r requirements.lock

# The project itself, then everything the lock pins only for tests (pytest, linters, validators)
# and pip itself are removed: the runtime gets what `healthcare serve` imports and nothing else.
COPY pyproject.toml README.md ./
COPY subgraphs ./subgraphs
COPY deploy/docker/prune_venv.py /tmp/prune_venv.py
RUN pip install --no-cache-dir --no-deps . \
    && python /tmp/prune_venv.py healthcare-supergraph \
    && healthcare --help > /dev/null

# --- runtime: the slim base, the virtual environment, a user without privileges -------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="healthcare-supergraph" \
      org.opencontainers.image.description="Healthcare API subgraphs (auth, appointments, prescriptions, admin); SERVICE picks one" \
      org.opencontainers.image.licenses="UNLICENSED"

RUN groupadd --system --gid 10001 healthcare \
    && useradd --system --uid 10001 --gid healthcare --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin healthcare

COPY --from=builder /opt/venv /opt/venv
COPY --chmod=0555 deploy/docker/entrypoint.sh /usr/local/bin/healthcare-entrypoint

# Production unless told otherwise: the services then refuse the development secrets every clone
# of the repository knows, and auth refuses to generate its own signing key.
# HEALTHCARE_DATA_DIR is only written in development (generated keys, SQLite): /tmp, so the root
# filesystem can stay read-only.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HEALTHCARE_ENV=production \
    HEALTHCARE_DATA_DIR=/tmp/healthcare

WORKDIR /app
USER 10001:10001

# auth, appointments, prescriptions, admin (each service's own port; PORT or <SERVICE>_PORT change it)
EXPOSE 8001 8002 8003 8004

# Healthy = ready to serve: database reachable and migrated, dependencies answering (`/ready`).
# No curl in the image: Python's urllib, which raises (exit 1) on anything but a 2xx.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; s = os.environ['SERVICE']; p = os.environ.get(s.upper() + '_PORT') or os.environ.get('PORT') or {'auth': 8001, 'appointments': 8002, 'prescriptions': 8003, 'admin': 8004}[s]; r.urlopen(f'http://127.0.0.1:{p}/ready', timeout=4)"]

ENTRYPOINT ["healthcare-entrypoint"]
