# One image per service: docker build --build-arg SERVICE=runtime -t hybrid/runtime .
# Every image also carries hybridctl, used as the healthcheck
# (`hybridctl status --only <service>`) and for the schema job.
FROM golang:1.26 AS build
ARG SERVICE
WORKDIR /src
COPY . .
RUN test -n "$SERVICE" && \
    CGO_ENABLED=0 go build -trimpath -o /out/service ./services/${SERVICE} && \
    CGO_ENABLED=0 go build -trimpath -o /out/hybridctl ./cmd/hybridctl

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/service /usr/local/bin/service
COPY --from=build /out/hybridctl /usr/local/bin/hybridctl
ENTRYPOINT ["/usr/local/bin/service"]
