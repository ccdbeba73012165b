# syntax=docker/dockerfile:1
#
# agentphone-mcp as a container: a static binary on distroless, running as a non-root user,
# serving MCP over Streamable HTTP on port 8080 (path /mcp). See "Run it in a container" in
# the README for the key (a mounted file, never a build argument) and the bearer token.
#
#   docker build --build-arg VERSION=1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t agentphone-mcp .

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
ARG COMMIT=
ARG DATE=
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO_ENABLED=0: a static binary that needs no libc, so it runs on distroless/static.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/agentphone-mcp ./cmd/agentphone-mcp \
 && mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL io.modelcontextprotocol.server.name="io.github.agentphone-mcp/agentphone-mcp" \
      org.opencontainers.image.title="agentphone-mcp" \
      org.opencontainers.image.description="MCP server that gives an AI agent a phone through AgentPhone, behind a safety policy" \
      org.opencontainers.image.source="https://github.com/agentphone-mcp/agentphone-mcp" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/agentphone-mcp /usr/local/bin/agentphone-mcp
# The policy state (caps, opt-outs, known recipients) and the audit log; mount a volume here.
COPY --from=build --chown=65532:65532 /out/state/ /var/lib/agentphone-mcp/
ENV AGENTPHONE_TRANSPORT=http \
    AGENTPHONE_HTTP_LISTEN=0.0.0.0:8080 \
    AGENTPHONE_HTTP_ALLOW_REMOTE=true \
    AGENTPHONE_STATE_DIR=/var/lib/agentphone-mcp
VOLUME ["/var/lib/agentphone-mcp"]
EXPOSE 8080
# distroless "nonroot" (65532), numeric so that runAsNonRoot can verify it.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/agentphone-mcp"]
CMD ["serve"]
