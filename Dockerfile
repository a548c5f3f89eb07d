# The back-office's image: web (gunicorn), worker and migrations, by the entrypoint's role.
#   docker build -t seller-backoffice .     (compose.yaml builds it for you)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    DJANGO_MEDIA_ROOT=/app/media \
    PORT=8000

RUN useradd --system --create-home --home-dir /home/app --uid 10001 app
# The statement PDF's Chinese font (payouts/statements.py).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# The dependencies first (a layer rebuilt only when pyproject.toml changes), then the code.
COPY pyproject.toml ./
RUN pip install '.[prod]' && pip uninstall -y seller-backoffice
COPY . .
RUN pip install --no-deps '.[prod]'

# Static files are part of the image: collected (hashed names, compressed) at build time and
# served by WhiteNoise. The key only lets the settings load; no server ever uses it.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-server-key python manage.py collectstatic --no-input \
    && DJANGO_SECRET_KEY=collectstatic-only-not-a-server-key python manage.py compile_catalogue \
    && mkdir -p /app/media && chown -R app:app /app

USER app
EXPOSE 8000
ENTRYPOINT ["deploy/entrypoint"]
CMD ["web"]
