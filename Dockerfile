# One image per service (make images builds them all):
#   docker build --build-arg SERVICE=runtime --build-arg VERSION=0.1.0 -t hybrid/runtime:0.1.0 .
# Every image also carries hybridctl, used as the healthcheck (it checks the
# image's own service, named by HYBRID_SERVICE) and for the schema, pki and
# keys jobs.
FROM golang:1.26 AS build
ARG SERVICE
WORKDIR /src
COPY . .
RUN test -n "$SERVICE" && \
    CGO_ENABLED=0 go build -trimpath -o /out/service ./services/${SERVICE} && \
    CGO_ENABLED=0 go build -trimpath -o /out/hybridctl ./cmd/hybridctl

FROM gcr.io/distroless/static-debian12:nonroot
ARG SERVICE
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="hybrid-${SERVICE}" \
      org.opencontainers.image.description="Apigee hybrid runtime plane emulator: ${SERVICE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/hybrid-emulator/hybrid"
ENV HYBRID_SERVICE=${SERVICE}
COPY --from=build /out/service /usr/local/bin/service
COPY --from=build /out/hybridctl /usr/local/bin/hybridctl
USER nonroot:nonroot
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=6 \
  CMD ["/usr/local/bin/hybridctl", "status"]
ENTRYPOINT ["/usr/local/bin/service"]
