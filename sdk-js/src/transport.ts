import { warn, type Fetch } from "./env";

/**
 * Sends one request body and says what to do with its events:
 * 0 — remove them: delivered (2xx), or refused for good (other 4xx but 408 and 429:
 *     400 malformed, 401 unknown write key, 403 origin, 413 too large), with a warning;
 * a positive number — keep them and retry after that many ms (Retry-After, seconds);
 * -1 — keep them and retry after a backoff (429 or 5xx without Retry-After, network error).
 *
 * The body goes as text/plain (fetch's default for a string), which needs no CORS
 * preflight, and with keepalive, so a request in flight outlives the page.
 */
export const send = async (fetch: Fetch, url: string, body: string): Promise<number> => {
  try {
    const r = await fetch(url, { method: "POST", body, keepalive: true });
    const s = r.status;
    if (s < 300) return 0;
    if (s < 500 && s != 408 && s != 429) {
      warn(`collector answered ${s}, events dropped`);
      return 0;
    }
    return +r.headers.get("Retry-After")! * 1e3 || -1;
  } catch {
    return -1;
  }
};

/** Exponential backoff with jitter: 1 s, 2 s, 4 s, … up to 30 s, each times 0.5..1. */
export const backoff = (attempt: number, random: number): number =>
  Math.min(3e4, 1e3 * 2 ** attempt) * (0.5 + random / 2);
