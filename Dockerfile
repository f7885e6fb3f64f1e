# syntax=docker/dockerfile:1
# The production image: the schema migrated, then Gunicorn serving the dashboard (docker/entrypoint.sh); the same
# image runs the drop-folder watcher and the scheduled ingest (docker-compose.yml). PostgreSQL and Redis are other
# containers. Build: docker build -t studentperf .   Everything comes from PyPI at build time (xgboost-cpu: no CUDA);
# nothing is downloaded when a container runs.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: one virtualenv with the dependencies and the project; pip's caches and build tools stay in this stage
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /app
# The dependencies first, read from pyproject.toml alone, so that a code change does not reinstall them. Wheels
# only: every dependency ships one for this platform, so no compiler is needed (nor present) in either stage.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --only-binary=:all: -r /tmp/requirements.txt
COPY README.md gunicorn.conf.py ./
COPY core ./core
COPY db ./db
COPY etl ./etl
COPY ml ./ml
COPY services ./services
COPY dashboard ./dashboard
COPY studentperf ./studentperf
COPY assets ./assets
COPY docker ./docker
# Editable, as on a developer's machine: assets/ and gunicorn.conf.py are read from /app, which the final stage keeps
# at the same path. Byte-compiled here, because the non-root user cannot write .pyc files at run time.
RUN pip install --no-deps -e . \
    && chmod 0755 docker/*.sh \
    && python -m compileall -q /opt/venv /app

# ---- runtime: the virtualenv and the source only; no compiler, no build tools, not root
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    STUDENTPERF_HOME=/data \
    STUDENTPERF_BIND=0.0.0.0:8050 \
    LOG_FORMAT=json
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /data --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /data/inbox /data/sis-export \
    && chown -R app:app /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
USER app:app
EXPOSE 8050
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8050/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["serve"]
