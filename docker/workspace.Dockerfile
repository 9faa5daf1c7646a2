# The one shared build stage of every Impact Engine image: the locked uv workspace
# (uv.lock, no dev tools), installed once into /opt/impact. The service and registry
# Dockerfiles start FROM this image and add only their command and health check.
#
# BASE_IMAGE is any Debian-based Python 3.11+ image; offline, scripts/docker_images.py
# builds a local stand-in under the same default name (docs/deployment.md).
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG UV_VERSION=0.13.9
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir --quiet "uv==${UV_VERSION}"
ENV UV_PROJECT_ENVIRONMENT=/opt/impact UV_PYTHON=python3 UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_NO_CACHE=1
WORKDIR /src
# Dependencies first (their layer survives code changes), then the workspace itself.
COPY pyproject.toml uv.lock ./
COPY contracts/pyproject.toml contracts/
COPY schemas/pyproject.toml schemas/
COPY kafka/pyproject.toml kafka/
COPY registry/pyproject.toml registry/
COPY runtime/pyproject.toml runtime/
COPY services/measure/pyproject.toml services/measure/
COPY services/evaluate/pyproject.toml services/evaluate/
COPY services/allocate/pyproject.toml services/allocate/
COPY services/orchestrator/pyproject.toml services/orchestrator/
COPY observe/pyproject.toml observe/
COPY cli/pyproject.toml cli/
COPY dashboard/pyproject.toml dashboard/
RUN /opt/uv/bin/uv sync --frozen --no-dev --all-packages --no-install-workspace \
    && find /opt/impact/lib -type d -name tests -prune -exec rm -rf {} +
COPY contracts/ contracts/
COPY schemas/ schemas/
COPY kafka/ kafka/
COPY registry/ registry/
COPY runtime/ runtime/
COPY services/ services/
COPY observe/ observe/
COPY cli/ cli/
COPY dashboard/ dashboard/
RUN /opt/uv/bin/uv sync --frozen --no-dev --all-packages --no-editable

FROM ${BASE_IMAGE}
RUN useradd --system --uid 10001 --create-home --home-dir /home/app app \
    && mkdir -p /app/var && chown app /app/var
COPY --from=build /opt/impact /opt/impact
COPY docker/healthcheck.py /usr/local/bin/impact-healthcheck
COPY docker/create_topics.py /usr/local/bin/impact-create-topics
COPY examples/ /app/examples/
# In a container every service listens on all interfaces; the health/metrics port stays
# ephemeral (IMPACT_HTTP_PORT=0) so replicas sharing a host network never clash.
ENV PATH=/opt/impact/bin:$PATH PYTHONUNBUFFERED=1 OPENBLAS_NUM_THREADS=1 \
    IMPACT_HTTP_HOST=0.0.0.0 IMPACT_DATA_ROOT=/app/examples
WORKDIR /app
USER app
CMD ["impact", "--help"]
