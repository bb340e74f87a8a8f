# A stand-in for the `redis:7-bookworm` image that deploy/compose.yaml names, built from
# Debian's redis-server package (7.0) for scripts/container-test, where no image registry is
# reachable. Same entry (redis-server on PATH, redis-cli for the health check, /data).
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man \
    && install -d -o redis -g redis /data
USER redis
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--dir", "/data"]
