# syntax=docker/dockerfile:1
# Berth, shaped like registry:2: port 5000, data in /var/lib/registry, config at
# /etc/docker/registry/config.yml, and every key overridable with REGISTRY_* variables.
#   docker build -t berth . && docker run -d -p 5000:5000 -v berth-data:/var/lib/registry berth

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json tsconfig.json ./
COPY packages ./packages
COPY scripts/image ./scripts/image
RUN scripts/image/build.sh /opt/berth

FROM node:24-bookworm-slim
ENV NODE_ENV=production
COPY --from=build /opt/berth /opt/berth
COPY scripts/image/config.yml /etc/docker/registry/config.yml
COPY scripts/image/healthcheck.js /opt/berth/healthcheck.js
RUN mkdir -p /var/lib/registry && chown node:node /var/lib/registry
USER node
EXPOSE 5000
VOLUME /var/lib/registry
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["node", "/opt/berth/healthcheck.js"]
ENTRYPOINT ["node", "/opt/berth/packages/cli/bin/berth.js"]
CMD ["serve", "/etc/docker/registry/config.yml"]
