// Preloaded into the benchmark's Node-RED (node --expose-gc --require): each connection to
// the Unix socket $HEAP_PROBE_SOCKET gets process.memoryUsage() as JSON, taken after a full
// garbage collection, so the benchmark can tell memory that is kept from memory the
// allocator has not given back. (Node-RED takes SIGUSR2 to mean "stop".)
'use strict';
const { createServer } = require('node:net');

createServer((socket) => {
  globalThis.gc();
  socket.end(JSON.stringify(process.memoryUsage()));
}).listen(process.env.HEAP_PROBE_SOCKET).unref();
