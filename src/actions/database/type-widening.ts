/**
 * Whether a published column may have another type on the subscriber. PostgreSQL's documentation
 * (https://www.postgresql.org/docs/current/logical-replication-subscription.html, "the target table"):
 * "The data types of the columns do not need to match, as long as the text representation of the data
 * can be converted to the target type. For example, you can replicate from a column of type integer to a
 * column of type bigint." The apply worker reads each value the publisher's output function printed
 * through the subscriber column's input function, so a subscriber type that accepts every text the
 * publisher's type can print, unchanged, loses nothing: a widening. Those are, from the data types'
 * chapters (https://www.postgresql.org/docs/current/datatype-numeric.html, datatype-character.html,
 * datatype-datetime.html):
 *
 * - smallint → integer → bigint (their ranges nest); an integer type into numeric, or numeric(p,s) with
 *   p - s at least the type's digits (5, 10, 19); smallint and integer into double precision (53-bit
 *   mantissa), smallint into real (24-bit);
 * - numeric(p,s) → numeric(p',s') with s' ≥ s and p' - s' ≥ p - s (no rounding, no overflow), and any
 *   numeric into unconstrained numeric; real → double precision;
 * - character varying(n) → character varying(m ≥ n), and varchar or text into text or unbounded varchar
 *   (a longer varchar(n) value is an error: "value too long");
 * - timestamp(p) → timestamp(q ≥ p) (and the same with time zone, and time); absent precision is 6;
 * - timestamp → timestamp with time zone: every value is accepted, but "if no time zone is stated in the
 *   input string, then it is assumed to be in the time zone indicated by the system's TimeZone
 *   parameter" (datatype-datetime.html): the subscriber's TimeZone decides the instant, so it warns.
 * - arrays of the above, element by element.
 *
 * Everything else is breaking: the narrowing of each (values fail: "out of range", "value too long",
 * "numeric field overflow"; or change: numeric rounds to a smaller scale, timestamp with time zone into
 * timestamp "silently ignore[s] any time zone indication"), and unrelated types (char(n) keeps its
 * padding as text, bigint into double precision rounds above 2^53). A subscription with `binary = true`
 * converts nothing: "Binary format is very data type specific; for example, it will not allow copying
 * from a smallint column to an integer column, even if both would work in text format"
 * (https://www.postgresql.org/docs/current/sql-createsubscription.html, `binary`); every difference is
 * breaking there (a publisher before 14 ignores the option, which this does not rely on).
 */

export interface TypeChange {
  widening: boolean;
  /** Why, for the drift's detail. */
  why: string;
}

const INTEGER_DIGITS: Record<string, number> = { smallint: 5, integer: 10, bigint: 19 };
const INTEGER_RANK = ['smallint', 'integer', 'bigint'];
const FLOAT_FROM_INTEGER: Record<string, string[]> = {
  real: ['smallint'],
  'double precision': ['smallint', 'integer'],
};
const UNBOUNDED_TEXT = new Set(['text', 'character varying']);

/** numeric, numeric(p) or numeric(p,s): undefined precision for unconstrained numeric. */
function numeric(type: string): { p?: number; s: number } | undefined {
  if (type === 'numeric') return { s: 0 };
  const m = /^numeric\((\d+)(?:,(-?\d+))?\)$/.exec(type);
  return m ? { p: Number(m[1]), s: Number(m[2] ?? 0) } : undefined;
}

function varchar(type: string): number | undefined {
  const m = /^character varying\((\d+)\)$/.exec(type);
  return m ? Number(m[1]) : undefined;
}

/** timestamp/time, with or without time zone, and its fractional-second precision (6 when absent). */
function datetime(
  type: string,
): { kind: 'timestamp' | 'time'; zone: boolean; precision: number } | undefined {
  const m = /^(timestamp|time)(?:\((\d)\))? with(out)? time zone$/.exec(type);
  if (!m) return undefined;
  return { kind: m[1] as 'timestamp' | 'time', zone: m[3] === undefined, precision: Number(m[2] ?? 6) };
}

const WIDER =
  'a wider type: every value the publisher sends converts to it unchanged (the apply reads its text form); nothing is lost';
const NARROWER = 'values may fail to apply or change; give both the same type';

/** `published` and `subscriber` as `format_type` prints them (typmod included). */
export function typeChange(published: string, subscriber: string, binary = false): TypeChange {
  if (published === subscriber) return { widening: true, why: 'the same type' };
  if (binary)
    return {
      widening: false,
      why: 'the subscription uses the binary format, which converts no type (not even smallint into integer); give both the same type, or ALTER SUBSCRIPTION … SET (binary = false)',
    };
  return textChange(published, subscriber);
}

function textChange(published: string, subscriber: string): TypeChange {
  if (published === subscriber) return { widening: true, why: WIDER };
  const widening = (why = WIDER): TypeChange => ({ widening: true, why });
  const narrowing: TypeChange = { widening: false, why: NARROWER };
  if (published.endsWith('[]') && subscriber.endsWith('[]')) {
    const element = textChange(published.slice(0, -2), subscriber.slice(0, -2));
    return element.widening ? { widening: true, why: `arrays of ${element.why}` } : narrowing;
  }
  const fromRank = INTEGER_RANK.indexOf(published);
  if (fromRank >= 0) {
    if (INTEGER_RANK.indexOf(subscriber) >= fromRank) return widening();
    const n = numeric(subscriber);
    if (n && (n.p === undefined || n.p - n.s >= INTEGER_DIGITS[published])) return widening();
    if (FLOAT_FROM_INTEGER[subscriber]?.includes(published)) return widening();
    return narrowing;
  }
  const from = numeric(published);
  const to = numeric(subscriber);
  if (from && to) {
    if (to.p === undefined) return widening();
    if (from.p !== undefined && to.s >= from.s && to.p - to.s >= from.p - from.s) return widening();
    return narrowing;
  }
  if (published === 'real' && subscriber === 'double precision') return widening();
  const fromText = varchar(published) ?? (UNBOUNDED_TEXT.has(published) ? Infinity : undefined);
  if (fromText !== undefined) {
    if (UNBOUNDED_TEXT.has(subscriber)) return widening();
    const limit = varchar(subscriber);
    return limit !== undefined && limit >= fromText ? widening() : narrowing;
  }
  const a = datetime(published);
  const b = datetime(subscriber);
  if (a && b && a.kind === b.kind && b.precision >= a.precision) {
    if (a.zone === b.zone) return widening();
    if (!a.zone && a.kind === 'timestamp')
      return widening(
        "every value is accepted, but the publisher sends no offset: the subscriber's TimeZone setting decides which instant each value is; check it is the zone the application meant",
      );
  }
  return narrowing;
}
