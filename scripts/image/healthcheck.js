// The image's HEALTHCHECK: healthy when GET /v2/ on the local port answers below 500 (401 counts:
// the registry is up, auth is on). BERTH_HEALTHCHECK_URL overrides the URL (TLS, another port).
const url = process.env.BERTH_HEALTHCHECK_URL || 'http://127.0.0.1:5000/v2/';
fetch(url, { signal: AbortSignal.timeout(4000) }).then(
  (res) => process.exit(res.status < 500 ? 0 : 1),
  () => process.exit(1),
);
