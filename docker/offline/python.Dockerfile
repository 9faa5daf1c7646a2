# Offline stand-in for the public python:3.11-slim image (scripts/docker_images.py).
# Debian bookworm's python3 (3.11) and venv on the debootstrapped local/debian:bookworm.
ARG DEBIAN_IMAGE=local/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s /usr/bin/python3 /usr/local/bin/python
# pip and uv use the system CA bundle (which holds the host's extra CAs), not their own.
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PYTHONDONTWRITEBYTECODE=1
LABEL org.impact-engine.stand-in=true
CMD ["python3"]
