import { createServer, request } from 'node:http';
import type { Socket } from 'node:net';
import { GracefulServer } from '../src/lifecycle';
import { listenOn, parseListenAddress } from '../src/listen';
import { ConnectionRouter, type ConnectionPeer } from '../src/router';

/** A server answering its own name, fed with connections. */
function named(name: string): GracefulServer {
  return new GracefulServer(createServer((_req, res) => res.end(name)));
}

/** A peer serving in this process (as a helper would in its own), or refusing while `down`. */
function peer(server: GracefulServer): ConnectionPeer & { down: boolean } {
  return {
    down: false,
    handOff(socket: Socket): boolean {
      if (this.down) return false;
      server.accept(socket);
      return true;
    },
  };
}

/** GET / on a new connection; resolves with the body (the name of the server that answered). */
function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

describe('ConnectionRouter', () => {
  it('deals connections out in turn to this process and each peer, serving here what a peer cannot take', async () => {
    const servers = { main: named('main'), a: named('a'), b: named('b') };
    const peers = [peer(servers.a), peer(servers.b)];
    const router = new ConnectionRouter(servers.main, () => peers);
    await listenOn(router.server, parseListenAddress('127.0.0.1:0'));
    const port = (router.server.address() as { port: number }).port;

    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(await ask(port));
    expect(answers).toEqual(['main', 'a', 'b', 'main', 'a', 'b']);

    peers[1]!.down = true;
    const degraded: string[] = [];
    for (let i = 0; i < 3; i++) degraded.push(await ask(port));
    expect(degraded).toEqual(['main', 'a', 'main']);

    router.close();
    await Promise.all(Object.values(servers).map((s) => s.shutdown(1000)));
    await expect(ask(port)).rejects.toThrow(/ECONNREFUSED/);
  });
});
