/**
 * REQHttpGet: GET the URL in `methodArgs[0]` and send the body back. A
 * status other than 2xx is a failure (the body is still sent, with the
 * status). Redirects are followed. The body is cut at 10 MiB.
 */
import type { MethodHandler } from './types.js';

const maxBody = 10 * 1024 * 1024;

/** Fetches the URL. */
export const httpGet: MethodHandler = {
  async run({ message, signal }) {
    const url = message.data[0]!;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { ok: false, output: '', error: `methodArgs[0] "${url}" is not a URL` };
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      return { ok: false, output: '', error: `methodArgs[0] "${url}": only http and https URLs can be fetched` };
    let res: Response;
    try {
      res = await fetch(parsed, { signal, redirect: 'follow' });
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      return { ok: false, output: '', error: `GET ${url} failed: ${(err as Error).message}${cause ? ` (${cause})` : ''}` };
    }
    const body = await readCapped(res);
    if (res.status >= 200 && res.status < 300) return { ok: true, output: body };
    return { ok: false, output: body, error: `GET ${url}: HTTP ${res.status} ${res.statusText}` };
  },
};

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > maxBody) {
      await reader.cancel();
      return `${text}\n[steward: body cut at ${maxBody} bytes]\n`;
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}
