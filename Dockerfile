# Production image: Gunicorn serving the Dash app; PostgreSQL (and optionally Redis) are external.
# Build: docker build -t studentperf .   Run: docker run -e DATABASE_URL=... -e SECRET_KEY=... -p 8050:8050 studentperf
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    STUDENTPERF_HOME=/data \
    STUDENTPERF_BIND=0.0.0.0:8050 \
    LOG_FORMAT=json

RUN useradd --create-home --uid 10001 app && mkdir -p /data && chown app /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY studentperf ./studentperf
COPY db ./db
COPY etl ./etl
COPY ml ./ml
COPY services ./services
COPY dashboard ./dashboard
COPY assets ./assets
COPY gunicorn.conf.py ./
# Editable install: the top-level assets/ folder is served from the source tree.
RUN pip install -e .

USER app
EXPOSE 8050
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8050/healthz').status != 200)"
# Migrate, then serve. DATABASE_URL and SECRET_KEY must be set.
CMD ["sh", "-c", "studentperf db upgrade && studentperf serve"]
