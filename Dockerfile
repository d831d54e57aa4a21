FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DJANGO_SECRET_KEY=build python manage.py collectstatic --noinput
# Run as an unprivileged user: a compromised process cannot rewrite the code or the image.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin quorum
USER quorum
EXPOSE 8000
CMD ["gunicorn"]
