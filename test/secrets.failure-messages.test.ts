import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFailure } from '../src/secrets/index.js';

const failure = (fields: Record<string, unknown>, message = 'failed') =>
  Object.assign(new Error(message), fields);

test('a secret store failure says what failed: DNS, the connection, the identity, or the secret', () => {
  assert.match(
    describeFailure('Key Vault', failure({ code: 'EAI_AGAIN' }, 'getaddrinfo EAI_AGAIN kv.vault.azure.net')),
    /^Key Vault could not be reached: DNS lookup of its address failed \(EAI_AGAIN\)/,
  );
  assert.match(
    describeFailure('Secrets Manager', failure({ code: 'ECONNREFUSED' })),
    /^Secrets Manager could not be reached: the connection failed \(ECONNREFUSED\)/,
  );
  assert.match(
    describeFailure(
      'Secrets Manager',
      failure({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }),
    ),
    /refused this identity \(authentication or permission\)/,
  );
  assert.match(describeFailure('Key Vault', failure({ statusCode: 403 })), /refused this identity/);
  assert.match(
    describeFailure('Secrets Manager', failure({ name: 'ResourceNotFoundException' })),
    /has no such secret \(not found\).*check the name of the secret and its vault or region/,
  );
  assert.match(describeFailure('Key Vault', failure({ statusCode: 500 })), /^Key Vault refused: /);
});

test('a read cut short by its deadline says the store did not answer in time, not that it refused', () => {
  // What the Azure SDK throws when the read's AbortSignal fires while it still retries a refused connection
  // (seen under load: ECONNREFUSED retried with backoff past validate's 10 s deadline).
  const aborted = failure({ name: 'AbortError' }, 'The operation was aborted.');
  assert.match(
    describeFailure('Key Vault', aborted),
    /^Key Vault could not be reached: no answer before the read's deadline \(timed out\); check the network path to it/,
  );
  // AbortSignal.timeout's own reason, as the AWS SDK passes it on.
  const timedOut = Object.assign(
    new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
  );
  assert.match(describeFailure('Secrets Manager', timedOut), /could not be reached: no answer before/);
});
