/**
 * Secret references in the configuration, beside `${VAR}`:
 *   ${aws-sm:NAME}       an AWS Secrets Manager secret's SecretString
 *   ${aws-sm:NAME#key}   one key of a JSON SecretString (NAME may be the secret's ARN)
 *   ${azure-kv:VAULT/NAME}  an Azure Key Vault secret's current value
 */
export type SecretReference =
  | { store: 'aws-sm'; text: string; secretId: string; key?: string }
  | { store: 'azure-kv'; text: string; vault: string; name: string };

export const SECRET_REFERENCE = /\$\{(aws-sm|azure-kv):([^}]*)\}/g;

/** Parses the inside of one reference; a string names what is wrong. */
export function parseReference(store: string, body: string): SecretReference | string {
  const text = `\${${store}:${body}}`;
  if (store === 'aws-sm') {
    const [secretId, key, ...extra] = body.split('#');
    if (!secretId || extra.length || key === '')
      return `${text} is not a Secrets Manager reference; write \${aws-sm:NAME} or \${aws-sm:NAME#key}`;
    return { store, text, secretId, key };
  }
  const m = /^([A-Za-z0-9-]{3,24})\/([A-Za-z0-9-]{1,127})$/.exec(body);
  if (!m)
    return `${text} is not a Key Vault reference; write \${azure-kv:VAULT/NAME} (vault and secret names: letters, digits, dashes)`;
  return { store: 'azure-kv', text, vault: m[1]!, name: m[2]! };
}

/** Every reference in a parsed document (strings at any depth). */
export function findReferences(value: unknown, found = new Map<string, SecretReference | string>()) {
  if (typeof value === 'string')
    for (const m of value.matchAll(SECRET_REFERENCE)) found.set(m[0], parseReference(m[1]!, m[2]!));
  else if (Array.isArray(value)) value.forEach((v) => findReferences(v, found));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => findReferences(v, found));
  return found;
}

/** The AWS region a Secrets Manager reference lives in, when its ARN says so. */
export function referenceRegion(ref: SecretReference): string | undefined {
  return ref.store === 'aws-sm'
    ? /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):/.exec(ref.secretId)?.[1]
    : undefined;
}
