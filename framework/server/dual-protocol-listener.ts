import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";

/** What every HTTP/2 connection starts with (RFC 9113 §3.4). */
/** HTTP/2 receive window of each stream a peer opens (SETTINGS_INITIAL_WINDOW_SIZE). */
const streamWindowBytes = 8 << 20;
/** HTTP/2 receive window of each connection, shared by its streams. */
const connectionWindowBytes = 32 << 20;
/**
 * maxSessionMemory of each h2c connection (node's unit: 1,000,000 bytes;
 * node's default 10). Node counts the answers a connection has queued for
 * a client that reads them slowly (query pages) toward it and, while over
 * it, refuses that connection's new streams with ENHANCE_YOUR_CALM - after
 * 100 refusals in a row it ends the session with INTERNAL_ERROR, failing the
 * calls in flight on it, inserts included (unknown outcomes). At node's
 * default, four 4 MB answers waiting were enough.
 */
const sessionMemoryMegabytes = 128;

const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export type RequestHandler = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface DualProtocolListener {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting connections; open ones keep running. */
  stopAccepting(): void;
  /** Closes every open connection; resolves once the listener is fully closed. */
  closeConnections(): Promise<void>;
}

/**
 * One TCP port for both HTTP/2 without TLS (h2c prior knowledge: peers'
 * transport streams, gRPC, Connect) and HTTP/1.1 (browsers: Connect JSON,
 * gRPC-Web, issue #10). The first bytes of each connection decide: the
 * HTTP/2 preface goes to an h2c server, anything else to an HTTP/1.1 server;
 * both serve the same handler.
 */
export async function listenDualProtocol(
  host: string,
  port: number,
  handler: RequestHandler,
): Promise<DualProtocolListener> {
  // Receive windows for what peers send (requests, transport streams): HTTP/2's default, 64 KiB a
  // stream and 64 KiB the connection, let a peer send 64 KiB and then wait for a WINDOW_UPDATE, which
  // node sends only once this process's event loop has read the data - a 262 KB insert or a 1 MB
  // append waited on 4-16 turns of a busy loop, and concurrent streams shared one 64 KiB.
  const h2 = http2.createServer(
    { settings: { initialWindowSize: streamWindowBytes }, maxSessionMemory: sessionMemoryMegabytes },
    handler,
  );
  const h1 = http.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    session.setLocalWindowSize(connectionWindowBytes);
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  const sockets = new Set<net.Socket>();
  // Nagle off: HTTP/2 writes small frames (headers, data, trailers) that must not wait for ACKs.
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    routeConnection(socket, h2, h1);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error(`listener on ${host}:${port} has no TCP address`);
  // server.close() calls back only once every connection has ended.
  let closed: Promise<void> | undefined;
  const stopAccepting = (): Promise<void> => (closed ??= new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    port: address.port,
    stopAccepting() {
      void stopAccepting();
    },
    async closeConnections() {
      const done = stopAccepting();
      for (const session of sessions) session.destroy();
      h1.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await done;
    },
  };
}

/** Reads until the bytes either are the HTTP/2 preface or cannot be; then hands the socket over. */
function routeConnection(socket: net.Socket, h2: http2.Http2Server, h1: http.Server): void {
  let received = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    received = Buffer.concat([received, chunk]);
    const compared = Math.min(received.length, http2Preface.length);
    const isPreface = received.subarray(0, compared).equals(http2Preface.subarray(0, compared));
    if (isPreface && received.length < http2Preface.length) return; // undecided: wait for more
    socket.off("data", onData);
    socket.off("error", onError);
    socket.pause();
    socket.unshift(received);
    if (isPreface) {
      // The h2 session takes over the socket's handle and first drains what was read.
      h2.emit("connection", socket);
      return;
    }
    h1.emit("connection", socket);
    // The HTTP/1.1 parser reads the handle directly from now on; resuming hands it
    // the bytes already read (unshifted above) through the socket's 'data' event.
    socket.resume();
  };
  // Before a server owns the socket, a reset connection has nobody else to tell.
  const onError = (): void => {
    socket.destroy();
  };
  socket.on("data", onData);
  socket.on("error", onError);
}
