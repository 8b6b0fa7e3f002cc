# Packaging only: the deploy's build stage compiled and tested build/app, and this image ships that very binary.
# Build context: the checkout workspace (see .dockerignore).
FROM scratch
COPY build/app /app
USER 65534:65534
EXPOSE 8080
# scratch has no curl: the binary checks itself. ECS reads health checks from the task definition, not from here.
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["/app", "-healthcheck"]
ENTRYPOINT ["/app"]
