/** An error whose message is meant for the client, whatever its status. */
export function httpError(statusCode: number, message: string): Error & { statusCode: number; expose: true } {
  return Object.assign(new Error(message), { statusCode, expose: true as const });
}

/** A part of the controller a route needs, or a 503 saying this process runs without it. */
export function need<T>(part: T | undefined, what: string): T {
  if (part === undefined) throw httpError(503, `${what} is not available in this process`);
  return part;
}
