import { test } from 'node:test';
import assert from 'node:assert/strict';
import { typeChange } from './type-widening.js';

// Types as format_type prints them on the publisher, then on the subscriber.
const widenings: Array<[string, string]> = [
  ['smallint', 'integer'],
  ['integer', 'bigint'],
  ['smallint', 'bigint'],
  ['integer', 'numeric'],
  ['integer', 'numeric(12,2)'],
  ['bigint', 'numeric(19,0)'],
  ['integer', 'double precision'],
  ['numeric(10,2)', 'numeric(14,2)'],
  ['numeric(10,2)', 'numeric(12,4)'],
  ['numeric(10,2)', 'numeric'],
  ['real', 'double precision'],
  ['character varying(10)', 'character varying(20)'],
  ['character varying(10)', 'text'],
  ['text', 'character varying'],
  ['timestamp(3) without time zone', 'timestamp without time zone'],
  ['timestamp without time zone', 'timestamp with time zone'],
  ['integer[]', 'bigint[]'],
];

const narrowings: Array<[string, string]> = [
  ['bigint', 'integer'],
  ['integer', 'smallint'],
  ['integer', 'numeric(8,0)'],
  ['integer', 'numeric(12,4)'],
  ['bigint', 'double precision'],
  ['integer', 'real'],
  ['numeric', 'numeric(10,2)'],
  ['numeric(14,2)', 'numeric(10,2)'],
  ['numeric(10,4)', 'numeric(12,2)'],
  ['numeric(10,2)', 'integer'],
  ['double precision', 'real'],
  ['text', 'character varying(20)'],
  ['character varying(20)', 'character varying(10)'],
  ['character(5)', 'text'],
  ['timestamp with time zone', 'timestamp without time zone'],
  ['timestamp without time zone', 'timestamp(3) without time zone'],
  ['time without time zone', 'time with time zone'],
  ['integer', 'text'],
  ['bigint[]', 'integer[]'],
  ['integer[]', 'bigint'],
];

test('a subscriber column of a wider type accepts every value the publisher sends as text: a widening', () => {
  for (const [pub, sub] of widenings) assert.equal(typeChange(pub, sub).widening, true, `${pub} → ${sub}`);
});

test('a narrower or unrelated subscriber type can fail or change values: breaking', () => {
  for (const [pub, sub] of narrowings) {
    const change = typeChange(pub, sub);
    assert.equal(change.widening, false, `${pub} → ${sub}`);
    assert.match(change.why, /give both the same type/);
  }
});

test("timestamp into timestamp with time zone is accepted but read in the subscriber's TimeZone, and says so", () => {
  const change = typeChange('timestamp without time zone', 'timestamp with time zone');
  assert.match(change.why, /subscriber's TimeZone setting decides which instant/);
});

test('a binary subscription converts no type: every widening is breaking there', () => {
  for (const [pub, sub] of widenings) {
    const change = typeChange(pub, sub, true);
    assert.equal(change.widening, false, `${pub} → ${sub}`);
    assert.match(change.why, /binary format/);
  }
  assert.equal(typeChange('integer', 'integer', true).widening, true);
});
