import { createServer, type Server, type Socket } from 'node:net';
import type { GracefulServer } from './lifecycle';

/** Somewhere a connection can be served: a helper process (`HelperProcess`). */
export interface ConnectionPeer {
  /** Passes the connection on; false when it could not (the process is gone): serve it here. */
  handOff(socket: Socket): boolean;
}

/**
 * The listening socket of `berth serve`. It accepts connections without reading from them and
 * deals them out in turn to this process's server and the helper processes that are ready, so
 * that every process serves the same share of connections (a kept-alive connection stays where it
 * was sent). With no helpers every connection is served here.
 */
export class ConnectionRouter {
  readonly server: Server;
  private turn = 0;

  constructor(
    private readonly local: GracefulServer,
    private readonly peers: () => readonly ConnectionPeer[] = () => [],
  ) {
    this.server = createServer({ pauseOnConnect: true }, (socket) => this.route(socket));
  }

  private route(socket: Socket): void {
    const peers = this.peers();
    const slot = this.turn++ % (peers.length + 1);
    if (slot > 0 && peers[slot - 1]?.handOff(socket)) return;
    this.local.accept(socket);
  }

  /** Stops accepting connections (the ones already accepted are the servers' to drain). */
  close(): void {
    if (this.server.listening) this.server.close();
  }
}
