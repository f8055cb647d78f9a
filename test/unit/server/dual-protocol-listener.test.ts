import * as http from "node:http";
import * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { listenDualProtocol } from "../../../framework/server/index.js";
import type { DualProtocolListener, RequestHandler } from "../../../framework/server/index.js";

let listener: DualProtocolListener | undefined;
afterEach(async () => {
  await listener?.closeConnections();
  listener = undefined;
});

/** Echoes the HTTP version and the request body's length. */
const echo: RequestHandler = (request, response) => {
  let length = 0;
  request.on("data", (chunk: Buffer) => (length += chunk.length));
  request.on("end", () => response.end(`${request.httpVersion} ${length}`));
};

function postHttp1(port: number, agent: http.Agent, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, method: "POST", path: "/", agent }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString()));
      response.on("end", () => resolve(text));
    });
    request.on("error", reject);
    request.end(body);
  });
}

function postHttp2(session: http2.ClientHttp2Session, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = session.request({ ":method": "POST", ":path": "/" });
    let text = "";
    request.on("data", (chunk: Buffer) => (text += chunk.toString()));
    request.on("end", () => resolve(text));
    request.on("error", reject);
    request.end(body);
  });
}

describe("one port, two protocols", () => {
  it("routes h2c (prior knowledge) and HTTP/1.1 keep-alive connections to the same handler", async () => {
    listener = await listenDualProtocol("127.0.0.1", 0, echo);
    const body = Buffer.alloc(200_000, 7);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect(await postHttp1(listener.port, agent, body)).toBe("1.1 200000");
    expect(await postHttp1(listener.port, agent, Buffer.from("x"))).toBe("1.1 1");
    agent.destroy();
    const session = http2.connect(`http://127.0.0.1:${listener.port}`);
    expect(await Promise.all([postHttp2(session, body), postHttp2(session, Buffer.from("yz"))])).toEqual(["2.0 200000", "2.0 2"]);
    session.close();
  });

  it("closes open connections on closeConnections and refuses new ones", async () => {
    listener = await listenDualProtocol("127.0.0.1", 0, echo);
    const port = listener.port;
    const session = http2.connect(`http://127.0.0.1:${port}`);
    expect(await postHttp2(session, Buffer.from("a"))).toBe("2.0 1");
    const closed = new Promise((resolve) => session.on("close", resolve));
    listener.stopAccepting();
    await listener.closeConnections();
    await closed;
    listener = undefined;
    await expect(postHttp1(port, new http.Agent(), Buffer.from("b"))).rejects.toThrow(/ECONNREFUSED/);
  });

  it("grants h2c peers 8 MiB stream and 32 MiB connection windows: a 1 MB body is sent whole before the handler reads it", async () => {
    // The handler reads nothing until the client has written the whole body: with HTTP/2's default 64 KiB windows the
    // client could not (it would wait for WINDOW_UPDATEs that node sends only once the data is read).
    let written: () => void = () => undefined;
    const bodyWritten = new Promise<void>((resolve) => (written = resolve));
    listener = await listenDualProtocol("127.0.0.1", 0, (request, response) => {
      request.pause();
      void bodyWritten.then(() => {
        echo(request, response);
        request.resume(); // paused explicitly: a 'data' listener alone does not resume it
      });
    });
    const session = http2.connect(`http://127.0.0.1:${listener.port}`);
    const settings = new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
    const request = session.request({ ":method": "POST", ":path": "/" });
    let text = "";
    request.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const answered = new Promise<void>((resolve, reject) => {
      request.on("end", () => resolve());
      request.on("error", reject);
    });
    request.end(Buffer.alloc(1 << 20, 3), () => written());
    expect((await settings).initialWindowSize).toBe(8 << 20);
    await answered;
    expect(text).toBe(`2.0 ${1 << 20}`);
    // The connection's window as the client sees it: 32 MiB less what is unacknowledged (at most the 1 MB sent).
    expect(session.state.remoteWindowSize).toBeGreaterThan((32 << 20) - (2 << 20));
    session.close();
  }, 60_000);
});

describe("h2c session memory", () => {
  it("serves a client's new request while 16 MB of its earlier answers wait for it to read them", async () => {
    let bigAnswers = 0;
    listener = await listenDualProtocol("127.0.0.1", 0, (request, response) => {
      request.resume();
      request.on("end", () => {
        if (request.url !== "/big") {
          response.end("small");
          return;
        }
        response.end(Buffer.alloc(4 << 20));
        bigAnswers += 1;
      });
    });
    const session = http2.connect(`http://127.0.0.1:${listener.port}`);
    session.on("error", () => {}); // a failure shows as the small request's
    const bigs = Array.from({ length: 4 }, () => {
      const request = session.request({ ":method": "POST", ":path": "/big" });
      request.on("error", () => {});
      request.pause(); // not read: the answers stay queued on the server's session
      request.end();
      return request;
    });
    const deadline = Date.now() + 30_000;
    while (bigAnswers < 4) {
      if (Date.now() > deadline) throw new Error("the server did not answer the 4 big requests");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // Before: node refused this stream with ENHANCE_YOUR_CALM (its 10 MB default counted the 16 MB queued).
    const small = await new Promise<string>((resolve) => {
      const request = session.request({ ":method": "POST", ":path": "/small" });
      let text = "";
      request.on("data", (chunk: Buffer) => (text += chunk.toString()));
      request.on("end", () => resolve(text));
      request.on("error", (error) => resolve(`error: ${error.message}`));
      request.end("x");
    });
    expect(small).toBe("small");
    for (const request of bigs) request.destroy();
    session.destroy();
  });
});
