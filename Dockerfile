# Moa: one image for both roles.
#   web:    the default command (Daphne, HTTP + WebSocket)
#   worker: python manage.py runworker jobs.video jobs.excel
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MOA_ENV=production

WORKDIR /app

RUN groupadd --system --gid 10001 moa \
 && useradd --system --uid 10001 --gid moa --home-dir /app --shell /usr/sbin/nologin moa

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN pip install --no-cache-dir .

COPY manage.py ./
COPY project ./project
COPY collab ./collab
COPY media_pipeline ./media_pipeline
COPY templates ./templates
COPY static ./static

# Static files are collected at build time and served by WhiteNoise (hashed names).
RUN python manage.py collectstatic --no-input -v 0 \
 && mkdir -p /app/var \
 && chown -R moa:moa /app/var

USER 10001:10001
EXPOSE 8000

# Liveness only: /health/ answers 200 whatever the Host header.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/', timeout=2).status != 200)"]

# Moa's entry point is Daphne plus a graceful drain on SIGTERM (project/web_server.py):
# readiness 503, DRAIN_SECONDS of service, WebSockets closed with 1012, then exit.
# --proxy-headers: the client address and scheme come from nginx (which sets them from
# realip, never from what a client sent). --websocket_timeout stays at or below
# channels-redis group_expiry (86400 s; the entry point refuses more). Pings every 20 s
# keep sockets alive through the ALB's idle timeout (60 s or more).
CMD ["python", "-m", "project.web_server", "--bind", "0.0.0.0", "--port", "8000", \
     "--proxy-headers", "--ping-interval", "20", "--ping-timeout", "30", \
     "--websocket_timeout", "86400", "--application-close-timeout", "10", \
     "project.asgi:application"]
