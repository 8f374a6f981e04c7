'use strict';
// A storage-less HTTP server for the loopback ceilings: `GET /bytes/N` sends N bytes (one 1 MiB
// buffer over and over), any other request has its body read and discarded, then 201. Run as
// `node bench/lib/null-server.js PORT`; it prints "listening" when ready.
const http = require('node:http');

const BLOCK = Buffer.alloc(1 << 20, 0x5a);
const port = Number(process.argv[2]);

http
  .createServer((req, res) => {
    const match = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
    if (req.method === 'GET' && match) {
      let left = Number(match[1]);
      res.writeHead(200, { 'content-length': left, 'content-type': 'application/octet-stream' });
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, BLOCK.length);
          left -= n;
          if (!res.write(n === BLOCK.length ? BLOCK : BLOCK.subarray(0, n))) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(201, { 'content-length': 0 });
      res.end();
    });
  })
  .listen(port, '127.0.0.1', () => console.log('listening'));
