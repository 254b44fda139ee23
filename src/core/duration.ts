/** Parses `45s`, `5m`, `1h30m`, `7d`, `-2m` or a plain number of seconds. Returns seconds. */
export function parseDuration(value: number | string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number of seconds: ${value}`);
    return value;
  }
  const text = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  const match = /^(-)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(text);
  if (!match || text === '' || text === '-') {
    throw new Error(`"${value}" is not a duration; write seconds or a string such as 45s, 5m, 1h30m, 7d`);
  }
  const [, sign, d, h, m, s] = match;
  const seconds = Number(d ?? 0) * 86400 + Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
  return sign ? -seconds : seconds;
}

export function formatDuration(seconds: number): string {
  const sign = seconds < 0 ? '-' : '';
  let rest = Math.abs(Math.round(seconds));
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : ''];
  return sign + parts.join('');
}

/**
 * Seconds for people: under 10 s with the precision a measurement or a timeout has (`0.25s`, `3.4s`, `5s`),
 * from 10 s on as a duration (`12s`, `1m5s`). Reports, progress lines and probe messages all use it.
 */
export function formatSeconds(seconds: number): string {
  if (Math.abs(seconds) >= 10) return formatDuration(seconds);
  if (Number.isInteger(seconds)) return `${seconds}s`;
  return `${Number(seconds.toFixed(Math.abs(seconds) < 1 ? 3 : 1))}s`;
}
