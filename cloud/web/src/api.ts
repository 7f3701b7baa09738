// Calls to this server's API. The web session travels in its HttpOnly cookie (the page never sees
// it); every call that changes something carries the session's CSRF token.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;

export function setCsrf(token: string | null): void {
  csrfToken = token;
}

async function failure(response: Response): Promise<ApiError> {
  try {
    const body = await response.json();
    return new ApiError(response.status, body.code ?? "error", body.message ?? response.statusText);
  } catch {
    return new ApiError(response.status, "error", `the server answered ${response.status} ${response.statusText}`);
  }
}

/** Sends a request; the answer's JSON (or `null` for no content), or an `ApiError` with the server's sentence. */
export async function call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await send(method, path, body);
  if (response.status === 204) {
    return null as T;
  }
  return (await response.json()) as T;
}

/** The answer's bytes (a blob, an archive). */
export async function bytes(path: string): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await (await send("GET", path)).arrayBuffer());
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  if (method !== "GET" && csrfToken) {
    headers["X-CSRF-Token"] = csrfToken;
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "unreachable", "the server could not be reached; check the connection and try again");
  }
  if (!response.ok) {
    throw await failure(response);
  }
  return response;
}
