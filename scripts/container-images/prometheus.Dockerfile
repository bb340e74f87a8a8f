# A stand-in for the `prom/prometheus` image that deploy/compose.yaml names, built from
# Debian's prometheus package (2.42) for scripts/container-test, where no image registry is
# reachable. Same entry point and paths as the official image (/etc/prometheus, /prometheus),
# and wget for the compose health check.
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus wget \
    && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man \
    && install -d -o nobody -g nogroup /prometheus
USER nobody
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
