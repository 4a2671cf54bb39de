# gwbot: slim image, non-root, health-checked.   docker build -t gwbot . && docker run --env-file gwbot.env gwbot
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 gwbot
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-cache-dir . && rm -rf /root/.cache

USER gwbot
ENV GWBOT_DATABASE_URL=sqlite:////home/gwbot/data/gwbot.sqlite \
    GWBOT_OUTPUT_DIR=/home/gwbot/out \
    MPLCONFIGDIR=/tmp/matplotlib
RUN mkdir -p /home/gwbot/data /home/gwbot/out
VOLUME ["/home/gwbot/data"]

# healthy while `gwbot run` keeps writing its heartbeat (every 15 s)
HEALTHCHECK --interval=60s --timeout=10s --start-period=90s --retries=3 CMD ["gwbot", "health"]
CMD ["gwbot", "run"]
