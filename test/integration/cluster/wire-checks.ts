import { execFile } from "node:child_process";
import * as http2 from "node:http2";

export interface RawResponse {
  readonly status: number;
  readonly body: string;
}

/** One HTTP/2 (prior knowledge) POST with arbitrary bytes, to send what no generated client would. */
export function rawPost(url: string, path: string, contentType: string, body: Uint8Array | string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const request = session.request({ ":method": "POST", ":path": path, "content-type": contentType });
    let status = 0;
    let text = "";
    request.on("response", (headers) => (status = Number(headers[":status"])));
    request.on("data", (chunk: Buffer) => (text += chunk.toString()));
    request.on("end", () => {
      session.close();
      resolve({ status, body: text });
    });
    request.on("error", reject);
    request.end(body);
  });
}

/** curl with the given protocol flag, posting Connect JSON; resolves with the body and the HTTP version curl used. */
export function curlJson(
  protocol: "--http2-prior-knowledge" | "--http1.1",
  url: string,
  body: unknown,
): Promise<{ body: string; httpVersion: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      "curl",
      ["-sS", protocol, "-H", "content-type: application/json", "-d", JSON.stringify(body), "-w", "\n%{http_version}", url],
      { timeout: 20_000 },
      (error, stdout) => {
        if (error !== null) return reject(error);
        const cut = stdout.lastIndexOf("\n");
        resolve({ body: stdout.slice(0, cut), httpVersion: stdout.slice(cut + 1) });
      },
    );
  });
}
