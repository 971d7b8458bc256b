# One CNN Zoo Explorer replica: `streamlit run app.py` on port 8501, the shared model cache as a volume.
#
#   docker build -t cnn-zoo-explorer .
#   docker run --rm -v zoo-cache:/cache cnn-zoo-explorer zoo fetch --all        # fill the cache once
#   docker run --rm -v zoo-cache:/cache cnn-zoo-explorer zoo export --all       # ONNX / OpenVINO exports
#   docker run -d -p 8501:8501 -v zoo-cache:/cache:ro cnn-zoo-explorer          # serve, read-only cache
#
# See deploy/README.md for several replicas behind nginx or on Kubernetes.
FROM python:3.11-slim

# Hangul in server-rendered images (CAM overlays, colour bars) needs a CJK font.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt pyproject.toml README.md ./
COPY zoo/ zoo/
RUN pip install --no-cache-dir -r requirements.txt
COPY . .

# The weights, ONNX exports, compiled models and backend choices live under TORCH_HOME. At serve
# time the replica only reads them (ZOO_CACHE_READONLY=1); a missing entry falls back with the
# same one-sentence message as on a laptop.
ENV TORCH_HOME=/cache \
    ZOO_CACHE_READONLY=1 \
    PYTHONUNBUFFERED=1
VOLUME ["/cache"]

EXPOSE 8501
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501", \
     "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
