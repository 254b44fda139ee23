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
